"""Starting predictions at Replicate's pace.

Replicate lets an account create so many predictions a minute (600; fewer for
low-credit accounts) and answers 429 beyond that. Every starter (a submit in
the API, a queued start in the processor) first takes a start time from one
shared schedule: the schedule's next free time moves one interval (60 s over
the pace) per start taken, so starts are never closer together than that,
whoever makes them. A start due now runs at once; a later one is queued with
that delay, and its wait is part of the job's estimated time. A start that
would wait longer than the longest wait is refused before anything is taken
(503 with Retry-After), so the backlog, and the wait it promises, stay bounded.

The rule is ``take``; the schedule's store applies it atomically (one item in
DynamoDB, shared by every function).
"""
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional, Protocol

from chalicelib.clock import Clock
from chalicelib.errors import ServiceUnavailable

# A start due within this long runs now: a queued one could not be sooner (SQS
# delays are whole seconds), and over any minute it adds at most a second's worth
# of starts to the pace.
START_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class Pace:
    creates_per_minute: int
    # The longest a start may be scheduled ahead; later ones are refused.
    max_wait_s: float

    @property
    def interval_s(self) -> float:
        return 60.0 / self.creates_per_minute


@dataclass(frozen=True)
class Taken:
    """What the schedule answered: a start time and the schedule's next free time
    afterwards; or, when the start would have been after the latest allowed, no
    start (nothing taken) and the time it would have had."""
    start: Optional[float]
    next_free: float


def take(next_free: Optional[float], earliest: float, interval_s: float,
         latest: float) -> Taken:
    """The rule: a start at the schedule's next free time, or at ``earliest`` if
    the schedule has fallen behind it (idle); refused when that is after
    ``latest``. Unix seconds."""
    start = earliest if next_free is None else max(next_free, earliest)
    if start > latest:
        return Taken(None, start)
    return Taken(start, start + interval_s)


def hold(next_free: Optional[float], until: float) -> float:
    """The schedule after Replicate said to wait until ``until``: nothing starts before."""
    return until if next_free is None else max(next_free, until)


def retry_after_s(next_free: float, now: float, max_wait_s: float) -> int:
    """When a refused start would be accepted: once the backlog is inside the longest wait."""
    return max(1, math.ceil(next_free - max_wait_s - now))


def wait_s(start: datetime, now: datetime) -> int:
    """Whole seconds from ``now`` until ``start``; 0 for a start due now."""
    ahead = (start - now).total_seconds()
    return 0 if ahead <= START_TOLERANCE_S else math.ceil(ahead)


class StartSchedule(Protocol):
    def take(self, earliest: float, interval_s: float, latest: float) -> Taken:
        """Apply ``take`` to the stored next free time, atomically."""

    def hold(self, until: float) -> None:
        """Apply ``hold`` to the stored next free time, atomically."""


class StartsBacklogged(ServiceUnavailable):
    """So many starts are queued that this one would wait longer than the longest wait."""


class StartPacer:
    def __init__(self, schedule: StartSchedule, pace: Pace, clock: Clock):
        self.schedule = schedule
        self.pace = pace
        self.clock = clock

    def reserve(self, not_before: Optional[datetime] = None) -> datetime:
        """A start time for one create, not before ``not_before``; StartsBacklogged
        when the schedule is full up to the longest wait."""
        now = self.clock.now().timestamp()
        earliest = max(now, not_before.timestamp()) if not_before else now
        taken = self.schedule.take(earliest, self.pace.interval_s, now + self.pace.max_wait_s)
        if taken.start is None:
            retry_after = retry_after_s(taken.next_free, now, self.pace.max_wait_s)
            raise StartsBacklogged(
                f"Replicate's rate limit ({self.pace.creates_per_minute} starts a minute) has "
                f"more than {self.pace.max_wait_s:.0f} s of jobs waiting; retry after "
                f"{retry_after} s.", retry_after=retry_after)
        return datetime.fromtimestamp(taken.start, timezone.utc)

    def back_off(self, seconds: float) -> None:
        """Replicate throttled a create: no start, by anyone, for ``seconds``."""
        self.schedule.hold(self.clock.now().timestamp() + seconds)
