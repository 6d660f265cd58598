"""The composition root: builds each service once per process, on first use."""
from functools import lru_cache
from typing import Dict

from chalicelib.config import Settings, get_settings
from chalicelib.errors import ServiceUnavailable
from chalicelib.jobs import JobService
from chalicelib.keys import ApiKeys
from chalicelib.queue import JobQueue
from chalicelib.replicate import ReplicateClient
from chalicelib.resources import load_spec
from chalicelib.storage import MediaStorage
from chalicelib.limits import RateLimiter
from chalicelib.store import ApiKeyStore, CounterStore, JobStore


@lru_cache(maxsize=1)
def replicate_client() -> ReplicateClient:
    s = get_settings()
    if not s.replicate_base_url or not s.replicate_api_token:
        raise ServiceUnavailable("Replicate is not configured: set REPLICATE_API_TOKEN "
                                 "(and REPLICATE_BASE_URL for a simulator).")
    return ReplicateClient(s.replicate_base_url, s.replicate_api_token,
                           timeout_s=s.replicate_timeout_s, versions=s.replicate_versions)


@lru_cache(maxsize=1)
def job_service() -> JobService:
    s = get_settings()
    return JobService(JobStore(s.names.jobs_table),
                      MediaStorage(s.names.media_bucket, s.presign_expiry_s),
                      JobQueue(s.names.jobs_queue), replicate_client,
                      RateLimiter(CounterStore(s.names.counters_table)), s.rate_limits,
                      webhook_secret=s.replicate_webhook_secret,
                      reconcile_after_s=s.reconcile_after_s)


@lru_cache(maxsize=1)
def api_keys() -> ApiKeys:
    return ApiKeys(ApiKeyStore(get_settings().names.api_keys_table))


def settings() -> Settings:
    return get_settings()


def max_receive_count() -> int:
    return load_spec()["queues"]["jobs"]["max_receive_count"]


def health_checks() -> Dict[str, str]:
    """Each dependency's state: "ok" or the reason it is not."""
    service = job_service()
    checks = {
        "dynamodb": lambda: service.jobs.table.describe(),
        "s3": service.storage.check,
        "sqs": lambda: service.queue.url,
        "replicate": lambda: replicate_client().webhook_secret(),
    }
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as e:  # a health check reports every failure, whatever it is
            results[name] = f"{type(e).__name__}: {e}"[:200]
    return results
