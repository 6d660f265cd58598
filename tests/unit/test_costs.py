"""Reuse of identical results, batch submission and usage, on fakes."""
import json

import pytest

from chalicelib.errors import Forbidden, RateLimited, ValidationFailed
from chalicelib.jobs.model import JobEvent, JobStatus
from chalicelib.keys import Caller
from chalicelib.limits import Limits
from chalicelib.replicate import ReplicateUnavailable
from tests.fakes import CLIENT, IMAGE_BODY, OTHER_CLIENT, T0, World

CACHED = dict(IMAGE_BODY, cache=True)


def test_a_completed_identical_job_is_reused_at_no_cost_and_without_replicate():
    world = World()
    original = world.complete(world.submit())
    reused = world.submit(dict(CACHED, parameters={"prompt": IMAGE_BODY["parameters"]["prompt"],
                                                    "width": 1024, "num_outputs": 1}))
    assert reused.status == JobStatus.COMPLETED and reused.cached
    assert reused.estimated_cost == 0 and reused.replicate_id is None
    assert len(world.replicate.created) == 1
    view = world.status(reused.job_id)
    assert view["cached"] is True and view["result"]["fileSize"] == original.result.original.file_size
    # Its own copy of the media: as long-lived as its own would be.
    assert reused.result.original.key.startswith(f"images/acme/user123/2030/01/01/{reused.job_id}/")
    assert world.storage.objects[reused.result.original.key][0] == \
        world.storage.objects[original.result.original.key][0]
    assert reused.thumbnail_key in world.storage.objects
    assert (reused.job_id, JobEvent.COMPLETED) in world.notifier.events


@pytest.mark.parametrize("different", [
    {"caller": OTHER_CLIENT}, {"body": dict(CACHED, parameters={"prompt": "another"})},
    {"body": dict(CACHED, parameters={"prompt": IMAGE_BODY["parameters"]["prompt"], "width": 512})},
    {"body": dict(IMAGE_BODY)}])  # no "cache": true
def test_only_identical_requests_that_ask_are_reused(different):
    world = World()
    world.complete(world.submit())
    job = world.submit(different.get("body", CACHED), caller=different.get("caller", CLIENT))
    assert not job.cached and len(world.replicate.created) == 2


def test_reuse_window_and_failed_or_cancelled_jobs_are_never_reused():
    world = World()
    failed = world.submit()
    world.webhook(failed, world.replicate.set("p1", status="failed"))
    world.run_all()
    cancelled = world.submit()
    world.cancel(cancelled.job_id)
    assert not world.submit(CACHED).cached
    world2 = World()
    world2.complete(world2.submit())
    world2.clock.advance(7 * 86400 + 1)
    assert not world2.submit(CACHED).cached


def test_a_follower_completes_with_the_running_original_and_costs_nothing():
    world = World()
    original = world.submit()
    follower = world.submit(CACHED)
    assert follower.cached and follower.status == JobStatus.PENDING and follower.follows == original.job_id
    assert len(world.replicate.created) == 1
    world.complete(original)
    world.run_notifications()
    done = world.job(follower.job_id)
    assert done.status == JobStatus.COMPLETED and done.estimated_cost == 0
    assert done.result.original.file_size == world.job(original.job_id).result.original.file_size


def test_a_follower_fails_with_its_original():
    world = World()
    original = world.submit()
    follower = world.submit(CACHED)
    world.webhook(original, world.replicate.set("p1", status="failed", error="NSFW"))
    world.run_all()
    world.run_notifications()
    failed = world.job(follower.job_id)
    assert failed.status == JobStatus.FAILED and "did not complete: NSFW" in failed.error


def test_a_follower_lives_as_long_as_its_original_past_the_start_deadline():
    """A follower has no prediction of its own: the start deadline (2 minutes) is not
    its business. Polled, and swept, while the original runs for 151 s, it waits."""
    world = World()
    original = world.submit()
    follower = world.submit(CACHED)
    world.webhook(original, world.replicate.set("p1", status="processing"))
    world.run_all()
    for _ in range(5):
        world.clock.advance(30)
        assert world.status(follower.job_id)["status"] == "pending"
        world.sweeper.sweep()
    world.clock.advance(1)
    world.complete(original)
    world.run_notifications()
    done = world.job(follower.job_id)
    assert done.status == JobStatus.COMPLETED and done.error is None


def test_a_follower_whose_originals_end_was_never_announced_ends_when_seen():
    world = World()
    original = world.submit()
    follower = world.submit(CACHED)
    world.webhook(original, world.replicate.set("p1", status="failed", error="NSFW"))
    world.run_all()
    world.notifications.messages.clear()  # the original's event is lost
    world.notifications.delays.clear()
    world.clock.advance(31)
    assert world.status(follower.job_id)["status"] == "failed"
    assert "did not complete: NSFW" in world.job(follower.job_id).error


