"""Deliver queue messages and S3 events to the Chalice handlers, as Lambda's
event sources do on AWS (no emulator here runs Lambda code).

Semantics kept: a message is deleted only after its handler returns; a handler
error leaves it to reappear after the visibility timeout; the queue's redrive
policy moves it to the dead-letter queue after its last allowed receive.
"""
import json
import logging
import threading
from typing import Callable, List

import boto3

log = logging.getLogger("event-delivery")


class QueueConsumer:
    def __init__(self, name: str, queue_url: str, deliver: Callable[[dict], None]):
        self.name = name
        self.queue_url = queue_url
        self.deliver = deliver
        self.sqs = boto3.client("sqs")
        self._arn = None

    @property
    def arn(self) -> str:
        if self._arn is None:
            self._arn = self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return self._arn

    def poll_once(self, wait_s: int = 1) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=wait_s,
            AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        for message in messages:
            log.info("%s: message %s, receive %s", self.name, message["MessageId"][:8],
                     message.get("Attributes", {}).get("ApproximateReceiveCount"))
            try:
                self.deliver(self._sqs_record(message))
            except Exception:  # the handler's failure: leave the message for a retry
                log.exception("%s: handler failed (receive %s); will retry", self.name,
                              message.get("Attributes", {}).get("ApproximateReceiveCount"))
                continue
            self.sqs.delete_message(QueueUrl=self.queue_url,
                                    ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _sqs_record(self, message: dict) -> dict:
        return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"], "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody"), "eventSource": "aws:sqs",
                "eventSourceARN": self.arn, "awsRegion": self.sqs.meta.region_name}


def sqs_delivery(handler) -> Callable[[dict], None]:
    """An SQS-triggered function receives a batch of records (here, one)."""
    return lambda record: handler({"Records": [record]}, None)


def s3_delivery(handler) -> Callable[[dict], None]:
    """An S3-triggered function receives one S3 record per invocation."""
    def deliver(record: dict) -> None:
        notification = json.loads(record["body"])
        for s3_record in notification.get("Records", []):  # s3:TestEvent has none
            handler({"Records": [s3_record]}, None)
    return deliver


def run_forever(consumers: List[QueueConsumer], workers_each: int, stop: threading.Event):
    def loop(consumer: QueueConsumer):
        while not stop.is_set():
            try:
                consumer.poll_once()
            except Exception:  # keep delivering through emulator hiccups
                log.exception("%s: polling failed", consumer.name)
                stop.wait(1)

    threads = [threading.Thread(target=loop, args=(c,), daemon=True, name=c.name)
               for c in consumers for _ in range(workers_each)]
    for t in threads:
        t.start()
    return threads


def main():
    import argparse
    import os
    parser = argparse.ArgumentParser(description="Deliver queue messages and S3 events.")
    parser.add_argument("--queues", nargs="+", choices=["jobs", "media-events", "notifications"],
                        default=["jobs", "media-events", "notifications"],
                        help="which sources to deliver")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    import app  # the Chalice app, with its handlers
    from local.provision import media_events_queue
    sqs = boto3.client("sqs")
    stage = os.environ.get("VSL_STAGE", "local")
    names = app.wiring.settings().names
    consumers = [
        QueueConsumer("jobs", sqs.get_queue_url(QueueName=names.jobs_queue)["QueueUrl"],
                      sqs_delivery(app.process_job_event)),
        QueueConsumer("notifications",
                      sqs.get_queue_url(QueueName=names.notifications_queue)["QueueUrl"],
                      sqs_delivery(app.deliver_notifications)),
        QueueConsumer("media-events",
                      sqs.get_queue_url(QueueName=media_events_queue(stage))["QueueUrl"],
                      s3_delivery(app.make_thumbnail)),
    ]
    consumers = [c for c in consumers if c.name in args.queues]
    stop = threading.Event()
    run_forever(consumers, workers_each=2, stop=stop)
    log.info("delivering queue messages and S3 events to the handlers")
    try:
        stop.wait()
    except KeyboardInterrupt:
        stop.set()


if __name__ == "__main__":
    main()
