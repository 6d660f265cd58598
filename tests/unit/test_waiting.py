"""Prefer: wait on a submit: the header's rules (Replicate's, our 25 s limit) and
the waiter that reads the store until the job ends or time is up."""
import pytest

from chalicelib.errors import ValidationFailed
from chalicelib.jobs.model import JobStatus
from chalicelib.jobs.waiting import MAX_WAIT_S, JobWaiter, parse_prefer_wait
from tests.fakes import World


@pytest.mark.parametrize("header,seconds", [
    (None, None), ("", None), ("return=minimal", None), ("respond-async", None),
    ("wait", MAX_WAIT_S), ("wait=10", 10), ("wait=1", 1), ("wait=25", 25), ("Wait=7", 7),
    ("respond-async, wait=5", 5), ("wait=5; foo=bar", 5), (' wait = "12" ', 12),
])
def test_the_wait_a_prefer_header_asks_for(header, seconds):
    assert parse_prefer_wait(header) == seconds


@pytest.mark.parametrize("header", ["wait=26", "wait=60", "wait=0", "wait=05", "wait=-1",
                                    "wait=1.5", "wait=abc", "wait=100000000000000000000"])
def test_a_wait_that_is_not_1_to_25_whole_seconds_is_refused(header):
    with pytest.raises(ValidationFailed) as refused:
        parse_prefer_wait(header)
    assert refused.value.code == "INVALID_VALUE" and "Prefer" in refused.value.details


class Timeline:
    """A monotonic clock that sleeping moves, with things that happen at given times."""

    def __init__(self, events=()):
        self.now, self.events, self.sleeps = 0.0, sorted(events, key=lambda e: e[0]), []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        while self.events and self.events[0][0] <= self.now:
            self.events.pop(0)[1]()


class CountingStore:
    def __init__(self, jobs):
        self.jobs, self.reads = jobs, 0

    def get(self, job_id):
        self.reads += 1
        return self.jobs.get(job_id)


def test_the_wait_ends_as_soon_as_a_read_sees_the_job_ended():
    world = World()
    job = world.submit()
    timeline = Timeline([(1.2, lambda: world.complete(job))])
    store = CountingStore(world.jobs)
    ended = JobWaiter(store, timeline.sleep, lambda: timeline.now).wait(job.job_id, 10.0)
    assert ended.status == JobStatus.COMPLETED
    assert timeline.now < 1.2 + 0.5 and store.reads <= 8


def test_at_the_deadline_the_job_comes_back_as_it_is_and_reads_stay_few():
    world = World()
    job = world.submit()
    timeline = Timeline()
    store = CountingStore(world.jobs)
    seen = JobWaiter(store, timeline.sleep, lambda: timeline.now).wait(job.job_id, 25.0)
    assert seen.status == JobStatus.PENDING
    assert timeline.now == pytest.approx(25.0)
    assert max(timeline.sleeps) == 0.5 and timeline.sleeps[0] == 0.1
    assert store.reads <= 56


def test_a_job_that_ended_before_the_wait_costs_one_read():
    world = World()
    job = world.complete(world.submit())
    store = CountingStore(world.jobs)
    timeline = Timeline()
    assert JobWaiter(store, timeline.sleep, lambda: timeline.now).wait(job.job_id, 5.0) \
        .status == JobStatus.COMPLETED
    assert store.reads == 1 and timeline.sleeps == []
