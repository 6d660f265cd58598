"""A dependency check whose answer every caller shares.

The public ``/health`` reports Replicate's state, but must not call Replicate
with the service's token for each request: with many API instances a per-process
cache still lets anyone turn health probes into Replicate calls. The answer is
kept in one shared record (the counters table): whoever finds it older than
``every_s`` claims the next check with a conditional write, so at most one
caller in the whole deployment runs it per interval, and everyone else reads it.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional, Protocol

from chalicelib.clock import Clock

log = logging.getLogger(__name__)

OK, UNAVAILABLE = "ok", "unavailable"


@dataclass(frozen=True)
class CheckRecord:
    state: Optional[str]  # None: claimed, never answered yet
    checked_at: datetime


class CheckStore(Protocol):
    def read(self, name: str) -> Optional[CheckRecord]: ...

    def claim(self, name: str, now: datetime, stale_before: datetime) -> bool:
        """Mark a check as started now, unless someone did since ``stale_before``."""

    def write(self, name: str, state: str, now: datetime) -> None: ...


class SharedCheck:
    def __init__(self, store: CheckStore, name: str, check: Callable[[], None], clock: Clock,
                 every_s: float = 10):
        self.store = store
        self.name = name
        self.check = check
        self.clock = clock
        self.every_s = every_s

    def state(self) -> str:
        """"ok" or "unavailable": the shared answer, checked anew at most once per
        ``every_s`` across all callers. A store failure raises (the store is down)."""
        now = self.clock.now()
        record = self.store.read(self.name)
        stale_before = now - timedelta(seconds=self.every_s)
        if record is not None and record.checked_at > stale_before and record.state:
            return record.state
        if not self.store.claim(self.name, now, stale_before):
            # Another caller is checking right now: its last answer, if it has one.
            return (record.state if record is not None else None) or UNAVAILABLE
        try:
            self.check()
            state = OK
        except Exception as e:  # a health check reports every failure, whatever it is
            log.warning("health: %s unavailable: %s: %s", self.name, type(e).__name__, e)
            state = UNAVAILABLE
        self.store.write(self.name, state, now)
        return state
