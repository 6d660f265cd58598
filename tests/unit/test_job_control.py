"""Cancel, list and Idempotency-Key on in-memory fakes."""
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.errors import (Forbidden, IdempotencyKeyInUse, IdempotencyKeyReused,
                               JobNotCancellable, JobNotFound, ValidationFailed)
from chalicelib.authorization import scope
from chalicelib.idempotency.guard import fingerprint
from chalicelib.idempotency.record import StoredResponse
from chalicelib.jobs.model import JobEvent, JobStatus
from chalicelib.keys import Caller
from tests.fakes import CLIENT, IMAGE_BODY, OTHER_CLIENT, World

CALLER = Caller("acme", "key-acme", key_hash="a" * 64)
OTHER_KEY = Caller("acme", "key-acme-2", key_hash="b" * 64)


# ---- cancel ------------------------------------------------------------------------------

def test_cancel_a_running_job_cancels_its_prediction_and_emits_one_event():
    world = World()
    job = world.submit()
    view = world.cancel(job.job_id, CLIENT)
    assert view["status"] == "cancelled" and view["error"] == "The job was cancelled by the client."
    assert world.replicate.cancelled == ["p1"]
    assert world.notifier.events == [(job.job_id, JobEvent.CANCELLED)]
    # Replicate's own canceled webhook then changes nothing.
    world.webhook(job)
    world.run_all()
    assert world.notifier.events == [(job.job_id, JobEvent.CANCELLED)]
    assert world.cancel(job.job_id, CLIENT)["status"] == "cancelled"  # repeatable


def test_cancel_a_job_still_waiting_for_its_prediction_cancels_it_on_arrival():
    world = World()
    world.replicate.lose_create_answer = True
    job = world.submit()
    world.cancel(job.job_id, CLIENT)
    assert world.replicate.cancelled == []  # nothing known to cancel yet
    world.webhook(job, world.replicate.set("p1", status="processing"))
    world.run_queue()
    assert world.replicate.cancelled == ["p1"]
    assert world.job(job.job_id).status == JobStatus.CANCELLED


@pytest.mark.parametrize("end", ["completed", "failed"])
def test_cancel_a_finished_job_is_409_with_its_status(end):
    world = World()
    job = world.submit()
    if end == "completed":
        world.complete(job)
    else:
        world.webhook(job, world.replicate.set("p1", status="failed"))
        world.run_all()
    with pytest.raises(JobNotCancellable) as err:
        world.cancel(job.job_id, CLIENT)
    assert err.value.extra == {"status": end}


def test_cancel_another_clients_job_is_404():
    world = World()
    job = world.submit()
    with pytest.raises(JobNotFound):
        world.cancel(job.job_id, OTHER_CLIENT)
    assert world.job(job.job_id).status == JobStatus.PENDING


@pytest.mark.parametrize("first", ["cancel", "complete"])
def test_a_cancel_racing_a_completion_ends_in_one_state_with_one_event(first):
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.succeed("p1", world.files))
    world.run_queue()  # result recorded and stored; the thumbnail would complete it
    if first == "cancel":
        world.cancel(job.job_id, CLIENT)
        world.run_storage_events()
        assert world.job(job.job_id).status == JobStatus.CANCELLED
    else:
        world.run_storage_events()
        with pytest.raises(JobNotCancellable):
            world.cancel(job.job_id, CLIENT)
        assert world.job(job.job_id).status == JobStatus.COMPLETED
    assert len(world.notifier.events) == 1


# ---- list -----------------------------------------------------------------------------------

def make_jobs(world, n=7):
    ids = []
    for i in range(n):
        body = dict(IMAGE_BODY, userId="alice" if i % 2 else "bob",
                    modelId="flux-schnell" if i % 3 else "sdxl")
        ids.append(world.submit(body, caller=CALLER).job_id)
        world.clock.advance(1)
    return ids


def pages(world, caller, **params):
    jobs, cursor, count = [], None, 0
    while True:
        query = {k: str(v) for k, v in params.items()}
        if cursor:
            query["cursor"] = cursor
        page = world.listing.list(caller, query)
        jobs += page["jobs"]
        count += 1
        cursor = page["nextCursor"]
        if not cursor:
            return jobs, count


def test_listing_is_newest_first_across_pages_of_the_asked_size():
    world = World()
    ids = make_jobs(world)
    jobs, count = pages(world, CALLER, limit=3)
    assert [j["jobId"] for j in jobs] == ids[::-1]
    assert count == 3
    assert world.listing.list(CALLER, {})["nextCursor"] is None  # default 20 fits all


