"""The DynamoDB adapters hold the same contracts as the in-memory fakes the
domain tests use: conditional job transitions, slot claims, bounded counters,
the shared start schedule; the S3 one tags only what a lifecycle rule reads."""
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from chalicelib.aws import dynamodb_table
from chalicelib.jobs.model import Job, JobResult, JobStatus, StoredOutput
from chalicelib.jobs.pacing import Taken
from chalicelib.dynamo_stores import DynamoCounterStore, DynamoStartSchedule
from chalicelib.jobs.dynamodb import DynamoJobStore
from chalicelib.jobs.persistence import JobQuery
from chalicelib.limits import SubmissionWindow
from chalicelib.resources import resource_names
from chalicelib.storage import KINDS, THUMBNAIL_NAME, S3MediaStorage, kind_of
from chalicelib.store import AlreadyExists, StaleTransition
from tests.fakes import InMemoryCounterStore, InMemoryJobStore, InMemoryStartSchedule

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
        return DynamoCounterStore(dynamodb_table("vsl-media-local-counters"))
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


@pytest.mark.parametrize("user_id", [None, "u1"])
def test_jobs_created_in_the_same_millisecond_list_in_one_order_page_after_page(job_store,
                                                                                user_id):
    """Newest first; within one millisecond, by job id (descending): the same order on
    every read, and pages that neither repeat nor skip a job."""
    owner = f"same-ms-{uuid.uuid4().hex[:8]}"
    ids = sorted(str(uuid.uuid4()) for _ in range(5))
    for job_id in ids:  # created in ascending id order: the listing must not keep it
        job_store.create(replace(new_job(), job_id=job_id, owner_id=owner))
    earlier = replace(new_job(), owner_id=owner, created_at=T0.replace(hour=0))
    job_store.create(earlier)
    listed, start_after = [], None
    while True:
        page = job_store.list(JobQuery(owner, limit=2, user_id=user_id, start_after=start_after))
        listed += [job.job_id for job in page.jobs]
        if not page.next_position:
            break
        start_after = page.next_position
    assert listed == ids[::-1] + [earlier.job_id]
    # A time bound still compares with the sort key: the jobs of that millisecond are in.
    since = job_store.list(JobQuery(owner, limit=10, user_id=user_id, since=T0))
    assert [job.job_id for job in since.jobs] == ids[::-1]


def test_a_window_is_written_only_by_whoever_read_its_latest_version(counters):
    scope = f"test#{uuid.uuid4().hex}"
    empty = counters.read_window(scope)
    assert empty == SubmissionWindow()
    first = counters.write_window(scope, replace(empty, ring=[1.0, 0.0], version=1,
                                                 day="2030-01-01", day_count=1), 9999)
    assert first is not None and counters.read_window(scope) == first
    assert counters.write_window(scope, replace(empty, ring=[5.0, 0.0], version=1), 9999) is None
    second = counters.write_window(scope, replace(first, ring=[1.0, 2.5], version=2,
                                                  day_count=2), 9999)
    assert second is not None and counters.write_window(scope, first, 9999) is None
    assert counters.read_window(scope) == second


def test_counters_stop_before_passing_their_limit(counters):
    scope = f"test#{uuid.uuid4().hex}"
    assert [counters.add_below(scope, "minute", 2, 5, 9999) for _ in range(3)] == [2, 4, None]
    assert counters.add_below(scope, "minute", 1, 5, 9999) == 5
    assert counters.add_below(scope, "minute", 1, 5, 9999) is None


def test_progress_is_only_ever_raised_and_only_while_the_job_runs(job_store):
    job = new_job()
    job_store.create(job)
    assert job_store.raise_progress(job.job_id, 0.45) is True
    assert job_store.raise_progress(job.job_id, 0.3) is False       # a late, lower one
    assert job_store.raise_progress(job.job_id, 0.45) is False
    assert job_store.get(job.job_id).progress == 0.45
    job_store.update(job.job_id, {"status": JobStatus.FAILED}, [JobStatus.PENDING])
    assert job_store.raise_progress(job.job_id, 0.9) is False
    assert job_store.get(job.job_id).progress == 0.45
    assert job_store.raise_progress(str(uuid.uuid4()), 0.5) is False


