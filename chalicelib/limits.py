"""Per-user submission limits and per-key polling limits, exact under concurrency.

Submissions: a rolling hour and a UTC day, kept in one item per end user
(client + userId): the times of the last N submissions in a ring (N = the hourly
limit), the day's count, and a version. A submission is admitted when the ring's
oldest entry (at version % N) is more than an hour old, and recorded with one
write conditioned on the version, so two writers can never both take a place:
the window is exact, and the oldest entry says exactly when the next place frees.
A process keeps the item it last wrote, so a warm API admits with that one
write; a write that loses (another process wrote first) reads the item again.

Status polls: a one-minute counter per API key, spent in leases: a process takes
a tenth of the minute's allowance with one write and spends it locally, so polls
cost no write each. Leases can only make the limit bind early, never late.
"""
import math
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Callable, Dict, List, Optional, Protocol, Tuple

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.clock import Clock, SystemClock
from chalicelib.errors import RateLimited, ServiceUnavailable

HOUR_S, DAY_S, MINUTE_S = 3600, 86400, 60
TTL_GRACE_S = DAY_S  # TTL deletes late; reads never trust it (they compare times)
MAX_WRITE_ROUNDS = 50
POLL_LEASE_FRACTION = 10


@dataclass(frozen=True)
class SubmissionWindow:
    """One end user's submission limits item: the last N submission times (a ring
    whose oldest entry is at ``version % N``), the UTC day and its count."""
    ring: List[float] = ()
    version: int = 0
    day: str = ""
    day_count: int = 0
    # The item's write counter, the condition of the next write (None: no item yet).
    stored_version: Optional[int] = None


class CounterStore(Protocol):
    """The limits' state (chalicelib/dynamo_stores.py: DynamoCounterStore): items by
    (scope, name), expired by TTL, each changed by one conditional write."""

    def read_window(self, scope: str) -> SubmissionWindow: ...

    def write_window(self, scope: str, window: SubmissionWindow,
                     expires_at: int) -> Optional[SubmissionWindow]:
        """Store the window if nobody wrote since it was read; the stored one, or None."""

    def add_below(self, scope: str, name: str, amount: int, limit: int,
                  expires_at: int) -> Optional[int]:
        """Add ``amount`` unless the count would pass ``limit``; the new count, or None."""


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


def _day(now: float) -> Tuple[str, int]:
    """The UTC day of ``now`` and when it ends (Unix seconds)."""
    start = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0,
                                                               microsecond=0)
    return f"{start:%Y-%m-%d}", int((start + timedelta(days=1)).timestamp())


def _resized(window: SubmissionWindow, size: int) -> SubmissionWindow:
    """The ring for another hourly limit (a client's override changed): the newest
    ``size`` times in order, the oldest at slot 0."""
    if len(window.ring) == size:
        return window
    n = len(window.ring)
    ordered = window.ring[window.version % n:] + window.ring[:window.version % n] if n else []
    times = sorted(ordered)[-size:]
    return replace(window, ring=[0.0] * (size - len(times)) + times, version=0)


