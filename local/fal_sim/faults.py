"""The fal simulator's fault settings: the Replicate simulator's switches, with
the same names and meanings where fal has the same thing, so tests drive both
alike, plus the queue that only fal shows.

Differences from the Replicate simulator:
- ``latency_s`` is the time a request runs (IN_PROGRESS); ``queue_s`` the least
  time it waits IN_QUEUE; ``runners`` how many requests of one model run at
  once (the others wait, with their queue positions).
- ``get_errors`` apply to the status and the result GETs alike.
- ``fail_predictions`` fails requests as the model's own error would.
- ``cancel_ignored``: requests whose model goes on to complete after a
  cancellation arrived while IN_PROGRESS (fal only signals the running app).
- No ``reorder_webhooks``: fal sends one webhook per request, on completion.
"""
import copy

from local.replicate_sim import faults as replicate_faults

SHARED = ("latency_s", "create_errors", "retry_after_s", "create_hang_s", "create_disconnects",
          "get_errors", "file_errors", "fail_predictions", "broken_outputs", "drop_webhooks",
          "duplicate_webhooks", "webhook_delay_s", "output_ttl_s", "large_output")


def _runners(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1")
    return value


DEFAULTS = {**{name: replicate_faults.DEFAULTS[name] for name in SHARED},
            "latency_s": 0.15, "queue_s": 0.15, "runners": 4, "cancel_ignored": 0}
CHECKS = {**{name: replicate_faults.CHECKS[name] for name in SHARED},
          "queue_s": replicate_faults.CHECKS["latency_s"], "runners": _runners,
          "cancel_ignored": replicate_faults.CHECKS["fail_predictions"]}
assert set(CHECKS) == set(DEFAULTS)


def defaults() -> dict:
    return copy.deepcopy(DEFAULTS)


def validate(changes) -> dict:
    """The changes, checked and normalized; ValueError names what is wrong."""
    return replicate_faults.validate(changes, CHECKS)