def test_uploads_round_trip_and_are_forgotten_a_week_after_they_expire(aws_env):
    from datetime import timedelta
    from chalicelib.uploads.dynamodb import DynamoUploadStore, upload_to_item
    from chalicelib.uploads.model import Upload
    store = DynamoUploadStore(dynamodb_table("vsl-media-local-uploads"))
    upload = Upload("upl_" + uuid.uuid4().hex[:22], "acme", "alice", "image/png", 1234, T0,
                    T0 + timedelta(days=1))
    store.put(upload)
    assert store.get(upload.upload_id) == upload
    assert store.get("upl_" + "z" * 22) is None
    unbound = replace(upload, upload_id="upl_" + uuid.uuid4().hex[:22], user_id=None)
    store.put(unbound)
    assert store.get(unbound.upload_id).user_id is None
    assert upload_to_item(upload)["forgetAt"] == int((T0 + timedelta(days=8)).timestamp())


@pytest.fixture(params=["dynamodb", "in-memory"])
def start_schedules(request, aws_env):
    """Two starters' views of one schedule (two processes sharing the item)."""
    if request.param == "dynamodb":
        name = f"test-{uuid.uuid4().hex}"
        table = dynamodb_table("vsl-media-local-counters")
        return DynamoStartSchedule(table, name), DynamoStartSchedule(table, name)
    shared = InMemoryStartSchedule()
    return shared, shared


def test_starters_sharing_a_schedule_get_distinct_times_an_interval_apart(start_schedules):
    first, second = start_schedules
    assert first.take(1000.0, 0.5, 2000.0) == Taken(1000.0, 1000.5)
    # Many starters at once, from both processes: every one gets its own time.
    starts = []
    with ThreadPoolExecutor(8) as pool:
        for taken in pool.map(lambda i: (first, second)[i % 2].take(1000.0, 0.5, 2000.0),
                              range(40)):
            starts.append(taken.start)
    assert sorted(starts) == [1000.5 + 0.5 * i for i in range(40)]
    # Full up to the latest: refused, nothing taken, and the next free time said.
    assert second.take(1001.0, 0.5, 1010.0) == Taken(None, 1020.5)
    assert first.take(1001.0, 0.5, 1030.0) == Taken(1020.5, 1021.0)
    # Idle since: from the earliest asked, whatever either process last saw.
    assert second.take(5000.0, 0.5, 6000.0) == Taken(5000.0, 5000.5)
    assert first.take(5000.0, 0.5, 6000.0) == Taken(5000.5, 5001.0)
    # Not before a time beyond the latest: refused, nothing taken.
    assert first.take(7000.0, 0.5, 6500.0) == Taken(None, 7000.0)
    # Held by a throttle: nothing before the hold, and a hold never moves it back.
    first.hold(6000.0)
    second.hold(5500.0)
    assert second.take(5001.0, 0.5, 7000.0) == Taken(6000.0, 6000.5)


def test_jobs_written_before_the_listing_key_list_again_after_the_backfill(aws_env):
    from tools.backfill_created_order import backfill
    table = dynamodb_table("vsl-media-local-jobs")
    store = DynamoJobStore(table)
    owner = f"backfill-{uuid.uuid4().hex[:8]}"
    job = replace(new_job(), owner_id=owner)
    store.create(job)
    table.update_item(Key={"jobId": job.job_id}, UpdateExpression="REMOVE createdOrder")
    assert store.list(JobQuery(owner, limit=10)).jobs == []  # as a job written before it
    assert backfill(table) >= 1
    assert [j.job_id for j in store.list(JobQuery(owner, limit=10)).jobs] == [job.job_id]
    assert [j.job_id for j in store.list(JobQuery(owner, 10, user_id="u1")).jobs] == [job.job_id]
    assert backfill(table) == 0


@pytest.mark.parametrize("expiring", [KINDS, ("thumbnail",), ()],
                         ids=["every kind", "thumbnails", "none"])
