"""GET /health's answer: each dependency's state from real calls, on the services the
composition root (chalicelib.wiring) builds."""
import logging
import time
from functools import lru_cache
from typing import Dict

from chalicelib import aws, wiring

log = logging.getLogger(__name__)

# A health answer is reused this long by a process: real calls, but not one per probe.
HEALTH_CACHE_S = 5.0
# Replicate is asked at most this often by the whole deployment (chalicelib.health).
REPLICATE_CHECK_EVERY_S = 10.0
_health_cache: Dict[str, object] = {"at": float("-inf"), "results": {}}


@lru_cache(maxsize=1)
def replicate_health():
    from chalicelib.clock import SystemClock
    from chalicelib.health import SharedCheck
    from chalicelib.dynamo_stores import DynamoCheckStore
    store = DynamoCheckStore(aws.dynamodb_table(wiring.get_settings().names.counters_table))
    return SharedCheck(store, "replicate", lambda: wiring.replicate_client().check(),
                       SystemClock(), every_s=REPLICATE_CHECK_EVERY_S)


def _check(name: str, check) -> str:
    try:
        check()
        return "ok"
    except Exception as e:  # a health check reports every failure, whatever it is
        log.warning("health: %s unavailable: %s: %s", name, type(e).__name__, e)
        return "unavailable"


def health_checks() -> Dict[str, str]:
    """Each dependency's state, "ok" or "unavailable", from real calls with short
    timeouts (a provider is "down" too while this process's breaker skips it); the
    reason for a failure goes to the log only, never to the public.
    Replicate's is the deployment's shared answer, whose record is read from
    DynamoDB: that read is DynamoDB's check."""
    if time.monotonic() - _health_cache["at"] < HEALTH_CACHE_S:
        return dict(_health_cache["results"])
    results = {}
    replicate = None
    try:
        replicate = replicate_health().state()
        results["dynamodb"] = "ok"
    except Exception as e:  # the shared record cannot be read: DynamoDB is down
        log.warning("health: dynamodb unavailable: %s: %s", type(e).__name__, e)
        results["dynamodb"] = "unavailable"
    results["s3"] = _check("s3", lambda: wiring.services().status.storage.check())
    results["sqs"] = _check("sqs", lambda: wiring.services().prediction_events.queue.check())
    # Without the shared record, this process asks Replicate itself (bounded by the cache).
    results["replicate"] = replicate or _check("replicate",
                                               lambda: wiring.replicate_client().check())
    if wiring.get_settings().fal_configured:
        results["fal"] = _check("fal", lambda: wiring.fal_provider().check())
    for name in ("replicate", "fal"):
        # Answering, but this process's starts were refused: skipped until a probe passes.
        if results.get(name) == "ok" and wiring.provider_health().state(name) == "down":
            results[name] = "down"
    _health_cache.update(at=time.monotonic(), results=results)
    return dict(results)
