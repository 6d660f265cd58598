"""The queues' messages: each kind, its fields, and its JSON body on SQS.

The jobs queue (function process_job_event) carries starts and prediction reports;
the notifications queue (function deliver_notifications) carries job events and
webhook deliveries. Every producer writes its body with ``body()`` and every
consumer reads it with ``read_jobs_message`` or ``read_notification``, so a kind or
a field is spelled once, here.

A consumer reads a body of a kind its queue does not carry as its queue's other
kind (anything but a start is a prediction report; anything but a job event is a
delivery): lacking that kind's fields, it fails (KeyError), and SQS gives it back
until the queue's dead-letter queue takes it.
"""
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import ClassVar, Optional, Union

from chalicelib.jobs.model import Prediction
from chalicelib.providers.port import REPLICATE


class MessageKind(str, Enum):
    START = "start"             # jobs queue: start a job's run (chalicelib.jobs.starter)
    PREDICTION = "prediction"   # jobs queue: a provider's report on a run
    JOB_EVENT = "job-event"     # notifications queue: a job's end, to fan out to its targets
    DELIVERY = "delivery"       # notifications queue: one webhook delivery's next attempt


@dataclass(frozen=True)
class StartMessage:
    """Start a job's run from the queue (batch items, and starts the pace puts later)."""
    kind: ClassVar[MessageKind] = MessageKind.START
    job_id: str          # jobId
    webhook_base: str    # webhookBase: the API's public base URL, for the run's webhooks
    attempt: int = 1     # attempt: 1, then one more per start refused by an outage
    # startAt (Unix seconds): the time taken from the pace. Without it (a message from
    # before the pace, or a refused reservation) the start takes its time on arrival.
    start_at: Optional[datetime] = None

    def body(self) -> dict:
        body = {"kind": self.kind.value, "jobId": self.job_id,
                "webhookBase": self.webhook_base, "attempt": self.attempt}
        if self.start_at is not None:
            body["startAt"] = self.start_at.timestamp()
        return body

    @classmethod
    def parse(cls, body: dict) -> "StartMessage":
        start_at = body.get("startAt")
        return cls(body["jobId"], body["webhookBase"], int(body.get("attempt", 1)),
                   None if start_at is None
                   else datetime.fromtimestamp(float(start_at), timezone.utc))


@dataclass(frozen=True)
class PredictionMessage:
    """A provider's report on a job's run: its webhook, or what reconciliation read."""
    kind: ClassVar[MessageKind] = MessageKind.PREDICTION
    job_id: str               # jobId
    prediction: Prediction    # prediction: the run as the provider reported it
    provider: str = REPLICATE  # provider: absent from messages from before fal

    def body(self) -> dict:
        return {"kind": self.kind.value, "jobId": self.job_id,
                "prediction": self.prediction.to_message(), "provider": self.provider}

    @classmethod
    def parse(cls, body: dict) -> "PredictionMessage":
        return cls(body["jobId"], Prediction.from_message(body["prediction"]),
                   body.get("provider", REPLICATE))


@dataclass(frozen=True)
class JobEventMessage:
    """A job's end (chalicelib.jobs.lifecycle), to settle its followers and fan out."""
    kind: ClassVar[MessageKind] = MessageKind.JOB_EVENT
    job_id: str   # jobId
    event: str    # event: a JobEvent's value, e.g. job.completed

    def body(self) -> dict:
        return {"kind": self.kind.value, "jobId": self.job_id, "event": self.event}

    @classmethod
    def parse(cls, body: dict) -> "JobEventMessage":
        return cls(body["jobId"], body["event"])


@dataclass(frozen=True)
class DeliveryMessage:
    """The next attempt of one recorded webhook delivery (chalicelib.notifications)."""
    kind: ClassVar[MessageKind] = MessageKind.DELIVERY
    job_id: str       # jobId
    webhook_id: str   # webhookId: the delivery's id, one per job, event and target

    def body(self) -> dict:
        return {"kind": self.kind.value, "jobId": self.job_id, "webhookId": self.webhook_id}

    @classmethod
    def parse(cls, body: dict) -> "DeliveryMessage":
        return cls(body["jobId"], body["webhookId"])


def read_jobs_message(body: dict) -> Union[StartMessage, PredictionMessage]:
    """A jobs queue body: a start, else a prediction report."""
    if body.get("kind") == MessageKind.START:
        return StartMessage.parse(body)
    return PredictionMessage.parse(body)


def read_notification(body: dict) -> Union[JobEventMessage, DeliveryMessage]:
    """A notifications queue body: a job event, else a delivery."""
    if body["kind"] == MessageKind.JOB_EVENT:
        return JobEventMessage.parse(body)
    return DeliveryMessage.parse(body)
