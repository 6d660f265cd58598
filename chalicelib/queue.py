"""The jobs queue: prediction events handed from the API to the processor."""
import json
from typing import Callable, Optional, Protocol


class JobQueue(Protocol):
    def send(self, message: dict) -> None: ...

    def check(self) -> None:
        """Raise if the queue cannot be reached."""


class SqsJobQueue:
    def __init__(self, queue_name: str, sqs: Callable[[], object]):
        self.queue_name = queue_name
        self._sqs = sqs
        self._url: Optional[str] = None

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = self._sqs().get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        return self._url

    def send(self, message: dict) -> None:
        self._sqs().send_message(QueueUrl=self.url, MessageBody=json.dumps(message))

    def check(self) -> None:
        self._sqs().get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
