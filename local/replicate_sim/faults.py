"""The simulator's fault settings: defaults and the checks on ``POST /_sim/faults``.

Lists (``*_errors``, ``broken_outputs``) and counts (``fail_predictions``,
``*_webhooks``, ``create_disconnects``) are consumed one per use; the other
settings hold until changed or reset.
"""
import copy

from local.replicate_sim import large

DEFAULTS = {
    "latency_s": 0.3,          # creation to completion, half before "processing"
    "create_errors": [],       # HTTP statuses answered by the next creates, one each
    "retry_after_s": 2,        # Retry-After of a 429 (create or get)
    "create_hang_s": 0,        # created and running, but the create response waits this long
    "create_disconnects": 0,   # creates whose connection is closed unanswered after creating
    "get_errors": [],          # HTTP statuses answered by the next GET /v1/predictions/{id}
    "file_errors": [],         # HTTP statuses answered by the next output file downloads
    "fail_predictions": 0,     # predictions that fail as the model would
    "broken_outputs": [],      # "empty" | "corrupt" | "truncated": the next succeeding outputs
    "drop_webhooks": 0,        # webhooks never sent
    "duplicate_webhooks": 0,   # webhooks sent twice (the copy is a fresh, separately signed message)
    "reorder_webhooks": 0,     # predictions whose "start" webhook is sent after their "completed"
    "webhook_delay_s": 0,      # every webhook is sent this late
    "output_ttl_s": 3600,      # outputs are deleted this long after completion
    "large_output": None,      # see local/replicate_sim/large.py
    "create_limit_per_minute": 0,  # Replicate's create limit: over it in any 60 s, 429 (0: none)
}
BROKEN_KINDS = ("empty", "corrupt", "truncated")


def defaults() -> dict:
    return copy.deepcopy(DEFAULTS)


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number >= 0")
    return value


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0")
    return value


def _statuses(name, value):
    if not isinstance(value, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and 400 <= s <= 599 for s in value):
        raise ValueError(f"{name} must be a list of HTTP error statuses (400-599)")
    return list(value)


def _broken(name, value):
    if not isinstance(value, list) or not all(v in BROKEN_KINDS for v in value):
        raise ValueError(f"{name} must be a list of {list(BROKEN_KINDS)}")
    return list(value)


CHECKS = {
    "latency_s": _number, "retry_after_s": _number, "create_hang_s": _number,
    "webhook_delay_s": _number, "output_ttl_s": _number,
    "create_errors": _statuses, "get_errors": _statuses, "file_errors": _statuses,
    "create_disconnects": _count, "fail_predictions": _count, "drop_webhooks": _count,
    "duplicate_webhooks": _count, "reorder_webhooks": _count,
    "broken_outputs": _broken, "create_limit_per_minute": _count,
    "large_output": lambda name, value: large.normalize(value),
}
assert set(CHECKS) == set(DEFAULTS)


def validate(changes, checks=None) -> dict:
    """The changes, checked and normalized; ValueError names what is wrong.
    ``checks`` (name -> checker) defaults to this simulator's; the fal simulator
    passes its own set, built from these checkers."""
    checks = CHECKS if checks is None else checks
    if not isinstance(changes, dict):
        raise ValueError("faults must be a JSON object")
    unknown = set(changes) - set(checks)
    if unknown:
        raise ValueError(f"unknown faults: {sorted(unknown)}; known: {sorted(checks)}")
    return {name: checks[name](name, value) for name, value in changes.items()}