class RateLimiter:
    def __init__(self, counters: CounterStore, clock: Clock = SystemClock()):
        self.counters = counters
        self.clock = clock
        self._windows: Dict[str, SubmissionWindow] = {}
        self._locks: Dict[str, threading.Lock] = {}
        self._leases: Dict[str, Tuple[int, int, int]] = {}  # key -> (minute, left, count)
        self._guard = threading.Lock()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _lock(self, scope: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(scope, threading.Lock())

    def admit_submission(self, client_id: str, user_id: str, limits: Limits) -> Admission:
        scope = f"user#{client_id}#{user_id}"
        # One writer per user in this process: its requests take turns instead of racing.
        with self._lock(scope):
            return self._admit(scope, limits)

    def _window(self, scope: str, fresh: bool) -> SubmissionWindow:
        if not fresh and scope in self._windows:
            return self._windows[scope]
        window = self.counters.read_window(scope)
        self._windows[scope] = window
        return window

    def _admit(self, scope: str, limits: Limits) -> Admission:
        hourly, daily = limits.submissions_per_hour, limits.submissions_per_day
        fresh = False
        for _ in range(MAX_WRITE_ROUNDS):
            now = self._now()
            window = _resized(self._window(scope, fresh), hourly)
            slot = window.version % hourly
            day, day_reset = _day(now)
            day_count = window.day_count if window.day == day else 0
            oldest = window.ring[slot]
            limited = oldest > now - HOUR_S or day_count >= daily
            if limited and not fresh:
                fresh = True  # refuse only on what the store says, not on a cached copy
                continue
            ring = list(window.ring)
            ring[slot] = now
            after = SubmissionWindow(ring=ring, version=window.version + 1, day=day,
                                     day_count=day_count + 1, stored_version=window.stored_version)
            quotas = self._quotas(after if not limited else window, hourly, daily, now,
                                  day_reset, day_count + (0 if limited else 1))
            if limited:
                which = (f"{hourly} submissions per rolling hour for this user"
                         if oldest > now - HOUR_S else f"{daily} submissions per day for this user")
                raise _limited([q for q in quotas if q.remaining == 0] or quotas, now, which)
            written = self.counters.write_window(scope, after, int(now) + HOUR_S + TTL_GRACE_S)
            if written is not None:
                self._windows[scope] = written
                return Admission(quotas, now, lambda: self._refund(scope, written, slot,
                                                                    window.ring[slot]))
            fresh = True  # another process wrote first: read and try again
        raise ServiceUnavailable("Too much contention on this user's rate limit; retry.",
                                 retry_after=1)

    def _quotas(self, window: SubmissionWindow, hourly: int, daily: int, now: float,
                day_reset: int, day_count: int) -> List[Quota]:
        recent = sorted(t for t in window.ring if t > now - HOUR_S)
        # The window frees its next place when its oldest entry turns an hour old.
        hour_reset = math.ceil(recent[0] + HOUR_S) if len(recent) >= hourly else \
            math.ceil(now + HOUR_S if not recent else recent[0] + HOUR_S)
        return [Quota("hourly", hourly, max(0, hourly - len(recent)), hour_reset, HOUR_S),
                Quota("daily", daily, max(0, daily - day_count), day_reset, DAY_S)]

    def _refund(self, scope: str, written: SubmissionWindow, slot: int, previous: float) -> None:
        """Give the submission back: its place and its count (the job never started)."""
        with self._lock(scope):
            window = written
            for _ in range(MAX_WRITE_ROUNDS):
                ring = list(window.ring)
                if ring[slot] != written.ring[slot]:
                    return  # the place was taken again meanwhile: nothing to give back
                ring[slot] = previous
                # Rolled back when nobody wrote since, so the place is the next one used.
                version = written.version - 1 if window.version == written.version \
                    else window.version
                day_count = window.day_count - 1 if window.day == written.day else \
                    window.day_count
                back = SubmissionWindow(ring=ring, version=version, day=window.day,
                                        day_count=max(0, day_count),
                                        stored_version=window.stored_version)
                stored = self.counters.write_window(scope, back,
                                                    int(self._now()) + HOUR_S + TTL_GRACE_S)
                if stored is not None:
                    self._windows[scope] = stored
                    return
                window = self._window(scope, fresh=True)

    def admit_status_poll(self, key_id: str, limits: Limits) -> Admission:
        now = self._now()
        limit = limits.status_per_minute
        minute = int(now // MINUTE_S)
        reset = (minute + 1) * MINUTE_S
        scope, name = f"key#{key_id}", f"status#{minute}"
        with self._lock(scope):
            lease_minute, left, count = self._leases.get(scope, (minute, 0, 0))
            if lease_minute != minute:
                left, count = 0, 0
            if left == 0:
                batch = max(1, limit // POLL_LEASE_FRACTION)
                count = self.counters.add_below(scope, name, batch, limit, reset + TTL_GRACE_S) \
                    if batch > 1 else None
                if count is None:  # near the limit: one at a time
                    batch = 1
                    count = self.counters.add_below(scope, name, 1, limit, reset + TTL_GRACE_S)
                if count is None:
                    quota = Quota("status", limit, 0, reset, MINUTE_S)
                    raise _limited([quota], now, f"{limit} status requests per minute for "
                                                 f"this API key")
                left = batch
            self._leases[scope] = (minute, left - 1, count)
        return Admission([Quota("status", limit, max(0, limit - count + left - 1), reset,
                                MINUTE_S)], now)
