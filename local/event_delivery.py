"""Deliver queue messages and S3 events to the Chalice handlers, as Lambda's
event sources do on AWS (no emulator here runs Lambda code).

Semantics kept: a message is deleted only after its handler returns; a handler
error leaves it to reappear after the visibility timeout; the queue's redrive
policy moves it to the dead-letter queue after its last allowed receive.

SQS and S3 deliver at least once. VSL_EVENT_DUPLICATES=N (default 1) makes that
certain: every received message, and so every S3 record in it, is handed to its
handler N times before it is deleted (the fault suite runs with 3).

Each handled message that concerns a job prints one line on stdout (which job,
how its status moved); the detailed log goes to --log-file.
"""
import json
import logging
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Callable, List, Optional, Tuple
from urllib.parse import unquote_plus

import boto3

log = logging.getLogger("event-delivery")


class QueueConsumer:
    def __init__(self, name: str, queue_url: str, deliver: Callable[[dict], None],
                 copies: int = 1):
        if copies < 1:
            raise ValueError("copies must be at least 1")
        self.name = name
        self.queue_url = queue_url
        self.deliver = deliver
        self.copies = copies  # handler calls per received message (duplicate delivery)
        self.sqs = boto3.client("sqs")
        self._arn = None
        self._visibility: Optional[int] = None

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
                with self._kept_invisible(message):
                    for _ in range(self.copies):
                        self.deliver(self._sqs_record(message))
            except Exception:  # the handler's failure: leave the message for a retry
                log.exception("%s: handler failed (receive %s); will retry", self.name,
                              message.get("Attributes", {}).get("ApproximateReceiveCount"))
                continue
            self.sqs.delete_message(QueueUrl=self.queue_url,
                                    ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    @property
    def visibility_timeout_s(self) -> int:
        if self._visibility is None:
            self._visibility = int(self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout"]
            )["Attributes"]["VisibilityTimeout"])
        return self._visibility

    @contextmanager
    def _kept_invisible(self, message: dict):
        """Keep the message hidden while its handler runs. On AWS the queue's visibility
        timeout is six times the function's timeout, so a message never reappears
        while a handler still works on it; the local stage's is short (10 s), so a
        crashed handler's message comes back quickly, and a long handler (a large
        copy) extends it instead. A killed process extends nothing: its message
        reappears after the timeout, as on AWS."""
        timeout = self.visibility_timeout_s
        done = threading.Event()

        def extend():
            while not done.wait(max(1, timeout / 2)):
                try:
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=timeout)
                except Exception:  # the next tick tries again; at worst it reappears
                    log.exception("%s: could not extend message %s", self.name,
                                  message["MessageId"][:8])
        keeper = threading.Thread(target=extend, daemon=True, name=f"{self.name}-visibility")
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join()

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


class _StatusWrites(logging.Handler):
    """Collects, per thread, the status writes the lifecycle logs (chalicelib.jobs.
    lifecycle: one record per write that took effect), while a sink is open."""

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        sink = getattr(self.local, "sink", None)
        if sink is not None and hasattr(record, "status"):
            sink.append((getattr(record, "jobId", None), record.status))

    @contextmanager
    def collecting(self):
        self.local.sink = sink = []
        try:
            yield sink
        finally:
            self.local.sink = None


_status_writes = _StatusWrites()
_lifecycle_log = logging.getLogger("chalicelib.jobs.lifecycle")
_lifecycle_log.addHandler(_status_writes)


