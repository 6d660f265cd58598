"""From a job's end to one delivery per target.

The lifecycle's end point hands each job event to the ``QueueNotifier``; the
notifications queue brings it to ``Dispatcher.fan_out``, which records one
delivery per target (the stage-wide URL, the client's subscribed endpoints, the
job's own webhookUrl) and queues its first attempt. Recording is conditional on
the delivery's id, so an event handled three times makes one delivery per target.
"""
import logging
from typing import List, Optional

from chalicelib.jobs.model import Job, JobEvent
from chalicelib.messages import DeliveryMessage, JobEventMessage
from chalicelib.notifications.endpoints import WebhookEndpoints
from chalicelib.notifications.model import Delivery, DeliveryState, Target, webhook_id
from chalicelib.notifications.persistence import DeliveryStore
from chalicelib.queue import MessageQueue
from chalicelib.jobs.persistence import JobRepository

log = logging.getLogger(__name__)


class QueueNotifier:
    """The jobs' Notifier: each job event goes to the notifications queue."""

    def __init__(self, queue: MessageQueue):
        self.queue = queue

    def job_ended(self, job: Job, event: JobEvent) -> None:
        self.queue.send(JobEventMessage(job.job_id, event.value).body())


class Dispatcher:
    def __init__(self, jobs: JobRepository, endpoints: WebhookEndpoints,
                 deliveries: DeliveryStore, queue: MessageQueue,
                 stage_url: Optional[str] = None):
        self.jobs = jobs
        self.endpoints = endpoints
        self.deliveries = deliveries
        self.queue = queue
        self.stage_url = stage_url

    def targets(self, job: Job, event: str) -> List[Target]:
        targets = []
        if self.stage_url:
            targets.append(Target("stage", self.stage_url))
        for endpoint in self.endpoints.store.endpoints(job.owner_id):
            if self.endpoints.is_subscribed(endpoint, event):
                targets.append(Target("endpoint", endpoint.url, endpoint.endpoint_id))
        if job.webhook_url:
            targets.append(Target("job", job.webhook_url))
        return targets

    def fan_out(self, job_id: str, event: str) -> int:
        """Record and queue a delivery per target; returns how many were new."""
        job = self.jobs.get(job_id)
        if job is None:
            log.warning("job event %s for unknown job %s: dropped", event, job_id)
            return 0
        created = 0
        for target in self.targets(job, event):
            delivery = Delivery(job_id, webhook_id(job_id, event, target), event, target)
            if self.deliveries.create(delivery):
                created += 1
            else:
                existing = self.deliveries.get(job_id, delivery.webhook_id)
                # A duplicate event changes nothing, unless the first fan-out died between
                # recording the delivery and queueing its first attempt.
                if existing is None or existing.state != DeliveryState.PENDING \
                        or existing.attempts > 0:
                    continue
            self.queue.send(DeliveryMessage(job_id, delivery.webhook_id).body())
        return created
