"""When to retry a request and how long to wait first (pure functions, shared by both clients).

A GET is retried on connection errors, timeouts, 408, 429 and 5xx. So is a POST: the
client sends one ``Idempotency-Key`` per logical POST, the same on every attempt, and
the service replays the first response to a retry instead of creating a second job.
With idempotent retries turned off, a POST is retried only when the answer proves
nothing was created: the connection never opened, a 429, or a 503 (throttled before
any job). A 409 ``IDEMPOTENCY_KEY_IN_USE`` (the first attempt is still running) is
waited out like a 429 either way: it created nothing.
"""
from __future__ import annotations

import math
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable, Mapping, Optional

import httpx

INITIAL_DELAY_S = 0.5
MAX_BACKOFF_S = 8.0
# A Retry-After longer than this is not slept through: the error is raised so the
# caller can decide (a spent hourly quota says "come back in an hour").
MAX_RETRY_AFTER_S = 60.0

_POST_SAFE_STATUSES = frozenset({429, 503})
KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"
# Errors raised before the request left this machine: nothing can have been created.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def should_retry(method: str, *, status: Optional[int] = None,
                 error: Optional[BaseException] = None, retry_posts_freely: bool = True,
                 code: Optional[str] = None) -> bool:
    """Whether a failed attempt may be repeated (``status`` and the API's error ``code``,
    or ``error``, describe it)."""
    unsafe = method.upper() == "POST" and not retry_posts_freely
    if error is not None:
        if isinstance(error, _NOT_SENT_ERRORS):
            return True
        return not unsafe and isinstance(error, httpx.TransportError)
    if status is None:
        return False
    if status == 409:
        return code == KEY_IN_USE
    if unsafe:
        return status in _POST_SAFE_STATUSES
    return status in (408, 429) or status >= 500


def parse_retry_after(headers: Mapping[str, str],
                      now: Optional[datetime] = None) -> Optional[float]:
    """Seconds asked by ``Retry-After`` (seconds or HTTP date) or ``retry-after-ms``.

    Returns ``None`` when absent or unreadable; never NaN, infinite or negative.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        seconds = _finite_number(raw_ms)
        if seconds is not None:
            return max(0.0, seconds / 1000)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _finite_number(raw)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    delta = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, delta) if math.isfinite(delta) else None


def _finite_number(text: str) -> Optional[float]:
    try:
        value = float(text.strip())
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def backoff_delay(retries_done: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff: 0.5 s doubling to 8 s, times a jitter factor in [0.75, 1]."""
    base = min(INITIAL_DELAY_S * 2.0 ** min(max(retries_done, 0), 16), MAX_BACKOFF_S)
    jitter = rand()
    if not (isinstance(jitter, (int, float)) and 0.0 <= jitter <= 1.0):
        jitter = 1.0
    return base * (1.0 - 0.25 * jitter)


def retry_delay(retries_done: int, retry_after: Optional[float],
                max_retry_after: float = MAX_RETRY_AFTER_S,
                rand: Callable[[], float] = random.random) -> Optional[float]:
    """Seconds to wait before the next attempt, or ``None`` when the server's
    ``Retry-After`` asks for longer than we are willing to wait."""
    if retry_after is not None:
        return retry_after if retry_after <= max_retry_after else None
    return backoff_delay(retries_done, rand)