def test_a_reused_request_still_counts_against_the_limits():
    world = World(limits=Limits(submissions_per_hour=2))
    world.complete(world.submit())
    world.submit(CACHED)
    with pytest.raises(RateLimited):
        world.submit(CACHED)


# ---- batch -------------------------------------------------------------------------------

def test_a_batch_admits_each_item_on_its_own_and_starts_them_from_the_queue():
    world = World()
    items = [IMAGE_BODY, dict(IMAGE_BODY, modelId="dall-e"), "not an object",
             dict(IMAGE_BODY, parameters={"prompt": "x", "width": 1}), IMAGE_BODY]
    outcome = world.batch.submit(CLIENT, {"items": items}, "https://api.example")
    kinds = [type(i).__name__ for i in outcome.items]
    assert kinds == ["Accepted", "UnknownModel", "ValidationFailed", "ValidationFailed", "Accepted"]
    accepted = [i.job for i in outcome.items if type(i).__name__ == "Accepted"]
    assert all(j.replicate_id is None for j in accepted) and not world.replicate.created
    world.run_queue()
    assert len(world.replicate.created) == 2
    assert all(world.job(j.job_id).replicate_id for j in accepted)
    assert [q.remaining for q in outcome.quotas] == [98, 998]


def test_a_batch_crossing_the_hourly_limit_gives_the_rest_429s():
    world = World(limits=Limits(submissions_per_hour=3))
    outcome = world.batch.submit(CLIENT, {"items": [IMAGE_BODY] * 5}, "https://api.example")
    assert [type(i).__name__ for i in outcome.items] == ["Accepted"] * 3 + ["RateLimited"] * 2
    assert outcome.items[-1].retry_after == 3600
    assert outcome.quotas[0].remaining == 0


def test_queued_starts_honour_throttling_then_fail_clearly():
    world = World()
    outcome = world.batch.submit(CLIENT, {"items": [IMAGE_BODY]}, "https://api.example")
    job = outcome.items[0].job
    world.replicate.create_error = ReplicateUnavailable("429", status=429, retry_after=7)
    world.run_queue()  # throttled, then started again after Replicate's 7 s
    t0 = T0.timestamp()
    assert world.start_schedule.taken == [t0, t0 + 7]
    assert world.job(job.job_id).replicate_id == "p1"

    other = world.batch.submit(CLIENT, {"items": [IMAGE_BODY]}, "https://api.example").items[0].job

    def always_throttled(*args):
        raise ReplicateUnavailable("429", status=429, retry_after=1)
    world.replicate.create_prediction = always_throttled
    world.run_queue()
    failed = world.job(other.job_id)
    assert failed.status == JobStatus.FAILED and "kept throttling after 10 attempts" in failed.error


MUSIC = {"userId": "user123", "mediaType": "audio", "modelId": "musicgen",
         "parameters": {"prompt": "drums"}}


@pytest.mark.parametrize("parameter,value", [("top_p", 1e-200), ("temperature", 1e-320),
                                             ("top_p", 5e-324)])
def test_a_batch_with_an_unstorable_number_creates_only_its_valid_items(parameter, value):
    """The number is in the model's range, but no record could keep it: it is refused
    with the other invalid items, before any job is made (it was a 500 after the
    first item's job had been created and started)."""
    world = World()
    bad = dict(MUSIC, parameters={"prompt": "drums", parameter: value})
    outcome = world.batch.submit(CLIENT, {"items": [IMAGE_BODY, bad]}, "https://api.example")
    assert type(outcome.items[0]).__name__ == "Accepted"
    assert isinstance(outcome.items[1], ValidationFailed)
    assert outcome.items[1].code == "OUT_OF_RANGE" and parameter in outcome.items[1].details
    assert list(world.jobs.items) == [outcome.items[0].job.job_id]


def test_a_failure_after_the_first_job_is_made_ends_in_its_item_not_the_batch():
    world = World()
    world.jobs.fail_creates[2] = RuntimeError("the store broke (fake)")
    outcome = world.batch.submit(CLIENT, {"items": [IMAGE_BODY] * 3}, "https://api.example")
    kinds = [type(i).__name__ for i in outcome.items]
    assert kinds == ["Accepted", "RuntimeError", "Accepted"] and len(world.jobs.items) == 2


def test_a_failure_before_any_job_is_made_fails_the_batch():
    world = World()
    world.jobs.fail_creates[1] = RuntimeError("the store broke (fake)")
    with pytest.raises(RuntimeError):
        world.batch.submit(CLIENT, {"items": [IMAGE_BODY] * 2}, "https://api.example")
    assert world.jobs.items == {}