@pytest.mark.parametrize("params,expected", [
    ({"userId": "alice"}, lambda j: j.user_id == "alice"),
    ({"modelId": "sdxl"}, lambda j: j.model_id == "sdxl"),
    ({"status": "cancelled"}, lambda j: j.status == JobStatus.CANCELLED),
    ({"since": "2030-01-01T01:00:03Z"}, lambda j: j.created_at.second >= 3),
])
def test_each_filter_across_pages(params, expected):
    world = World()
    ids = make_jobs(world)
    world.cancel(ids[2], CALLER)
    world.cancel(ids[5], CALLER)
    jobs, _ = pages(world, CALLER, limit=2, **params)
    wanted = [j for j in sorted(world.jobs.items.values(), key=lambda j: j.created_at,
                                reverse=True) if expected(j)]
    assert [j["jobId"] for j in jobs] == [j.job_id for j in wanted] and wanted


def test_a_key_bound_to_a_user_lists_only_that_user():
    world = World()
    make_jobs(world)
    alice = Caller("acme", "key-alice", user_id="alice", key_hash="c" * 64)
    jobs, _ = pages(world, alice)
    assert jobs and {j["userId"] for j in jobs} == {"alice"}
    with pytest.raises(Forbidden):
        world.listing.list(alice, {"userId": "bob"})


def test_another_clients_jobs_are_never_listed():
    world = World()
    make_jobs(world)
    assert world.listing.list(Caller("globex", "k", key_hash="d" * 64), {})["jobs"] == []


def test_a_foreign_tampered_or_refiltered_cursor_is_400():
    world = World()
    make_jobs(world)
    cursor = world.listing.list(CALLER, {"limit": "2"})["nextCursor"]
    assert world.listing.list(CALLER, {"limit": "2", "cursor": cursor})["jobs"]
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    for caller, params in ((OTHER_KEY, {"cursor": cursor}),
                           (CALLER, {"cursor": tampered}),
                           (CALLER, {"cursor": "not-a-cursor"}),
                           (CALLER, {"cursor": cursor, "userId": "alice"})):
        with pytest.raises(ValidationFailed) as err:
            world.listing.list(caller, params)
        assert err.value.code == "INVALID_VALUE" and "cursor" in err.value.details


@pytest.mark.parametrize("params,code", [
    ({"limit": "0"}, "OUT_OF_RANGE"), ({"limit": "101"}, "OUT_OF_RANGE"),
    ({"limit": "ten"}, "INVALID_TYPE"), ({"status": "done"}, "INVALID_VALUE"),
    ({"since": "yesterday"}, "INVALID_VALUE"), ({"since": "2030-01-01T00:00:00"}, "INVALID_VALUE"),
    # a number is not an ISO 8601 time, though pydantic would read it as Unix time
    ({"since": "0.5"}, "INVALID_VALUE"), ({"since": "1700000000"}, "INVALID_VALUE"),
    # past the last or before the first UTC time a date can hold (a 500 once)
    ({"since": "9999-12-31T23:59:59-14:00"}, "OUT_OF_RANGE"),
    ({"since": "0001-01-01T00:00:00+14:00"}, "OUT_OF_RANGE"),
    ({"colour": "red"}, "UNKNOWN_PARAMETER")])
def test_bad_list_parameters_are_400(params, code):
    with pytest.raises(ValidationFailed) as err:
        World().listing.list(CALLER, params)
    assert err.value.code == code


# ---- Idempotency-Key --------------------------------------------------------------------------

def submit_with_key(world, key, body=None, caller=CLIENT):
    body = body or IMAGE_BODY

    def execute():
        job = world.submit(body, caller)
        return StoredResponse(202, {"jobId": job.job_id}, {"X-RateLimit-Remaining": "99"})
    principal = scope(caller)
    return world.idempotency.run(principal, key,
                                 fingerprint(principal, "POST", "/generate-media", body), execute)


def test_a_retry_replays_the_first_response_without_a_new_job():
    world = World()
    first, replayed = submit_with_key(world, "k1")
    again, replayed_again = submit_with_key(world, "k1")
    assert (replayed, replayed_again) == (False, True)
    assert again == first and len(world.jobs.items) == 1 and len(world.replicate.created) == 1
    # Key order does not make another request.
    reordered = json.loads(json.dumps(IMAGE_BODY), object_pairs_hook=lambda p: dict(p[::-1]))
    assert submit_with_key(world, "k1", reordered)[1] is True


