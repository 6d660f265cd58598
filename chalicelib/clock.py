"""Time in one place, behind a small interface, so tests can move it."""
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


def iso(t: datetime) -> str:
    """UTC with milliseconds (``2030-01-01T00:00:00.123Z``): jobs made in one second
    still sort by when they were made, and the text sorts as the time does."""
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(s: str) -> datetime:
    """What iso() writes, and the whole seconds it wrote before."""
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(timezone.utc)
