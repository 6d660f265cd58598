"""The queues' messages: each kind survives the trip through SQS's JSON, its body
keeps the fields in-flight messages have (a deploy must read what the last one
queued), and each queue's consumer hands each kind to its handler."""
import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

import app
from chalicelib.jobs.model import Prediction
from chalicelib.messages import (DeliveryMessage, JobEventMessage, MessageKind,
                                 PredictionMessage, StartMessage, read_jobs_message,
                                 read_notification)

START_AT = datetime(2030, 1, 1, 1, 0, 30, 250000, tzinfo=timezone.utc)
PREDICTION = Prediction(id="p1", status="succeeded", output=["https://x.example/o.png"],
                        predict_time=1.5)


def through_sqs(message) -> dict:
    return json.loads(json.dumps(message.body()))


@pytest.mark.parametrize("message,read", [
    (StartMessage("j1", "https://api.example", 3, START_AT), read_jobs_message),
    (StartMessage("j1", "https://api.example"), read_jobs_message),
    (PredictionMessage("j1", PREDICTION, "fal"), read_jobs_message),
    (JobEventMessage("j1", "job.completed"), read_notification),
    (DeliveryMessage("j1", "wh_1"), read_notification),
])
def test_every_kind_reads_back_as_it_was_written(message, read):
    body = through_sqs(message)
    assert body["kind"] == message.kind.value
    assert read(body) == message


def test_the_bodies_keep_the_fields_messages_in_flight_have():
    assert StartMessage("j1", "https://api.example", 2, START_AT).body() == {
        "kind": "start", "jobId": "j1", "webhookBase": "https://api.example", "attempt": 2,
        "startAt": START_AT.timestamp()}
    assert PredictionMessage("j1", Prediction(id="p1", status="processing")).body() == {
        "kind": "prediction", "jobId": "j1", "provider": "replicate",
        "prediction": {"id": "p1", "status": "processing"}}
    assert JobEventMessage("j1", "job.failed").body() == {
        "kind": "job-event", "jobId": "j1", "event": "job.failed"}
    assert DeliveryMessage("j1", "wh_1").body() == {
        "kind": "delivery", "jobId": "j1", "webhookId": "wh_1"}
    assert {k.value for k in MessageKind} == {"start", "prediction", "job-event", "delivery"}


def test_older_bodies_read_with_their_defaults():
    start = read_jobs_message({"kind": "start", "jobId": "j1", "webhookBase": "https://a"})
    assert start == StartMessage("j1", "https://a", attempt=1, start_at=None)
    report = read_jobs_message({"kind": "prediction", "jobId": "j1",
                                "prediction": {"id": "p1", "status": "processing"}})
    assert report.provider == "replicate"


def test_a_body_of_another_kind_is_read_as_its_queue_s_other_kind_and_fails_without_its_fields():
    # As the consumers always have: SQS retries it, then the dead-letter queue keeps it.
    with pytest.raises(KeyError):
        read_jobs_message({"kind": "resize", "jobId": "j1"})
    with pytest.raises(KeyError):
        read_notification({"kind": "resize", "jobId": "j1"})
    with pytest.raises(KeyError):
        read_notification({"jobId": "j1", "webhookId": "wh_1"})  # no kind at all
    with_fields = {"kind": "resize", "jobId": "j1", "webhookId": "wh_1",
                   "prediction": {"id": "p1", "status": "processing"}}
    assert read_jobs_message(with_fields) == PredictionMessage("j1", Prediction("p1", "processing"))
    assert read_notification(with_fields) == DeliveryMessage("j1", "wh_1")


def sqs_event(body: dict) -> dict:
    return {"Records": [{"messageId": "m1", "receiptHandle": "r", "body": json.dumps(body),
                         "attributes": {"ApproximateReceiveCount": "2"},
                         "eventSource": "aws:sqs"}]}


@pytest.fixture
def handled(monkeypatch):
    """What the app's queue handlers hand to each service, on recording stubs."""
    calls = []
    record = lambda name: lambda *args: calls.append((name, *args))  # noqa: E731
    monkeypatch.setattr(app.wiring, "services", lambda: SimpleNamespace(
        starter=SimpleNamespace(start_queued=record("start")),
        prediction_events=SimpleNamespace(handle=record("prediction")),
        reuse=SimpleNamespace(settle_followers=record("settle")),
        dispatcher=SimpleNamespace(fan_out=record("fan-out")),
        deliverer=SimpleNamespace(attempt=record("attempt"))))
    monkeypatch.setattr(app.wiring, "max_receive_count", lambda: 5)
    return calls


def test_the_processor_hands_a_start_to_the_starter_and_a_report_to_the_prediction_handler(
        handled):
    start = StartMessage("j1", "https://api.example", 1, START_AT)
    report = PredictionMessage("j2", PREDICTION)
    app.process_job_event(sqs_event(start.body()), None)
    app.process_job_event(sqs_event(report.body()), None)
    assert handled == [("start", start), ("prediction", report, 2, 5)]


def test_the_notifier_fans_a_job_event_out_and_attempts_a_delivery(handled):
    app.deliver_notifications(sqs_event(JobEventMessage("j1", "job.completed").body()), None)
    app.deliver_notifications(sqs_event(DeliveryMessage("j1", "wh_1").body()), None)
    assert handled == [("settle", "j1"), ("fan-out", "j1", "job.completed"),
                       ("attempt", "j1", "wh_1")]
