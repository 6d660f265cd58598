"""The composition root: builds each service once per process, on first use,
with lazily created AWS and HTTP clients. The services' modules are imported
when first built, so importing the app (a Lambda cold start) stays light."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Optional

from chalicelib import aws, secrets
from chalicelib.config import Settings, get_settings
from chalicelib.errors import ServiceUnavailable
from chalicelib.resources import load_spec

if TYPE_CHECKING:
    from chalicelib.authorization import Authorizer
    from chalicelib.jobs.dynamodb import DynamoJobStore
    from chalicelib.idempotency.guard import IdempotencyGuard
    from chalicelib.jobs.batch import Batch
    from chalicelib.jobs.control import JobControl
    from chalicelib.jobs.listing import JobListing
    from chalicelib.jobs.prediction_events import PredictionEvents
    from chalicelib.jobs.reconciliation import Reconciler
    from chalicelib.jobs.reuse import Reuse
    from chalicelib.jobs.starter import PredictionStarter
    from chalicelib.jobs.status import JobStatusService
    from chalicelib.jobs.submission import Submission
    from chalicelib.jobs.sweep import Sweeper
    from chalicelib.jobs.thumbnails import Thumbnails
    from chalicelib.jobs.usage import UsageReport
    from chalicelib.jobs.waiting import JobWaiter
    from chalicelib.keys import ApiKeys
    from chalicelib.notifications.delivery import Deliverer
    from chalicelib.notifications.dispatch import Dispatcher
    from chalicelib.notifications.endpoints import WebhookEndpoints
    from chalicelib.replicate import ReplicateClient
    from chalicelib.providers.fal import FalProvider
    from chalicelib.providers.health import ProviderHealth
    from chalicelib.providers.port import Provider
    from chalicelib.providers.replicate import ReplicateProvider
    from chalicelib.uploads.service import Uploads

log = logging.getLogger(__name__)


def settings() -> Settings:
    return get_settings()


def replicate_client() -> ReplicateClient:
    """The client for the current token (the secret is re-read after a bounded age,
    chalicelib.secrets): a rotated token gets a client of its own."""
    s = get_settings()
    try:
        token = s.replicate_api_token or secrets.replicate_api_token()
    except Exception as e:  # the secret could not be read: retried on the next call
        log.error("the Replicate token could not be read: %s: %s", type(e).__name__, e)
        raise ServiceUnavailable("Replicate is not reachable now; retry later.",
                                 retry_after=5) from None
    if not s.replicate_base_url or not token:
        raise ServiceUnavailable("Replicate is not configured.")
    return _replicate_client_for(token)


@lru_cache(maxsize=1)
def _replicate_client_for(token: str) -> ReplicateClient:
    from chalicelib.replicate import ReplicateClient
    s = get_settings()
    return ReplicateClient(s.replicate_base_url, token,
                           timeout_s=s.replicate_timeout_s, versions=s.replicate_versions)


def fal_key() -> Optional[str]:
    """The current fal key (the secret is re-read after a bounded age, chalicelib.secrets)."""
    return get_settings().fal_key or secrets.fal_key()


@lru_cache(maxsize=1)
def fal_provider() -> FalProvider:
    from chalicelib.providers.fal import FalProvider
    s = get_settings()
    if not s.fal_configured or not s.fal_base_url:
        raise ServiceUnavailable("fal is not configured.")
    return FalProvider(s.fal_base_url, fal_key, timeout_s=s.fal_timeout_s,
                       jwks_url=s.fal_jwks_url, jwks_policy=s.jwks_policy,
                       jwks_max_age_s=s.jwks_max_age_s)


@lru_cache(maxsize=1)
def replicate_provider() -> ReplicateProvider:
    from chalicelib.providers.replicate import ReplicateProvider
    return ReplicateProvider(replicate_client, get_settings().replicate_webhook_secret)


def provider(name: str) -> Provider:
    """The provider port for ``name`` (built on first use)."""
    from chalicelib.providers.port import FAL
    return fal_provider() if name == FAL else replicate_provider()


@lru_cache(maxsize=1)
def provider_health() -> ProviderHealth:
    """Per process: each API and processor instance learns a provider is down by itself."""
    from chalicelib.providers.health import ProviderHealth
    s = get_settings()
    return ProviderHealth(s.provider_down_after, s.provider_cool_down_s)


@dataclass(frozen=True)
class Services:
    """Every service, built on first use (a handler that needs none builds none)."""
    submission: Submission
    status: JobStatusService
    prediction_events: PredictionEvents
    thumbnails: Thumbnails
    reconciler: Reconciler
    control: JobControl
    listing: JobListing
    idempotency: IdempotencyGuard
    webhooks: WebhookEndpoints
    dispatcher: Dispatcher
    deliverer: Deliverer
    reuse: Reuse
    starter: PredictionStarter
    batch: Batch
    usage: UsageReport
    sweeper: Sweeper
    uploads: Uploads
    waiter: JobWaiter


@lru_cache(maxsize=1)
def services() -> Services:
    from chalicelib.clock import SystemClock
    from chalicelib.idempotency.dynamodb import DynamoIdempotencyStore
    from chalicelib.idempotency.guard import IdempotencyGuard
    from chalicelib.jobs.control import JobControl
    from chalicelib.jobs.batch import Batch
    from chalicelib.jobs.lifecycle import Lifecycle
    from chalicelib.jobs.pacing import Pace, StartPacer
    from chalicelib.jobs.reuse import Reuse
    from chalicelib.jobs.starter import PredictionStarter
    from chalicelib.jobs.sweep import Sweeper
    from chalicelib.jobs.usage import UsageReport
    from chalicelib.jobs.waiting import JobWaiter
    from chalicelib.jobs.listing import JobListing
    from chalicelib.jobs.outputs import OutputCopier
    from chalicelib.jobs.prediction_events import PredictionEvents
    from chalicelib.jobs.reconciliation import Reconciler
    from chalicelib.jobs.status import JobStatusService
    from chalicelib.jobs.submission import Submission
    from chalicelib.jobs.thumbnails import Thumbnails
    from chalicelib.notifications.delivery import Deliverer
    from chalicelib.notifications.dispatch import Dispatcher, QueueNotifier
    from chalicelib.notifications.dynamodb import DynamoDeliveryStore, DynamoWebhookConfigStore
    from chalicelib.notifications.endpoints import WebhookEndpoints
    from chalicelib.limits import RateLimiter
    from chalicelib.queue import SqsQueue
    from chalicelib.storage import S3MediaStorage
    from chalicelib.dynamo_stores import DynamoCounterStore, DynamoStartSchedule
    from chalicelib.resources import uploads_spec
    from chalicelib.uploads.dynamodb import DynamoUploadStore
    from chalicelib.uploads.service import Uploads
    s, clock = get_settings(), SystemClock()
    jobs = job_store()
    storage = S3MediaStorage(s.names.media_bucket, lambda: aws.client("s3"), s.presign_expiry_s,
                             s.expiring_kinds, presigner=aws.presigner)
    uploads = Uploads(DynamoUploadStore(aws.dynamodb_table(s.names.uploads_table)), storage, clock,
                      uploads_spec().prefix, timedelta(days=uploads_spec().expiration_days),
                      s.max_upload_bytes, s.upload_url_expiry_s, s.input_url_expiry_s)
    queue = SqsQueue(s.names.jobs_queue, lambda: aws.client("sqs"))
    notifications = SqsQueue(s.names.notifications_queue, lambda: aws.client("sqs"))
    counters = aws.dynamodb_table(s.names.counters_table)
    limiter = RateLimiter(DynamoCounterStore(counters), clock)
    lifecycle = Lifecycle(jobs, QueueNotifier(notifications), clock)
    webhooks = WebhookEndpoints(
        DynamoWebhookConfigStore(aws.dynamodb_table(s.names.webhooks_table)), s.webhook_policy,
        clock)
    deliveries = DynamoDeliveryStore(aws.dynamodb_table(s.names.deliveries_table))
    reuse = Reuse(jobs, lifecycle, storage, clock, s.cache_window_s)
    reconciler = Reconciler(jobs, lifecycle, queue, provider, clock, reuse,
                            quiet_after_s=s.reconcile_after_s,
                            start_deadline_s=s.start_deadline_s)
    status = JobStatusService(jobs, storage, limiter, s.rate_limits, reconciler)
    pacer = StartPacer(DynamoStartSchedule(counters),
                       Pace(s.replicate_creates_per_minute, s.max_start_wait_s), clock)
    starter = PredictionStarter(jobs, lifecycle, provider, queue, pacer, s.routes,
                                provider_health())
    submission = Submission(jobs, lifecycle, limiter, s.rate_limits, clock, reuse, starter,
                            s.cache_by_default)
    return Services(
        submission=submission,
        status=status,
        prediction_events=PredictionEvents(
            jobs, lifecycle, queue, provider, storage,
            OutputCopier(storage, s.output_policy, s.max_output_bytes),
            copy_lease_s=s.copy_lease_s),
        thumbnails=Thumbnails(jobs, lifecycle, storage),
        reconciler=reconciler,
        control=JobControl(status, lifecycle, provider),
        listing=JobListing(jobs, storage),
        idempotency=IdempotencyGuard(
            DynamoIdempotencyStore(aws.dynamodb_table(s.names.idempotency_table)), clock),
        webhooks=webhooks,
        dispatcher=Dispatcher(jobs, webhooks, deliveries, notifications, s.webhook_url),
        deliverer=Deliverer(jobs, webhooks, deliveries, notifications, s.webhook_policy, clock,
                            storage.presigned_url, s.webhook_retry_delays_s,
                            stage_secret=s.webhook_secret),
        reuse=reuse,
        starter=starter,
        batch=Batch(submission, s.input_policy, s.webhook_policy, uploads.resolve_inputs),
        usage=UsageReport(jobs, clock),
        sweeper=Sweeper(jobs, reconciler, lifecycle, clock),
        uploads=uploads,
        waiter=JobWaiter(jobs),
    )


@lru_cache(maxsize=1)
def job_store() -> DynamoJobStore:
    from chalicelib.jobs.dynamodb import DynamoJobStore
    return DynamoJobStore(aws.dynamodb_table(get_settings().names.jobs_table))


@lru_cache(maxsize=1)
def authorizer() -> Authorizer:
    """The one authorization decision every route asks first."""
    from chalicelib.authorization import Authorizer
    return Authorizer(api_keys, job_store)


@lru_cache(maxsize=1)
def upload_origin() -> str:
    """Where browsers PUT uploads (the media bucket's origin), for the playground's CSP."""
    from urllib.parse import urlsplit
    uploads = services().uploads
    url = urlsplit(uploads.storage.upload_url(uploads.key("origin"), "image/png", 1, 60))
    return f"{url.scheme}://{url.netloc}"


@lru_cache(maxsize=1)
def api_keys() -> ApiKeys:
    from chalicelib.keys import ApiKeys
    from chalicelib.dynamo_stores import DynamoApiKeyStore
    s = get_settings()
    return ApiKeys(DynamoApiKeyStore(aws.dynamodb_table(s.names.api_keys_table)),
                   cache_s=s.key_cache_s)


@lru_cache(maxsize=1)
def max_receive_count() -> int:
    return load_spec()["queues"]["jobs"]["max_receive_count"]
