"""One delivery attempt, the retry schedule, and what each answer means.

Only 2xx is delivered. A redirect is a failure. 410 Gone disables a registered
endpoint and ends the delivery. 429 and 503 wait at least their Retry-After,
capped at the schedule's longest wait. Anything else is retried on a growing
schedule with jitter (Standard Webhooks': 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
10 h; about a day); after the last attempt the delivery is marked failed, never
dropped silently. A target that can never be reached (refused by the URL policy,
an endpoint deleted or disabled meanwhile, a job gone) ends failed at once. Each
attempt is claimed with a conditional write first, so a redelivered message
never sends it twice.

One client cannot hold up another's deliveries: an attempt has one deadline
(TIMEOUT_S) however slowly its receiver answers, and a client's targets take at
most ``sends_per_client`` delivery workers at a time (a send slot per client,
leased in the store); an attempt that finds them busy waits in the queue, not
in a worker.
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
from chalicelib.messages import DeliveryMessage
from chalicelib.notifications.endpoints import WebhookEndpoints
from chalicelib.notifications.model import Delivery, DeliveryState, event_payload
from chalicelib.notifications.persistence import DeliveryStore
from chalicelib.notifications.signing import signed_headers
from chalicelib.queue import MessageQueue
from chalicelib.jobs.persistence import JobRepository
from chalicelib.outbound import Answer, FetchFailed, post
from chalicelib.urls import UrlPolicy, UrlRejected

log = logging.getLogger(__name__)

# The whole attempt: connection, request and the answer's status line and headers.
TIMEOUT_S = 15.0
# An attempt claimed but never finished (its process died) may be taken again after this.
ATTEMPT_LEASE_S = 60
# A send slot is held this long at most (a holder that died frees it so).
SEND_SLOT_LEASE_S = TIMEOUT_S + 15
# An attempt whose client's slots are all busy comes back after this.
SEND_SLOT_WAIT_S = 2


class Deliverer:
    def __init__(self, jobs: JobRepository, endpoints: WebhookEndpoints,
                 deliveries: DeliveryStore, queue: MessageQueue, policy: UrlPolicy,
                 clock: Clock, presign: Callable[[str], str],
                 retry_delays_s: Sequence[float], stage_secret: Optional[str] = None,
                 send: Callable[..., Answer] = post, rng: Optional[random.Random] = None,
                 sends_per_client: int = 1):
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
        self.sends_per_client = sends_per_client

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
        job = self.jobs.get(job_id)
        unreachable = "the job no longer exists" if job is None else self._gone(delivery, job)
        if unreachable:
            ended = replace(delivery, state=DeliveryState.FAILED, last_error=unreachable,
                            next_attempt_at=None)
            return ended if self.deliveries.save_attempt(ended, delivery.attempts) else None
        # The stage-wide target is the operator's own: only clients' targets take slots.
        slot = None
        if delivery.target.kind != "stage":
            holder = f"{webhook_id}#{delivery.attempts + 1}"
            slot = self.endpoints.store.take_send_slot(
                job.owner_id, self.sends_per_client, holder,
                now + timedelta(seconds=SEND_SLOT_LEASE_S), now)
            if slot is None:
                self._requeue(delivery, SEND_SLOT_WAIT_S)
                return delivery
        try:
            return self._attempt(delivery, job, now)
        finally:
            if slot is not None:
                self.endpoints.store.release_send_slot(job.owner_id, slot, holder,
                                                       self.clock.now())

    def _attempt(self, delivery: Delivery, job: Job, now) -> Optional[Delivery]:
        claimed = replace(delivery, attempts=delivery.attempts + 1,
                          next_attempt_at=now + timedelta(seconds=ATTEMPT_LEASE_S))
        if not self.deliveries.save_attempt(claimed, delivery.attempts):
            return None  # another worker has this attempt
        outcome = self._send(claimed, job)
        self.deliveries.save_attempt(outcome, claimed.attempts)
        if outcome.state == DeliveryState.PENDING:
            self._requeue(outcome, (outcome.next_attempt_at - self.clock.now()).total_seconds())
        log.info("webhook %s (%s, job %s) attempt %d: %s%s", delivery.webhook_id,
                 delivery.event, delivery.job_id, outcome.attempts, outcome.state.value,
                 f" ({outcome.last_error})" if outcome.last_error else "")
        return outcome

    def _gone(self, delivery: Delivery, job: Job) -> Optional[str]:
        """Why a registered endpoint's delivery can no longer be made, if it cannot."""
        if delivery.target.kind != "endpoint":
            return None
        endpoint = next((e for e in self.endpoints.store.endpoints(job.owner_id)
                         if e.endpoint_id == delivery.target.endpoint_id), None)
        if endpoint is None:
            return "the endpoint was deleted"
        if endpoint.disabled_at is not None:
            return "the endpoint is disabled"
        return None

    def _send(self, delivery: Delivery, job: Job) -> Delivery:
        now = self.clock.now()
        body = json.dumps(event_payload(job, delivery.event, self.presign))
        secrets = self._secrets(delivery, job)
        headers = {"User-Agent": "vsl-media-webhooks/1",
                   **signed_headers(secrets, body, delivery.webhook_id, now)}
        try:
            answer = self.send(self.policy, delivery.target.url, body.encode(), headers,
                               TIMEOUT_S)
        except UrlRejected as e:  # retrying cannot make it allowed
            return replace(delivery, state=DeliveryState.FAILED, last_status=None,
                           last_error=f"the target URL {e}", next_attempt_at=None)
        except FetchFailed as e:
            return self._retry_later(delivery, None, str(e), None)
        except Exception as e:  # whatever it was, it counts as an attempt: never a crash loop
            log.exception("webhook %s: the attempt failed", delivery.webhook_id)
            return self._retry_later(delivery, None, f"the attempt failed ({type(e).__name__})",
                                     None)
        if 200 <= answer.status < 300:
            return replace(delivery, state=DeliveryState.DELIVERED, last_status=answer.status,
                           last_error=None, delivered_at=now, next_attempt_at=None)
        if answer.status == 410:
            if delivery.target.endpoint_id:
                self.endpoints.store.disable_endpoint(job.owner_id, delivery.target.endpoint_id,
                                                      now)
            return replace(delivery, state=DeliveryState.FAILED, last_status=410,
                           last_error="the target is gone (410): endpoint disabled",
                           next_attempt_at=None)
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
        # A receiver may ask for more time, but no longer than the schedule's longest wait.
        delay = max(delay, min(retry_after or 0, max(self.retry_delays_s)))
        return replace(delivery, last_status=status, last_error=error,
                       next_attempt_at=self.clock.now() + timedelta(seconds=delay))

    def _secrets(self, delivery: Delivery, job: Job) -> List[str]:
        if delivery.target.kind == "stage":
            return [self.stage_secret]
        return self.endpoints.secrets_of(job.owner_id).active(self.clock.now())

    def _requeue(self, delivery: Delivery, delay_s: float) -> None:
        # Whole seconds, rounded up and at least one when any wait is left: a message
        # back before its attempt is due would only be sent back again.
        self.queue.send(DeliveryMessage(delivery.job_id, delivery.webhook_id).body(),
                        delay_s=math.ceil(delay_s) if delay_s > 0 else 0)

    def deliveries_of(self, job_id: str) -> Dict:
        return {"deliveries": [d.view() for d in sorted(self.deliveries.for_job(job_id),
                                                         key=lambda d: d.webhook_id)]}