@pytest.fixture
def batch_route(monkeypatch):
    """POST /generate-media/batch in process, its services on fakes."""
    from types import SimpleNamespace

    from chalice.test import Client

    import app
    world = World()
    monkeypatch.setattr(app.wiring, "services", lambda: SimpleNamespace(
        batch=world.batch, idempotency=world.idempotency))
    monkeypatch.setattr(app.wiring, "api_keys", lambda: SimpleNamespace(
        authenticate=lambda key: CLIENT))
    monkeypatch.setattr(app, "_public_base_url", lambda: "https://api.example")
    with Client(app.app) as client:
        def post(items, key="batch-1"):
            return client.http.post("/generate-media/batch", body=json.dumps({"items": items}),
                                    headers={"Content-Type": "application/json",
                                             "X-API-Key": "k", "Idempotency-Key": key})
        yield world, post


def test_the_batch_answer_names_every_job_made_and_is_replayed_not_run_again(batch_route):
    world, post = batch_route
    world.jobs.fail_creates[2] = RuntimeError("the store broke (fake)")
    first = post([IMAGE_BODY] * 3)
    assert first.status_code == 200, first.body
    results = json.loads(first.body)["results"]
    assert [r["httpStatus"] for r in results] == [202, 500, 202]
    assert results[1]["error"]["code"] == "INTERNAL_ERROR"
    assert {r["job"]["jobId"] for r in results if "job" in r} == set(world.jobs.items)
    again = post([IMAGE_BODY] * 3)  # the SDKs' retry: the same answer, no new job
    assert again.status_code == 200 and json.loads(again.body) == json.loads(first.body)
    assert again.headers["Idempotent-Replayed"] == "true" and len(world.jobs.items) == 2


@pytest.mark.parametrize("body,code", [({}, "MISSING_PARAMETER"), ({"items": {}}, "INVALID_TYPE"),
                                       ({"items": []}, "OUT_OF_RANGE"),
                                       ({"items": [IMAGE_BODY] * 51}, "OUT_OF_RANGE"),
                                       ({"items": [IMAGE_BODY], "x": 1}, "UNKNOWN_PARAMETER")])
def test_bad_batches_are_400(body, code):
    with pytest.raises(ValidationFailed) as err:
        World().batch.submit(CLIENT, body, "https://api.example")
    assert err.value.code == code


# ---- usage -------------------------------------------------------------------------------

def test_usage_adds_up_the_jobs_by_model_and_day():
    world = World()
    world.complete(world.submit())                                           # 0.003, 1.5 s
    world.complete(world.submit(dict(IMAGE_BODY, parameters={"prompt": "b", "num_outputs": 2})))
    failed = world.submit(dict(IMAGE_BODY, modelId="sdxl"))
    world.webhook(failed, world.replicate.set(failed.replicate_id, status="failed"))
    world.run_all()
    world.clock.advance(86400)
    world.submit(CACHED)                                                     # reused: 0
    world.cancel(world.submit(dict(IMAGE_BODY, userId="bob")).job_id)
    report = world.usage.report(CLIENT, {"from": "2030-01-01", "to": "2030-01-31"})
    assert report["totals"] == {"jobs": 5, "completed": 3, "failed": 1, "cancelled": 1,
                                "cached": 1, "cost": 0.009, "predictTime": 3.0}
    assert report["byModel"]["sdxl"]["failed"] == 1
    assert [d["date"] for d in report["byDay"]] == ["2030-01-01", "2030-01-02"]
    assert world.usage.report(CLIENT, {"userId": "bob", "from": "2030-01-01"})["totals"]["jobs"] == 1
    assert world.usage.report(OTHER_CLIENT, {"from": "2030-01-01"})["totals"]["jobs"] == 0
    bound = Caller("acme", "k", user_id="bob")
    assert world.usage.report(bound, {"from": "2030-01-01"})["totals"]["cancelled"] == 1
    with pytest.raises(Forbidden):
        world.usage.report(bound, {"userId": "user123"})


@pytest.mark.parametrize("params,code", [({"from": "yesterday"}, "INVALID_VALUE"),
                                         ({"from": "2030-02-01", "to": "2030-01-01"}, "OUT_OF_RANGE"),
                                         ({"colour": "red"}, "UNKNOWN_PARAMETER"),
                                         # the day after "to" does not exist (a 500 once)
                                         ({"from": "9999-12-31", "to": "9999-12-31"},
                                          "OUT_OF_RANGE")])
def test_bad_usage_parameters_are_400(params, code):
    with pytest.raises(ValidationFailed) as err:
        World().usage.report(CLIENT, params)
    assert err.value.code == code


def test_usage_defaults_to_the_current_month():
    report = World().usage.report(CLIENT, {})
    assert (report["from"], report["to"]) == ("2030-01-01", "2030-01-01")
