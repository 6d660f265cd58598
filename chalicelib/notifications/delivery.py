"""One delivery attempt, the retry schedule, and what each answer means.

Only 2xx is delivered. A redirect is a failure. 410 Gone disables a registered
endpoint and ends the delivery. 429 and 503 wait at least their Retry-After.
Anything else is retried on a growing schedule with jitter (Standard Webhooks':
5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; about a day); after the last attempt
the delivery is marked failed, never dropped silently. Each attempt is claimed
with a conditional write first, so a redelivered message never sends it twice.
"""
import json
import logging
import math
import random
from dataclasses import replace
from datetime import timedelta
from typing import Callable, Dict, List, Optional, Sequence

from chalicelib.clock import Clock
from chalicelib.jobs.model import Job
from chalicelib.notifications.dispatch import delivery_message
from chalicelib.notifications.endpoints import ROTATION_OVERLAP_S, WebhookEndpoints
from chalicelib.notifications.model import Delivery, DeliveryState, event_payload
from chalicelib.notifications.persistence import DeliveryStore
from chalicelib.notifications.signing import signed_headers
from chalicelib.queue import MessageQueue
from chalicelib.store import JobRepository
from chalicelib.urls import Answer, FetchFailed, UrlPolicy, UrlRejected, post

log = logging.getLogger(__name__)

TIMEOUT_S = 15.0
# An attempt claimed but never finished (its process died) may be taken again after this.
ATTEMPT_LEASE_S = 60


class Deliverer:
    def __init__(self, jobs: JobRepository, endpoints: WebhookEndpoints,
                 deliveries: DeliveryStore, queue: MessageQueue, policy: UrlPolicy,
                 clock: Clock, presign: Callable[[str], str],
                 retry_delays_s: Sequence[float], stage_secret: Optional[str] = None,
                 send: Callable[..., Answer] = post, rng: Optional[random.Random] = None):
        self.jobs = jobs
        self.endpoints = endpoints
        self.deliveries = deliveries
        self.queue = queue
        self.policy = policy
        self.clock = clock
        self.presign = presign
        self.stage_secret = stage_secret
        self.retry_delays_s = tuple(retry_delays_s)
        self.send = send
        self.rng = rng or random.Random()

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays_s) + 1

    def attempt(self, job_id: str, webhook_id: str) -> Optional[Delivery]:
        delivery = self.deliveries.get(job_id, webhook_id)
        if delivery is None or delivery.state != DeliveryState.PENDING:
            return delivery
        now = self.clock.now()
        if delivery.next_attempt_at and now < delivery.next_attempt_at:
            self._requeue(delivery, (delivery.next_attempt_at - now).total_seconds())
            return delivery
        claimed = replace(delivery, attempts=delivery.attempts + 1,
                          next_attempt_at=now + timedelta(seconds=ATTEMPT_LEASE_S))
        if not self.deliveries.save_attempt(claimed, delivery.attempts):
            return None  # another worker has this attempt
        job = self.jobs.get(job_id)
        outcome = self._send(claimed, job) if job else replace(
            claimed, state=DeliveryState.FAILED, last_error="the job no longer exists")
        self.deliveries.save_attempt(outcome, claimed.attempts)
        if outcome.state == DeliveryState.PENDING:
            self._requeue(outcome, (outcome.next_attempt_at - self.clock.now()).total_seconds())
        log.info("webhook %s (%s, job %s) attempt %d: %s%s", webhook_id, delivery.event, job_id,
                 outcome.attempts, outcome.state.value,
                 f" ({outcome.last_error})" if outcome.last_error else "")
        return outcome

    def _send(self, delivery: Delivery, job: Job) -> Delivery:
        now = self.clock.now()
        body = json.dumps(event_payload(job, delivery.event, self.presign))
        secrets = self._secrets(delivery, job)
        headers = {"User-Agent": "vsl-media-webhooks/1",
                   **signed_headers(secrets, body, delivery.webhook_id, now)}
        try:
            answer = self.send(self.policy, delivery.target.url, body.encode(), headers,
                               TIMEOUT_S)
        except UrlRejected as e:
            return replace(delivery, state=DeliveryState.FAILED, last_status=None,
                           last_error=f"the target URL {e}")
        except FetchFailed as e:
            return self._retry_later(delivery, None, str(e), None)
        if 200 <= answer.status < 300:
            return replace(delivery, state=DeliveryState.DELIVERED, last_status=answer.status,
                           last_error=None, delivered_at=now, next_attempt_at=None)
        if answer.status == 410:
            if delivery.target.endpoint_id:
                self.endpoints.store.disable_endpoint(job.owner_id, delivery.target.endpoint_id,
                                                      now)
            return replace(delivery, state=DeliveryState.FAILED, last_status=410,
                           last_error="the target is gone (410): endpoint disabled")
        why = "redirects are not followed" if 300 <= answer.status < 400 else \
            f"HTTP {answer.status}"
        retry_after = answer.retry_after if answer.status in (429, 503) else None
        return self._retry_later(delivery, answer.status, why, retry_after)

    def _retry_later(self, delivery: Delivery, status: Optional[int], error: str,
                     retry_after: Optional[int]) -> Delivery:
        if delivery.attempts >= self.max_attempts:
            return replace(delivery, state=DeliveryState.FAILED, last_status=status,
                           last_error=f"{error}; gave up after {delivery.attempts} attempts",
                           next_attempt_at=None)
        delay = self.retry_delays_s[delivery.attempts - 1] * self.rng.uniform(0.8, 1.2)
        delay = max(delay, retry_after or 0)
        return replace(delivery, last_status=status, last_error=error,
                       next_attempt_at=self.clock.now() + timedelta(seconds=delay))

    def _secrets(self, delivery: Delivery, job: Job) -> List[str]:
        if delivery.target.kind == "stage":
            return [self.stage_secret]
        return self.endpoints.secrets_of(job.owner_id).active(self.clock.now(),
                                                             ROTATION_OVERLAP_S)

    def _requeue(self, delivery: Delivery, delay_s: float) -> None:
        # Whole seconds, rounded up and at least one when any wait is left: a message
        # back before its attempt is due would only be sent back again.
        self.queue.send(delivery_message(delivery.job_id, delivery.webhook_id),
                        delay_s=math.ceil(delay_s) if delay_s > 0 else 0)

    def deliveries_of(self, job_id: str) -> Dict:
        return {"deliveries": [d.view() for d in sorted(self.deliveries.for_job(job_id),
                                                         key=lambda d: d.webhook_id)]}
