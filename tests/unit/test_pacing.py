"""Starting predictions at Replicate's pace: the rule (chalicelib.jobs.pacing) as
pure functions, then the starters (submission, queued starts) on fakes, with a
pace slow enough to matter."""
import math
import random
from datetime import timedelta

import pytest

from chalicelib.errors import ServiceUnavailable
from chalicelib.jobs import pacing
from chalicelib.jobs.model import JobStatus
from chalicelib.jobs.pacing import Pace, StartsBacklogged, Taken
from chalicelib.jobs.views import accepted_view
from chalicelib.limits import Limits
from chalicelib.messages import StartMessage
from chalicelib.replicate import ReplicateUnavailable
from tests.fakes import CLIENT, IMAGE_BODY, T0, World

# ---- the rule ------------------------------------------------------------------------------


def test_an_idle_schedule_starts_now_and_moves_one_interval_on():
    assert pacing.take(None, 100.0, 2.0, 500.0) == Taken(100.0, 102.0)
    # Fallen behind (nobody started for a while): from now, not from the past.
    assert pacing.take(90.0, 100.0, 2.0, 500.0) == Taken(100.0, 102.0)


def test_a_busy_schedule_gives_each_starter_the_next_time_an_interval_apart():
    next_free, starts = None, []
    for _ in range(5):
        taken = pacing.take(next_free, 100.0, 2.0, 500.0)
        starts.append(taken.start)
        next_free = taken.next_free
    assert starts == [100.0, 102.0, 104.0, 106.0, 108.0]


def test_a_start_after_the_longest_wait_is_refused_and_takes_nothing():
    assert pacing.take(130.0, 100.0, 2.0, 129.0) == Taken(None, 130.0)
    assert pacing.take(129.0, 100.0, 2.0, 129.0) == Taken(129.0, 131.0)
    # Asked not to start before a time beyond the latest (a long Retry-After): refused too.
    assert pacing.take(None, 140.0, 2.0, 129.0) == Taken(None, 140.0)
    # Asked again once the backlog is inside the longest wait (30 s here), it is taken.
    assert pacing.retry_after_s(130.0, 100.0, 29.0) == 1
    assert pacing.retry_after_s(160.0, 100.0, 29.0) == 31


def test_a_hold_only_ever_moves_the_schedule_later():
    assert pacing.hold(None, 50.0) == 50.0
    assert pacing.hold(40.0, 50.0) == 50.0
    assert pacing.hold(60.0, 50.0) == 60.0


def test_a_start_due_within_the_tolerance_waits_zero_seconds():
    assert pacing.wait_s(T0, T0) == 0
    assert pacing.wait_s(T0 + timedelta(seconds=1), T0) == 0
    assert pacing.wait_s(T0 + timedelta(seconds=1.2), T0) == 2
    assert pacing.wait_s(T0 - timedelta(seconds=5), T0) == 0


@pytest.mark.parametrize("seed", range(5))
def test_no_minute_ever_holds_more_starts_than_the_pace_and_a_second(seed):
    """Starters arriving at random (bursts and lulls) all get times; whatever minute
    is looked at, it holds at most the pace plus a second's worth (the tolerance)."""
    rng, pace = random.Random(seed), Pace(creates_per_minute=57, max_wait_s=900)
    now, next_free, starts = 0.0, None, []
    for _ in range(400):
        now += rng.choice([0.0, 0.0, 0.01, 0.5, 3.0, 20.0])
        taken = pacing.take(next_free, now, pace.interval_s, now + pace.max_wait_s)
        assert taken.start is not None and taken.start >= now
        next_free = taken.next_free
        # What runs: a start due within the tolerance runs now.
        starts.append(now if taken.start - now <= pacing.START_TOLERANCE_S else taken.start)
    starts.sort()
    busiest = max(sum(1 for s in starts if t <= s < t + 60) for t in starts)
    assert busiest <= 57 + math.ceil(57 / 60)


# ---- the starters ---------------------------------------------------------------------------

def paced_world(per_minute: int = 60, max_wait_s: float = 900, **kwargs) -> World:
    world = World(pace=Pace(per_minute, max_wait_s), limits=Limits(submissions_per_hour=1000),
                  **kwargs)
    world.create_times = []
    create = world.replicate.create_prediction

    def timed_create(*args):
        prediction = create(*args)
        world.create_times.append((world.clock.now() - T0).total_seconds())
        return prediction
    world.replicate.create_prediction = timed_create
    return world


def submit(world: World):
    from chalicelib.validation import parse_generate_request
    from chalicelib.urls import UrlPolicy
    request = parse_generate_request(IMAGE_BODY, UrlPolicy(allow_private=True),
                                     webhook_policy=world.webhook_policy)
    return world.submission.submit(CLIENT, request, "https://api.example")


