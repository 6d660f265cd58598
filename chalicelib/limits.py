"""Per-user submission limits and per-key polling limits, exact under concurrency.

Submissions: a rolling hour and a UTC day. The rolling hour is a set of N slots
per end user (client + userId); a submission claims a slot whose last use is
more than an hour old, with one conditional write. N slots can never hold more
than N claims from the last hour, so the window is exact, and the oldest claim
says exactly when the next slot frees. The day is a conditional counter; if it
refuses, the claimed slot is given back (which can only under-admit, briefly,
never over-admit).

Status polls: a fixed one-minute counter per API key, generous by default.
"""
import math
import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Callable, List, Optional, Tuple

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.clock import Clock, SystemClock
from chalicelib.errors import RateLimited, ServiceUnavailable
from chalicelib.store import CounterStore

HOUR_S, DAY_S, MINUTE_S = 3600, 86400, 60
TTL_GRACE_S = DAY_S  # TTL deletes late; reads never trust it (they compare times)
MAX_CLAIM_ROUNDS = 200
CLAIMS_PER_ROUND = 3


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    submissions_per_hour: int = Field(100, ge=1, le=10_000)
    submissions_per_day: int = Field(1000, ge=1, le=1_000_000)
    status_per_minute: int = Field(600, ge=1, le=100_000)

    def with_overrides(self, overrides: Optional[dict]) -> "Limits":
        return self.model_copy(update=overrides) if overrides else self


@dataclass(frozen=True)
class Quota:
    """One limit's state after a request, as the headers report it."""
    policy: str
    limit: int
    remaining: int
    reset_at: int  # Unix seconds
    window_s: int

    def seconds_to_reset(self, now: float) -> int:
        return max(1, math.ceil(self.reset_at - now))


def binding_quota(quotas: List[Quota]) -> Quota:
    """The limit that runs out first: the one the X-RateLimit-* fields report."""
    return min(quotas, key=lambda q: q.remaining)


@dataclass
class Admission:
    """A request let through, with the state of its limits afterwards."""
    quotas: List[Quota]
    now: float
    _refund: Callable[[], None] = field(default=lambda: None, repr=False)

    def refund(self) -> None:
        """Give the submission back (the job never started); the quotas show it."""
        self._refund()
        self.quotas = [replace(q, remaining=min(q.limit, q.remaining + 1)) for q in self.quotas]


def _limited(quotas: List[Quota], now: float, which: str) -> RateLimited:
    retry_after = binding_quota(quotas).seconds_to_reset(now)
    return RateLimited(f"{which}; retry after {retry_after} s.", quotas, now, retry_after)


class RateLimiter:
    def __init__(self, counters: CounterStore, clock: Clock = SystemClock(),
                 rng: Optional[random.Random] = None):
        self.counters = counters
        self.clock = clock
        self.rng = rng or random.Random()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def admit_submission(self, client_id: str, user_id: str, limits: Limits) -> Admission:
        scope = f"user#{client_id}#{user_id}"
        now = self._now()
        slot, hourly = self._claim_hour_slot(scope, limits.submissions_per_hour, now)
        day_start = datetime.fromtimestamp(now, timezone.utc).replace(
            hour=0, minute=0, second=0, microsecond=0)
        day_reset = int((day_start + timedelta(days=1)).timestamp())
        day_name = f"day#{day_start:%Y-%m-%d}"
        count = self.counters.increment_below(scope, day_name, limits.submissions_per_day,
                                              day_reset + TTL_GRACE_S)
        if count is None:
            self.counters.release(scope, slot[0], slot[1])
            daily = Quota("daily", limits.submissions_per_day, 0, day_reset, DAY_S)
            raise _limited([hourly, daily], now, f"{limits.submissions_per_day} submissions "
                                                 f"per day for this user")
        daily = Quota("daily", limits.submissions_per_day,
                      limits.submissions_per_day - count, day_reset, DAY_S)

        def refund():
            self.counters.release(scope, slot[0], slot[1])
            self.counters.decrement(scope, day_name)
        return Admission([hourly, daily], now, refund)

    def _claim_hour_slot(self, scope: str, limit: int, now: float) -> Tuple[Tuple[str, str], Quota]:
        free_before = now - HOUR_S
        token = uuid.uuid4().hex
        for _ in range(MAX_CLAIM_ROUNDS):
            stored = {item["name"]: float(item.get("usedAt", 0))
                      for item in self.counters.query(scope, "hour#")}
            last_used = {f"hour#{i:05d}": stored.get(f"hour#{i:05d}", 0.0) for i in range(limit)}
            busy = sorted(t for t in last_used.values() if t > free_before)
            free = [name for name, t in last_used.items() if t <= free_before]
            if not free:
                full = Quota("hourly", limit, 0, math.ceil(busy[0] + HOUR_S), HOUR_S)
                raise _limited([full], now, f"{limit} submissions per rolling hour for this user")
            for name in self.rng.sample(free, min(CLAIMS_PER_ROUND, len(free))):
                if self.counters.claim(scope, name, now, free_before, token,
                                       int(now) + HOUR_S + TTL_GRACE_S):
                    in_window = busy + [now]
                    # The window frees its next slot when its oldest claim turns an hour old.
                    reset = math.ceil(min(in_window) + HOUR_S)
                    remaining = max(0, limit - len(in_window))
                    return (name, token), Quota("hourly", limit, remaining, reset, HOUR_S)
        raise ServiceUnavailable("Too much contention on this user's rate limit; retry.")

    def admit_status_poll(self, key_id: str, limits: Limits) -> Admission:
        now = self._now()
        minute = int(now // MINUTE_S)
        reset = (minute + 1) * MINUTE_S
        count = self.counters.increment_below(f"key#{key_id}", f"status#{minute}",
                                              limits.status_per_minute, reset + TTL_GRACE_S)
        if count is None:
            quota = Quota("status", limits.status_per_minute, 0, reset, MINUTE_S)
            raise _limited([quota], now, f"{limits.status_per_minute} status requests per "
                                         f"minute for this API key")
        return Admission([Quota("status", limits.status_per_minute,
                                limits.status_per_minute - count, reset, MINUTE_S)], now)
