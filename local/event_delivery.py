"""Deliver queue messages, S3 events and the schedule to one Chalice handler, as
Lambda's event sources do on AWS (no emulator here runs Lambda code).

    python -m local.event_delivery --function process_job_event

The local stack runs one of these per function, each with the credentials of
that function's own IAM user (local/iam.py), as each Lambda function runs with
its own role: the SQS event source polls and deletes with them too, as Lambda's
does. What only plays AWS's part here (S3 notifications routed through a queue,
keeping a message hidden while its handler runs, the job report) uses the
stack's operator credentials.

Semantics kept: a message is deleted only after its handler returns; a handler
error leaves it to reappear after the visibility timeout; the queue's redrive
policy moves it to the dead-letter queue after its last allowed receive. S3
events: three attempts, then the thumbnailer's on-failure destination queue.

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
    """``sqs`` receives and deletes (Lambda's event source: the function's role);
    ``keeper`` keeps a message hidden while its handler runs (local only)."""

    def __init__(self, name: str, queue_url: str, deliver: Callable[[dict], None],
                 copies: int = 1, sqs=None, keeper=None,
                 on_last_failure: Optional[Callable[[dict, Exception], None]] = None,
                 max_receives: Optional[int] = None):
        if copies < 1:
            raise ValueError("copies must be at least 1")
        self.name = name
        self.queue_url = queue_url
        self.deliver = deliver
        self.copies = copies  # handler calls per received message (duplicate delivery)
        self.sqs = sqs or boto3.client("sqs")
        self.keeper = keeper or self.sqs
        # Called instead of a retry once a message failed its last allowed receive.
        self.on_last_failure = on_last_failure
        self.max_receives = max_receives
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
            except Exception as error:  # the handler's failure: leave the message for a retry
                receive = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
                if self.on_last_failure is None or receive < (self.max_receives or receive + 1):
                    log.exception("%s: handler failed (receive %s); will retry", self.name,
                                  receive)
                    continue
                log.exception("%s: handler failed on its last attempt (%s)", self.name, receive)
                self.on_last_failure(self._sqs_record(message), error)
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
                    self.keeper.change_message_visibility(
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


def thumbnailer_failure_destination(sqs, queue_url: str, function_arn: str):
    """Lambda's on-failure destination of an asynchronous invocation (S3 invokes the
    thumbnailer so): after the last attempt the event goes, in Lambda's envelope,
    to a queue, sent with the function's role as Lambda does."""
    def send(record: dict, error: Exception) -> None:
        notification = json.loads(record["body"])
        for s3_record in notification.get("Records", []):
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({
                "version": "1.0", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                                                             time.gmtime()),
                "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": function_arn,
                                   "condition": "RetriesExhausted",
                                   "approximateInvokeCount": 3},
                "requestPayload": {"Records": [s3_record]},
                "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
                "responsePayload": {"errorType": type(error).__name__,
                                    "errorMessage": str(error)[:200]}}))
    return send


def operator_session() -> boto3.session.Session:
    """The stack's operator credentials (local/iam.py), for what plays AWS's own part;
    the default session when no stack gave any."""
    import os
    from pathlib import Path
    from local.iam import PRINCIPALS_ENV
    path = os.environ.get(PRINCIPALS_ENV)
    if not path:
        return boto3.session.Session()
    operator = json.loads(Path(path).read_text())["operator"]
    return boto3.session.Session(aws_access_key_id=operator["access_key_id"],
                                 aws_secret_access_key=operator["secret_access_key"])


EVENT_FUNCTIONS = ("process_job_event", "make_thumbnail", "deliver_notifications", "sweep_jobs")


def main():
    import argparse
    import os
    parser = argparse.ArgumentParser(description="Deliver one function's events.")
    parser.add_argument("--function", required=True, choices=EVENT_FUNCTIONS)
    parser.add_argument("--log-file", help="the detailed log (default: stderr)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, filename=args.log_file,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    from local.iam import install_audit_from_env
    install_audit_from_env()  # before the function creates any client
    import app  # the Chalice app, with its handlers
    from chalicelib.aws import Table
    from chalicelib.jobs.dynamodb import DynamoJobStore
    from local.provision import MEDIA_EVENTS_MAX_RECEIVES, media_events_queue
    from chalicelib.resources import load_spec
    from local.iam import function_arn
    # Chalice's app logger writes to stdout itself: send it to the log too.
    app.app.log.handlers.clear()
    app.app.log.propagate = True
    stage = os.environ.get("VSL_STAGE", "local")
    names = app.wiring.settings().names
    operator = operator_session()
    local_sqs = operator.client("sqs")
    jobs = DynamoJobStore(Table(names.jobs_table, operator.client("dynamodb")))
    report = JobEventReporter(jobs.get)
    copies = int(os.environ.get("VSL_EVENT_DUPLICATES") or 1)
    if copies > 1:
        log.warning("every message and S3 event is delivered %d times (VSL_EVENT_DUPLICATES)",
                    copies)

    def url(queue: str) -> str:
        return local_sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    function_sqs = boto3.client("sqs")  # the function's own credentials
    consumers = []
    if args.function == "process_job_event":
        consumers = [QueueConsumer("jobs", url(names.jobs_queue),
                                   report.wrap("jobs", sqs_delivery(app.process_job_event)),
                                   copies, sqs=function_sqs, keeper=local_sqs)]
    elif args.function == "deliver_notifications":
        consumers = [QueueConsumer("notifications", url(names.notifications_queue),
                                   sqs_delivery(app.deliver_notifications), copies,
                                   sqs=function_sqs, keeper=local_sqs)]
    elif args.function == "make_thumbnail":
        prefix = f"{load_spec()['service']}-{stage}"
        failures = thumbnailer_failure_destination(
            function_sqs, url(names.thumbnailer_failures_queue),
            function_arn(prefix, "make_thumbnail"))
        consumers = [QueueConsumer("media-events", url(media_events_queue(stage)),
                                   report.wrap("media-events", s3_delivery(app.make_thumbnail)),
                                   copies, sqs=local_sqs, on_last_failure=failures,
                                   max_receives=MEDIA_EVENTS_MAX_RECEIVES)]
    stop = threading.Event()
    run_forever(consumers, workers_each=2, stop=stop)
    if args.function == "sweep_jobs":
        # Every minute on AWS; VSL_SWEEP_INTERVAL_S shortens it for tests.
        run_schedule(app.sweep_jobs, float(os.environ.get("VSL_SWEEP_INTERVAL_S", 60)), stop)
    log.info("delivering the events of %s", args.function)
    try:
        stop.wait()
    except KeyboardInterrupt:
        stop.set()


if __name__ == "__main__":
    main()