def test_keys_are_scoped_per_client():
    world = World()
    submit_with_key(world, "shared")
    assert submit_with_key(world, "shared", caller=OTHER_CLIENT)[1] is False
    assert len(world.jobs.items) == 2


def test_the_same_key_with_another_body_is_422():
    world = World()
    submit_with_key(world, "k1")
    with pytest.raises(IdempotencyKeyReused):
        submit_with_key(world, "k1", dict(IMAGE_BODY, userId="someone-else"))


def test_a_retry_while_the_first_is_in_flight_is_409_until_it_is_stale():
    world = World()
    inside = threading.Event()
    release = threading.Event()

    def slow():
        inside.set()
        release.wait(5)
        return StoredResponse(202, {"jobId": "j"}, {})
    fp = fingerprint("acme", "POST", "/generate-media", IMAGE_BODY)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(world.idempotency.run, "acme", "k1", fp, slow)
        inside.wait(5)
        with pytest.raises(IdempotencyKeyInUse) as err:
            world.idempotency.run("acme", "k1", fp, slow)
        assert err.value.retry_after == 1
        release.set()
        assert first.result()[1] is False
    assert world.idempotency.run("acme", "k1", fp, slow) == (StoredResponse(202, {"jobId": "j"},
                                                                            {}), True)


def test_a_request_that_died_in_flight_lets_a_later_retry_run():
    world = World()
    fp = fingerprint("acme", "POST", "/generate-media", IMAGE_BODY)
    from chalicelib.idempotency.record import IdempotencyRecord, RecordStatus
    now = world.clock.now()
    world.idempotency_store.records["acme#k1"] = IdempotencyRecord(
        "acme#k1", fp, RecordStatus.IN_PROGRESS, now, now.replace(year=2031))
    with pytest.raises(IdempotencyKeyInUse):
        submit_with_key(world, "k1")
    world.clock.advance(61)
    assert submit_with_key(world, "k1")[1] is False


def test_refusals_are_not_kept_so_a_corrected_retry_runs():
    world = World()
    from chalicelib.limits import Limits
    world = World(limits=Limits(submissions_per_hour=1))
    submit_with_key(world, "first")
    from chalicelib.errors import RateLimited
    with pytest.raises(RateLimited):
        submit_with_key(world, "k2")
    assert "acme#k2" not in world.idempotency_store.records
    world.clock.advance(3600)
    assert submit_with_key(world, "k2")[1] is False


def test_responses_expire_after_24_hours():
    world = World()
    submit_with_key(world, "k1")
    world.clock.advance(24 * 3600 + 1)
    assert submit_with_key(world, "k1")[1] is False
    assert len(world.jobs.items) == 2


@pytest.mark.parametrize("key", ["", " ", "a b", "x" * 256, "é", "tab\there"])
def test_invalid_keys_are_400(key):
    with pytest.raises(ValidationFailed):
        submit_with_key(World(), key)


def test_twenty_concurrent_submits_with_one_key_make_one_job():
    world = World()
    barrier = threading.Barrier(20)

    def attempt(_):
        barrier.wait(5)
        try:
            return submit_with_key(world, "race")
        except IdempotencyKeyInUse as e:
            return e
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(attempt, range(20)))
    assert len(world.jobs.items) == 1 and len(world.replicate.created) == 1
    assert sum(1 for r in results if isinstance(r, tuple) and r[1] is False) == 1


def test_api_keys_are_cached_and_a_revocation_takes_effect_within_the_bound():
    from chalicelib.errors import Unauthorized
    from chalicelib.keys import ApiKeys
    from tests.fakes import FakeClock

    class Store:
        def __init__(self):
            self.records, self.reads = {}, 0

        def put(self, record):
            self.records[record["keyHash"]] = record

        def get(self, key_hash):
            self.reads += 1
            return self.records.get(key_hash)
    store, clock = Store(), FakeClock()
    keys = ApiKeys(store, clock, cache_s=60)
    key, record = keys.create("acme")
    for _ in range(5):
        keys.authenticate(key)
    assert store.reads == 1
    store.records[record["keyHash"]] = dict(record, revokedAt="2030-01-01T01:00:00Z")
    clock.advance(59)
    keys.authenticate(key)  # still within the bound
    clock.advance(2)
    with pytest.raises(Unauthorized, match="revoked"):
        keys.authenticate(key)
    with pytest.raises(Unauthorized):
        keys.authenticate("vsl_unknown")
