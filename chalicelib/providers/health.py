"""A breaker per provider, kept per process: after ``threshold`` definite failures
in a row (outages: 5xx, 429, never reached) the provider is marked down for
``cool_down_s``; then one start is let through as a probe, and a success marks it
up again (a failure, down for another cool-down). Ambiguous outcomes count for
nothing: they say nothing certain about the provider."""
import threading
import time
from dataclasses import dataclass
from typing import Callable, Dict


@dataclass
class _State:
    failures: int = 0
    down_until: float = float("-inf")
    # A probe let through until then: no second one meanwhile (and if the probe was
    # never tried, the next one is due after it).
    probe_until: float = float("-inf")


class ProviderHealth:
    def __init__(self, threshold: int = 3, cool_down_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.threshold = threshold
        self.cool_down_s = cool_down_s
        self._clock = clock
        self._states: Dict[str, _State] = {}
        self._lock = threading.Lock()

    def _state(self, provider: str) -> _State:
        return self._states.setdefault(provider, _State())

    def is_down(self, provider: str) -> bool:
        """Down, unless its cool-down has passed and nobody is probing it yet (then the
        caller is the probe)."""
        with self._lock:
            state = self._state(provider)
            if state.failures < self.threshold:
                return False
            now = self._clock()
            if now >= state.down_until and now >= state.probe_until:
                state.probe_until = now + self.cool_down_s
                return False
            return True

    def succeeded(self, provider: str) -> None:
        with self._lock:
            self._states[provider] = _State()

    def failed(self, provider: str) -> None:
        with self._lock:
            state = self._state(provider)
            state.failures += 1
            state.probe_until = float("-inf")
            if state.failures >= self.threshold:
                state.down_until = self._clock() + self.cool_down_s

    def state(self, provider: str) -> str:
        """"down" while starts skip it (its cool-down), else "up"."""
        with self._lock:
            state = self._state(provider)
            return "down" if state.failures >= self.threshold and \
                self._clock() < state.down_until else "up"