def test_media_carries_its_kind_tag_only_when_a_rule_expires_that_kind(aws_env, tmp_path,
                                                                       expiring):
    """Stored and copied: tagged with its kind when the stage's rules expire it, else
    untagged; a copy does not carry over its source's tag (stored when every kind was)."""
    from chalicelib import aws
    s3 = aws.client("s3")
    bucket = resource_names("local").media_bucket
    storage = S3MediaStorage(bucket, lambda: s3, presign_expiry_s=3600, expiring_kinds=expiring)
    tagging_every_kind = S3MediaStorage(bucket, lambda: s3, presign_expiry_s=3600,
                                        expiring_kinds=KINDS)
    path = tmp_path / "media"
    path.write_bytes(b"media")
    stored, copied, tagged_source = (f"images/acme/u1/2030/01/01/{uuid.uuid4()}"
                                     for _ in range(3))
    names = ("original.png", "output-2.png", THUMBNAIL_NAME)
    for name in names:
        storage.upload(str(path), f"{stored}/{name}", "image/png", kind_of(name))
        tagging_every_kind.upload(str(path), f"{tagged_source}/{name}", "image/png",
                                  kind_of(name))
        storage.copy(f"{tagged_source}/{name}", f"{copied}/{name}")

    def tags(prefix: str) -> dict:
        return {name: s3.get_object_tagging(Bucket=bucket, Key=f"{prefix}/{name}")["TagSet"]
                for name in names}
    expected = {name: [{"Key": "kind", "Value": kind_of(name)}] if kind_of(name) in expiring
                else [] for name in names}
    assert tags(stored) == tags(copied) == expected
    assert s3.head_object(Bucket=bucket, Key=f"{copied}/original.png")["ContentType"] == \
        "image/png"


def test_open_jobs_are_those_active_or_unannounced_and_quiet_read_past_a_hundred(job_store):
    """The sweep's read: every open job quiet since the bound (more than one batch read's
    hundred), none updated after it, none closed. Dated in 2030, so the stack's own sweep
    never finds them quiet."""
    from datetime import timedelta
    quiet = [replace(new_job(), job_id=f"open-{uuid.uuid4()}") for _ in range(130)]
    for job in quiet:
        job_store.create(job)
    busy = replace(new_job(), updated_at=T0 + timedelta(minutes=5))
    closed = new_job()
    unannounced = new_job()
    for job in (busy, closed, unannounced):
        job_store.create(job)
    job_store.update(closed.job_id, {"status": JobStatus.FAILED, "notification_pending": None},
                     [JobStatus.PENDING])
    job_store.update(unannounced.job_id, {"status": JobStatus.FAILED,
                                          "notification_pending": True}, [JobStatus.PENDING])
    mine = {j.job_id for j in quiet} | {busy.job_id, closed.job_id, unannounced.job_id}
    try:
        found = {hit.job_id: hit for hit in job_store.open_jobs(T0 + timedelta(minutes=1))
                 if hit.job_id in mine}
        assert set(found) == {j.job_id for j in quiet} | {unannounced.job_id}
        hit = found[quiet[0].job_id]
        assert (hit.status, hit.updated_at, hit.estimated_time) == (JobStatus.PENDING, T0, 5)
        assert found[unannounced.job_id].status == JobStatus.FAILED
    finally:  # closed, so later sweeps of the shared table do not read them
        for job_id in mine - {closed.job_id}:
            job_store.update(job_id, {"status": JobStatus.FAILED, "notification_pending": None},
                             [JobStatus.PENDING, JobStatus.FAILED])


def test_a_listed_page_holds_whole_jobs_filtered_by_status_and_model(job_store):
    owner = f"filters-{uuid.uuid4().hex[:8]}"
    result = JobResult("images/acme/u1/x", [StoredOutput("images/acme/u1/x/original.png", 10,
                                                         "image/png", width=4)])
    done = replace(new_job(), owner_id=owner)
    other_model = replace(new_job(), owner_id=owner, model_id="sdxl")
    pending = replace(new_job(), owner_id=owner)
    for job in (done, other_model, pending):
        job_store.create(job)
    for job in (done, other_model):
        job_store.update(job.job_id, {"status": JobStatus.COMPLETED, "result": result,
                                      "notification_pending": None}, [JobStatus.PENDING])
    page = job_store.list(JobQuery(owner, 10, status=JobStatus.COMPLETED,
                                   model_id="flux-schnell"))
    assert page.jobs == [job_store.get(done.job_id)] and page.jobs[0].result == result
