"""The limiter's windows, driven by a controllable clock, on the real emulator."""
import uuid
from datetime import datetime, timezone

import pytest

from chalicelib.errors import RateLimited
from chalicelib.limits import Limits, RateLimiter
from chalicelib.store import CounterStore

pytestmark = pytest.mark.integration

T0 = datetime(2030, 1, 1, 1, 0, tzinfo=timezone.utc).timestamp()  # 01:00 UTC


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limiter(aws_env):
    clock = Clock(T0)
    return RateLimiter(CounterStore("vsl-media-local-counters"), clock=clock), clock


def client_id():
    return f"client-{uuid.uuid4().hex[:8]}"


def test_rolling_hour_frees_each_slot_exactly_an_hour_after_its_use(limiter):
    limiter, clock = limiter
    limits, client = Limits(submissions_per_hour=3), client_id()
    for offset in (0, 10, 20):
        clock.now = T0 + offset
        limiter.admit_submission(client, "u", limits)
    clock.now = T0 + 30
    with pytest.raises(RateLimited) as err:
        limiter.admit_submission(client, "u", limits)
    assert err.value.extra["retryAfter"] == 3570
    assert err.value.headers["Retry-After"] == "3570"
    assert err.value.headers["X-RateLimit-Reset"] == str(int(T0 + 3600))
    assert err.value.headers["X-RateLimit-Remaining"] == "0"
    clock.now = T0 + 3599.5
    with pytest.raises(RateLimited):
        limiter.admit_submission(client, "u", limits)
    clock.now = T0 + 3600
    admitted = limiter.admit_submission(client, "u", limits)
    assert admitted.headers()["X-RateLimit-Remaining"] == "0"
    clock.now = T0 + 3601
    with pytest.raises(RateLimited) as err:
        limiter.admit_submission(client, "u", limits)
    assert err.value.extra["retryAfter"] == 9  # the use at T0+10 frees at T0+3610


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
    clock.now = T0 + 3700
    first = limiter.admit_submission(client, "u", limits)
    headers = first.headers()
    # Daily has 1 left, hourly 4: the daily limit binds first.
    assert headers["X-RateLimit-Limit"] == "7" and headers["X-RateLimit-Remaining"] == "1"
    assert 'r=1' in headers["RateLimit"] and '"daily"' in headers["RateLimit"]
    assert headers["RateLimit-Policy"] == '"hourly";q=5;w=3600, "daily";q=7;w=86400'
    limiter.admit_submission(client, "u", limits)
    with pytest.raises(RateLimited) as err:
        limiter.admit_submission(client, "u", limits)
    midnight = datetime(2030, 1, 2, tzinfo=timezone.utc).timestamp()
    assert err.value.headers["X-RateLimit-Reset"] == str(int(midnight))
    assert int(err.value.headers["Retry-After"]) == midnight - clock.now
    # The refused day gave its hour slot back: the hourly window still has room.
    clock.now = T0 + 7300
    with pytest.raises(RateLimited) as err:
        limiter.admit_submission(client, "u", limits)
    assert '"daily"' in err.value.headers["RateLimit"]
    clock.now = midnight + 1
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
    clock.now = T0 + 5
    for _ in range(3):
        limiter.admit_status_poll(key, limits)
    with pytest.raises(RateLimited) as err:
        limiter.admit_status_poll(key, limits)
    assert err.value.extra["retryAfter"] == 55
    clock.now = T0 + 60
    limiter.admit_status_poll(key, limits)
