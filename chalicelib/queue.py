"""Queues: prediction events from the API to the processor, job events to the
webhook delivery (the messages themselves: chalicelib.messages)."""
import json
from typing import Callable, Optional, Protocol

# SQS's longest message delay; longer waits are taken in several hops.
MAX_DELAY_S = 900


class MessageQueue(Protocol):
    def send(self, message: dict, delay_s: int = 0) -> None: ...

    def check(self) -> None:
        """Raise if the queue cannot be reached."""


class SqsQueue:
    def __init__(self, queue_name: str, sqs: Callable[[], object]):
        self.queue_name = queue_name
        self._sqs = sqs
        self._url: Optional[str] = None

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = self._sqs().get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        return self._url

    def send(self, message: dict, delay_s: int = 0) -> None:
        self._sqs().send_message(QueueUrl=self.url, MessageBody=json.dumps(message),
                                 DelaySeconds=max(0, min(MAX_DELAY_S, int(delay_s))))

    def check(self) -> None:
        self._sqs().get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