def test_a_burst_is_started_at_the_pace_with_each_wait_in_its_estimated_time():
    world = paced_world(per_minute=60)  # one start a second
    accepted = [submit(world) for _ in range(10)]
    views = [accepted_view(a.job) for a in accepted]
    # Due now (or within the second): started at once; the rest queued, each a second later.
    assert [v["replicateId"] is not None for v in views] == [True, True] + [False] * 8
    assert [v["estimatedTime"] for v in views] == [5, 5, 7, 8, 9, 10, 11, 12, 13, 14]
    assert views[9]["message"] == "Queued: Replicate's rate limit starts it in about 9 s"
    assert world.create_times == [0, 0]
    world.run_queue()
    assert world.create_times == [0, 0, 2, 3, 4, 5, 6, 7, 8, 9]
    assert all(world.job(a.job.job_id).replicate_id for a in accepted)


def test_a_backlog_beyond_the_longest_wait_refuses_the_submit_and_gives_it_back():
    world = paced_world(per_minute=60, max_wait_s=5)
    for _ in range(6):  # starts at 0, 1 (due now), then 2 .. 5 queued
        submit(world)
    with pytest.raises(StartsBacklogged) as refused:
        submit(world)  # its start would be at 6 s: more than 5 s ahead
    assert isinstance(refused.value, ServiceUnavailable) and refused.value.retry_after == 1
    assert len(world.jobs.items) == 6  # no job recorded for the refused one
    assert world.start_schedule.next_free == T0.timestamp() + 6  # and nothing taken
    quota = world.limiter.admit_submission(CLIENT.client_id, "user123", world.limits).quotas[0]
    assert quota.remaining == 1000 - 7  # 6 kept + this one: the refused one was given back
    world.clock.advance(1)
    assert accepted_view(submit(world).job)["estimatedTime"] == 5 + 5


def test_a_queued_start_that_never_runs_fails_two_minutes_after_its_start_time():
    world = paced_world(per_minute=1)  # a start a minute
    submit(world)
    queued = submit(world).job
    assert queued.start_at == T0 + timedelta(seconds=60)
    world.queue.messages.clear()  # the start message is lost
    world.queue.delays.clear()
    world.clock.advance(150)  # past two minutes from the submit, not from its start
    assert world.status(queued.job_id)["status"] == "pending"
    world.clock.advance(31)
    view = world.status(queued.job_id)
    assert view["status"] == "failed" and view["error"] == "The job could not be started."


def test_a_start_arriving_before_its_time_is_queued_again_for_the_rest():
    world = paced_world(per_minute=60)
    job = submit(world).job
    world.jobs.update(job.job_id, {"replicate_id": None}, [JobStatus.PENDING])
    # SQS delays stop at 15 minutes: a start 20 minutes away arrives 5 minutes early.
    start_at = T0 + timedelta(minutes=20)
    world.starter.start_queued(StartMessage(job.job_id, "https://api.example", 1, start_at))
    assert world.queue.delays == [1200] and world.create_times == [0]


def test_a_start_message_without_a_time_takes_one_when_it_arrives():
    world = paced_world(per_minute=60)
    submit(world)  # takes 0
    job = submit(world).job  # takes 1: due now
    world.jobs.update(job.job_id, {"replicate_id": None}, [JobStatus.PENDING])
    world.queue.messages.clear()
    world.queue.delays.clear()
    world.starter.start_queued(StartMessage(job.job_id, "https://api.example"))
    assert world.queue.delays == [2]  # the time it took: 2 s from now
    assert world.job(job.job_id).start_at == T0 + timedelta(seconds=2)
    world.run_queue()
    assert world.create_times == [0, 0, 2]


def test_a_throttled_submit_holds_back_every_start_for_replicates_retry_after():
    world = paced_world(per_minute=60)
    world.replicate.create_error = ReplicateUnavailable("429", status=429, retry_after=30)
    with pytest.raises(ServiceUnavailable):
        submit(world)
    later = accepted_view(submit(world).job)
    assert later["replicateId"] is None and later["estimatedTime"] == 5 + 30
    world.run_queue()
    assert world.create_times == [30]


def test_a_throttled_queued_start_takes_a_new_time_after_retry_after_and_moves_its_deadline():
    world = paced_world(per_minute=60)
    job = submit(world).job
    world.replicate.predictions.clear()
    world.jobs.update(job.job_id, {"replicate_id": None}, [JobStatus.PENDING])
    world.replicate.create_error = ReplicateUnavailable("429", status=429, retry_after=200)
    world.starter.start_queued(StartMessage(job.job_id, "https://api.example", 1, T0))
    assert world.job(job.job_id).start_at == T0 + timedelta(seconds=200)
    world.clock.advance(150)
    assert world.status(job.job_id)["status"] == "pending"  # not failed at its old deadline
    world.run_queue()
    assert world.create_times[-1] == 200 and world.job(job.job_id).replicate_id


def test_batch_items_take_their_times_in_order():
    world = paced_world(per_minute=30)  # a start every two seconds
    outcome = world.batch.submit(CLIENT, {"items": [IMAGE_BODY] * 4}, "https://api.example")
    assert [accepted_view(i.job)["estimatedTime"] for i in outcome.items] == [5, 7, 9, 11]
    assert world.queue.delays == [0, 2, 4, 6]
    world.run_queue()
    assert world.create_times == [0, 2, 4, 6]
