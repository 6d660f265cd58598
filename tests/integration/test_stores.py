"""The DynamoDB adapters hold the same contracts as the in-memory fakes the
domain tests use: conditional job transitions, slot claims, bounded counters."""
import uuid
from datetime import datetime, timezone

import pytest

from chalicelib.aws import dynamodb_table
from chalicelib.jobs.model import Job, JobResult, JobStatus, StoredOutput
from chalicelib.store import AlreadyExists, CounterStore, DynamoJobStore, StaleTransition
from tests.fakes import InMemoryCounterStore, InMemoryJobStore

pytestmark = pytest.mark.integration
T0 = datetime(2030, 1, 1, 1, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["dynamodb", "in-memory"])
def job_store(request, aws_env):
    if request.param == "dynamodb":
        return DynamoJobStore(dynamodb_table("vsl-media-local-jobs"))
    return InMemoryJobStore()


@pytest.fixture(params=["dynamodb", "in-memory"])
def counters(request, aws_env):
    if request.param == "dynamodb":
        return CounterStore(dynamodb_table("vsl-media-local-counters"))
    return InMemoryCounterStore()


def new_job() -> Job:
    return Job(job_id=str(uuid.uuid4()), owner_id="acme", user_id="u1", media_type="image",
               model_id="flux-schnell", parameters={"prompt": "p", "guidance": 7.5},
               status=JobStatus.PENDING, created_at=T0, updated_at=T0, estimated_time=5,
               estimated_cost=0.003)


def test_jobs_round_trip_and_move_only_from_allowed_statuses(job_store):
    job = new_job()
    job_store.create(job)
    with pytest.raises(AlreadyExists):
        job_store.create(job)
    assert job_store.get(job.job_id) == job
    result = JobResult("images/acme/u1/x", [StoredOutput("images/acme/u1/x/original.png", 10,
                                                         "image/png", width=4, duration=1.5)])
    moved = job_store.update(job.job_id, {"status": JobStatus.PROCESSING, "result": result,
                                          "predict_time": 1.25}, [JobStatus.PENDING])
    assert moved.status == JobStatus.PROCESSING and moved.result == result
    assert job_store.get(job.job_id) == moved
    with pytest.raises(StaleTransition):
        job_store.update(job.job_id, {"status": JobStatus.PROCESSING}, [JobStatus.PENDING])
    with pytest.raises(StaleTransition):
        job_store.update(str(uuid.uuid4()), {"error": "x"}, [JobStatus.PENDING])
    cleared = job_store.update(job.job_id, {"predict_time": None}, [JobStatus.PROCESSING])
    assert cleared.predict_time is None


def test_slots_are_claimed_once_per_window_and_released_only_by_their_claimer(counters):
    scope = f"test#{uuid.uuid4().hex}"
    assert counters.claim(scope, "hour#00000", 100.0, 50.0, "a", 9999)
    assert not counters.claim(scope, "hour#00000", 101.0, 50.0, "b", 9999)
    counters.release(scope, "hour#00000", "b")  # not b's: nothing happens
    assert not counters.claim(scope, "hour#00000", 102.0, 50.0, "c", 9999)
    counters.release(scope, "hour#00000", "a")
    assert counters.claim(scope, "hour#00000", 103.0, 50.0, "c", 9999)
    assert counters.claim(scope, "hour#00000", 3704.0, 103.0, "d", 9999)  # an hour later
    assert [i["name"] for i in counters.query(scope, "hour#")] == ["hour#00000"]


def test_counters_stop_at_their_limit_and_count_down(counters):
    scope = f"test#{uuid.uuid4().hex}"
    assert [counters.increment_below(scope, "day", 2, 9999) for _ in range(3)] == [1, 2, None]
    counters.decrement(scope, "day")
    assert counters.increment_below(scope, "day", 2, 9999) == 2
