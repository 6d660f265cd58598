"""The limiter's windows and the headers they produce, driven by a controllable
clock, on the in-memory counter store (tests/integration/test_stores.py
holds the DynamoDB store to the same contract)."""
import uuid
from datetime import datetime, timezone

import pytest

from app import rate_limit_headers
from chalicelib.errors import RateLimited
from chalicelib.limits import Limits, RateLimiter
from tests.fakes import InMemoryCounterStore

T0 = datetime(2030, 1, 1, 1, 0, tzinfo=timezone.utc).timestamp()  # 01:00 UTC


class Clock:
    """Seconds since the epoch in ``t``, settable by the test."""

    def __init__(self, t: float):
        self.t = t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, timezone.utc)


def headers(error: RateLimited) -> dict:
    return {**rate_limit_headers(error.quotas, error.now), "Retry-After": str(error.retry_after)}


@pytest.fixture
def limiter():
    clock = Clock(T0)
    return RateLimiter(InMemoryCounterStore(), clock=clock), clock


def client_id():
    return f"client-{uuid.uuid4().hex[:8]}"


def test_rolling_hour_frees_each_slot_exactly_an_hour_after_its_use(limiter):
    limiter, clock = limiter
    limits, client = Limits(submissions_per_hour=3), client_id()
    for offset in (0, 10, 20):
        clock.t = T0 + offset
        limiter.admit_submission(client, "u", limits)
    clock.t = T0 + 30
    with pytest.raises(RateLimited) as err:
        limiter.admit_submission(client, "u", limits)
    assert err.value.retry_after == 3570
    assert headers(err.value)["Retry-After"] == "3570"
    assert headers(err.value)["X-RateLimit-Reset"] == str(int(T0 + 3600))
    assert headers(err.value)["X-RateLimit-Remaining"] == "0"
    clock.t = T0 + 3599.5
    with pytest.raises(RateLimited):
        limiter.admit_submission(client, "u", limits)
    clock.t = T0 + 3600
    admitted = limiter.admit_submission(client, "u", limits)
    assert rate_limit_headers(admitted.quotas, admitted.now)["X-RateLimit-Remaining"] == "0"
    clock.t = T0 + 3601
    with pytest.raises(RateLimited) as err:
        limiter.admit_submission(client, "u", limits)
    assert err.value.retry_after == 9  # the use at T0+10 frees at T0+3610


def test_each_user_of_a_client_has_its_own_window(limiter):
    limiter, _ = limiter
    limits, client = Limits(submissions_per_hour=1), client_id()
    limiter.admit_submission(client, "alice", limits)
    limiter.admit_submission(client, "bob", limits)
    limiter.admit_submission(client_id(), "alice", limits)
    with pytest.raises(RateLimited):
        limiter.admit_submission(client, "alice", limits)


def test_daily_limit_binds_across_hours_and_resets_at_utc_midnight(limiter):
    limiter, clock = limiter
    limits, client = Limits(submissions_per_hour=5, submissions_per_day=7), client_id()
    for i in range(5):
        limiter.admit_submission(client, "u", limits)
    clock.t = T0 + 3700
    first = limiter.admit_submission(client, "u", limits)
    fields = rate_limit_headers(first.quotas, first.now)
    # Daily has 1 left, hourly 4: the daily limit binds first.
    assert fields["X-RateLimit-Limit"] == "7" and fields["X-RateLimit-Remaining"] == "1"
    assert 'r=1' in fields["RateLimit"] and '"daily"' in fields["RateLimit"]
    assert fields["RateLimit-Policy"] == '"hourly";q=5;w=3600, "daily";q=7;w=86400'
    limiter.admit_submission(client, "u", limits)
    with pytest.raises(RateLimited) as err:
        limiter.admit_submission(client, "u", limits)
    midnight = datetime(2030, 1, 2, tzinfo=timezone.utc).timestamp()
    assert headers(err.value)["X-RateLimit-Reset"] == str(int(midnight))
    assert int(headers(err.value)["Retry-After"]) == midnight - clock.t
    # The refused day gave its hour slot back: the hourly window still has room.
    clock.t = T0 + 7300
    with pytest.raises(RateLimited) as err:
        limiter.admit_submission(client, "u", limits)
    assert '"daily"' in headers(err.value)["RateLimit"]
    clock.t = midnight + 1
    limiter.admit_submission(client, "u", limits)


def test_refund_gives_the_submission_back(limiter):
    limiter, _ = limiter
    limits, client = Limits(submissions_per_hour=1, submissions_per_day=1), client_id()
    limiter.admit_submission(client, "u", limits).refund()
    limiter.admit_submission(client, "u", limits)
    with pytest.raises(RateLimited):
        limiter.admit_submission(client, "u", limits)


def test_status_polls_have_their_own_per_minute_window(limiter):
    limiter, clock = limiter
    limits, key = Limits(status_per_minute=3, submissions_per_hour=1), uuid.uuid4().hex[:12]
    clock.t = T0 + 5
    for _ in range(3):
        limiter.admit_status_poll(key, limits)
    with pytest.raises(RateLimited) as err:
        limiter.admit_status_poll(key, limits)
    assert err.value.retry_after == 55
    clock.t = T0 + 60
    limiter.admit_status_poll(key, limits)


def test_a_warm_process_admits_with_one_write_and_polls_in_leases(limiter):
    limiter, clock = limiter
    store = limiter.counters
    limiter.admit_submission("c", "u", Limits())
    writes = store.writes
    limiter.admit_submission("c", "u", Limits())
    assert store.writes == writes + 1
    writes = store.writes
    for _ in range(60):
        limiter.admit_status_poll("k", Limits(status_per_minute=600))
    assert store.writes == writes + 1  # one lease of 60 polls


def test_another_process_writing_first_is_read_and_never_over_admits():
    store, clock = InMemoryCounterStore(), Clock(T0)
    first, second = RateLimiter(store, clock), RateLimiter(store, clock)
    limits = Limits(submissions_per_hour=3)
    first.admit_submission("c", "u", limits)
    second.admit_submission("c", "u", limits)
    first.admit_submission("c", "u", limits)  # its cached copy is stale: it re-reads
    for limiter in (first, second):
        with pytest.raises(RateLimited):
            limiter.admit_submission("c", "u", limits)


def test_a_changed_hourly_limit_keeps_the_submissions_already_made(limiter):
    limiter, clock = limiter
    for offset in (0, 10, 20):
        clock.t = T0 + offset
        limiter.admit_submission("c", "u", Limits(submissions_per_hour=5))
    clock.t = T0 + 30
    with pytest.raises(RateLimited) as err:
        limiter.admit_submission("c", "u", Limits(submissions_per_hour=3))
    assert err.value.retry_after == 3570
    limiter.admit_submission("c", "u", Limits(submissions_per_hour=4))