class JobEventReporter:
    """Wraps a delivery and prints one concise line of what its handler did to the
    job, e.g. ``12:00:01  job 296cc432  flux-schnell  pending -> processing
    (prediction processing)``: the status before, then the status the handler itself
    wrote, if any. Handlers of one job run at once (the processor is still returning
    when its stored original wakes the thumbnailer), so the status read afterwards
    may be another handler's doing: each line claims only its own handler's writes."""

    def __init__(self, get_job: Callable[[str], object], out=None):
        self.get_job = get_job
        self.out = out or sys.stdout
        self._lock = threading.Lock()
        if not _lifecycle_log.isEnabledFor(logging.INFO):
            _lifecycle_log.setLevel(logging.INFO)

    def wrap(self, source: str, deliver: Callable[[dict], None]) -> Callable[[dict], None]:
        def deliver_and_report(record: dict) -> None:
            job_id, cause = self.describe(source, record)
            if job_id is None:
                return deliver(record)
            before = self._job(job_id)
            with _status_writes.collecting() as writes:
                try:
                    deliver(record)
                except Exception:
                    receive = record.get("attributes", {}).get("ApproximateReceiveCount", "?")
                    self.line(job_id, before, None, f"{cause}: handler failed on receive "
                              f"{receive}, will retry (details in the log)")
                    raise
            written = [status for written_job, status in writes if written_job == job_id]
            self.line(job_id, before, written[-1] if written else None, cause)
        return deliver_and_report

    @staticmethod
    def describe(source: str, record: dict) -> Tuple[Optional[str], str]:
        """(job id, what happened) of a queue record; no job id for anything else."""
        from chalicelib.storage import parse_original_key
        try:
            body = json.loads(record["body"])
        except ValueError:
            return None, ""
        if source == "jobs":
            status = (body.get("prediction") or {}).get("status", "?")
            return body.get("jobId"), f"prediction {status}"
        for s3_record in body.get("Records", []):  # s3:TestEvent has none
            job_id = parse_original_key(unquote_plus(s3_record["s3"]["object"]["key"]))
            if job_id:
                return job_id, "original stored"
        return None, ""

    def _job(self, job_id: str):
        try:
            return self.get_job(job_id)
        except Exception:  # reporting must never fail a delivery
            log.exception("could not read job %s for the report", job_id)
            return None

    def line(self, job_id: str, before, written: Optional[str], cause: str) -> None:
        """``written``: the last status this handler wrote (None: it wrote none)."""
        was = before.status.value if before is not None else "unknown"
        move = f"{was} -> {written}" if written and written != was else (written or was)
        job = self._job(job_id) if written in ("failed", "cancelled") else before
        error = f": {job.error[:100]}" if written in ("failed", "cancelled") and \
            job is not None and job.error else ""
        with self._lock:
            print(f"{time.strftime('%H:%M:%S')}  job {job_id[:8]}  "
                  f"{getattr(job or before, 'model_id', '?'):15} {move:24} ({cause}){error}",
                  file=self.out, flush=True)


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


def scheduled_event() -> dict:
    """An EventBridge scheduled event, every field Chalice's CloudWatchEvent reads."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": boto3.session.Session().region_name or "us-east-1",
            "resources": [], "detail": {}}


def run_schedule(handler, interval_s: float, stop: threading.Event) -> threading.Thread:
    """Invoke a scheduled handler every ``interval_s``, as EventBridge does on AWS."""
    def loop():
        while not stop.wait(interval_s):
            try:
                handler(scheduled_event(), None)
            except Exception:  # the next tick tries again
                log.exception("scheduled handler failed")
    thread = threading.Thread(target=loop, daemon=True, name="schedule")
    thread.start()
    return thread


def main():
    import argparse
    import os
    parser = argparse.ArgumentParser(description="Deliver queue messages and S3 events.")
    parser.add_argument("--queues", nargs="+", choices=["jobs", "media-events", "notifications"],
                        default=["jobs", "media-events", "notifications"],
                        help="which sources to deliver")
    parser.add_argument("--log-file", help="the detailed log (default: stderr)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, filename=args.log_file,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    import app  # the Chalice app, with its handlers
    from chalicelib.aws import dynamodb_table
    from chalicelib.store import DynamoJobStore
    from local.provision import media_events_queue
    # Chalice's app logger writes to stdout itself: send it to the log too.
    app.app.log.handlers.clear()
    app.app.log.propagate = True
    sqs = boto3.client("sqs")
    stage = os.environ.get("VSL_STAGE", "local")
    names = app.wiring.settings().names
    report = JobEventReporter(DynamoJobStore(dynamodb_table(names.jobs_table)).get)
    copies = int(os.environ.get("VSL_EVENT_DUPLICATES") or 1)
    if copies > 1:
        log.warning("every message and S3 event is delivered %d times (VSL_EVENT_DUPLICATES)",
                    copies)
    consumers = [
        QueueConsumer("jobs", sqs.get_queue_url(QueueName=names.jobs_queue)["QueueUrl"],
                      report.wrap("jobs", sqs_delivery(app.process_job_event)), copies),
        QueueConsumer("notifications",
                      sqs.get_queue_url(QueueName=names.notifications_queue)["QueueUrl"],
                      sqs_delivery(app.deliver_notifications), copies),
        QueueConsumer("media-events",
                      sqs.get_queue_url(QueueName=media_events_queue(stage))["QueueUrl"],
                      report.wrap("media-events", s3_delivery(app.make_thumbnail)), copies),
    ]
    consumers = [c for c in consumers if c.name in args.queues]
    stop = threading.Event()
    run_forever(consumers, workers_each=2, stop=stop)
    # The sweep runs every minute on AWS; VSL_SWEEP_INTERVAL_S shortens it for tests.
    run_schedule(app.sweep_jobs, float(os.environ.get("VSL_SWEEP_INTERVAL_S", 60)), stop)
    log.info("delivering queue messages and S3 events to the handlers")
    try:
        stop.wait()
    except KeyboardInterrupt:
        stop.set()


if __name__ == "__main__":
    main()
