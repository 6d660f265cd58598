"""Which providers may run a job, in which order, and what a failed start means
for the next one: pure rules, the starter applies them.

A job runs on the first provider of its model's list that serves it as asked and
is not marked down (all down: the list as it is, so the job is still tried). A
provider that definitely refused for its own reasons (an outage: 5xx, 429, never
reached) hands the job to the next; one that refused the request itself (another
4xx) does not, as the next would refuse it too. An ambiguous create hands it to
nobody: the first provider may be running it, and a second run would be paid twice.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence, Tuple

from chalicelib.providers.port import PROVIDERS, REPLICATE, ProviderUnavailable


class NoProvider(Exception):
    """The job's model (or its pinned provider) has no provider allowed to run it."""


def provider_order(model_id: str, routes: Dict[str, Sequence[str]],
                   default: Sequence[str], pinned: Optional[str] = None) -> Tuple[str, ...]:
    """The providers the model may run on, preferred first; only ``pinned`` if given
    (NoProvider if it is not among them)."""
    order = tuple(routes.get(model_id, default))
    if pinned is not None:
        if pinned not in order:
            raise NoProvider(f"{model_id} is not served by {pinned} here; allowed: "
                             f"{', '.join(order) or 'none'}")
        return (pinned,)
    if not order:
        raise NoProvider(f"{model_id} has no provider allowed")
    return order


@dataclass(frozen=True)
class Routes:
    """The routing setting: each model's providers in order, else ``default``."""
    default: Tuple[str, ...] = (REPLICATE,)
    by_model: Dict[str, Tuple[str, ...]] = field(default_factory=dict)

    def order(self, model_id: str, pinned: Optional[str] = None) -> Tuple[str, ...]:
        return provider_order(model_id, self.by_model, self.default, pinned)


def candidates(order: Sequence[str], is_down: Callable[[str], bool],
               serves: Callable[[str], bool]) -> Tuple[str, ...]:
    """``order`` without the providers that cannot serve the job as asked, those
    marked down moved last (they are tried only when every other one refused)."""
    # Asked once each: asking may make the caller a down provider's probe.
    down = {p: is_down(p) for p in order if serves(p)}
    return tuple([p for p, d in down.items() if not d] + [p for p, d in down.items() if d])


def hands_over(error: ProviderUnavailable) -> bool:
    """Whether a failed create lets the job start on the next provider."""
    return error.outage


def stored_provider(provider: Optional[str]) -> str:
    """A job recorded before providers were: it ran on Replicate."""
    return provider or REPLICATE


def default_order(fal_configured: bool) -> Tuple[str, ...]:
    return PROVIDERS if fal_configured else (REPLICATE,)
