"""The jobs queue: webhook events handed from the API to the processor."""
import json
from typing import Optional

from chalicelib.aws import client


class JobQueue:
    def __init__(self, queue_name: str):
        self.queue_name = queue_name
        self._url: Optional[str] = None

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = client("sqs").get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        return self._url

    def send(self, message: dict) -> None:
        client("sqs").send_message(QueueUrl=self.url, MessageBody=json.dumps(message))
