"""The job lifecycle on in-memory fakes: every state, every event order,
duplicates, late and lost events, crashes between steps. No server, no network."""
import itertools
import re
from datetime import timedelta

import pytest

from chalicelib.errors import (Forbidden, JobNotFound, RateLimited, ReplicateRefused,
                               ServiceUnavailable)
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.jobs.prediction_events import MODEL_FAILED
from chalicelib.jobs.model import (ACTIVE, TERMINAL, TRANSITIONS, JobEvent, JobStatus,
                                   Prediction, sources_of)
from chalicelib.keys import Caller
from chalicelib.messages import PredictionMessage
from chalicelib.limits import Limits
from chalicelib.replicate import ReplicateUnavailable
from chalicelib.store import StaleTransition
from chalicelib.outbound import FetchFailed
from tests.fakes import IMAGE_BODY, MAX_ATTEMPTS, OTHER_CLIENT, World, png_bytes

ALL = list(JobStatus)


# ---- the transition table -------------------------------------------------------

def test_terminal_states_have_no_way_out_and_nothing_goes_back_to_pending():
    for status in TERMINAL:
        assert TRANSITIONS[status] == frozenset()
    assert sources_of(JobStatus.PENDING) == frozenset()
    assert sources_of(JobStatus.COMPLETED) == {JobStatus.PROCESSING}


@pytest.mark.parametrize("start,target", list(itertools.product(ALL, ALL)))
def test_every_pair_of_states_follows_the_table(start, target):
    world = World()
    job = world.submit()
    world.jobs.items[job.job_id] = job.with_changes(status=start)
    allowed = target in TRANSITIONS[start]
    if target in TERMINAL:
        ended = world.lifecycle.finish(job.job_id, target)
        assert (ended is not None) == allowed
        assert world.notifier.events == ([(job.job_id, ended and
                                           {JobStatus.COMPLETED: JobEvent.COMPLETED,
                                            JobStatus.FAILED: JobEvent.FAILED,
                                            JobStatus.CANCELLED: JobEvent.CANCELLED}[target])]
                                         if allowed else [])
    elif allowed:
        assert world.lifecycle.move(job.job_id, target).status == target
    else:
        with pytest.raises((StaleTransition, ValueError)):
            world.lifecycle.move(job.job_id, target)
        assert world.job(job.job_id).status == start


def test_finish_refuses_a_non_terminal_status_and_move_a_terminal_one():
    world = World()
    job = world.submit()
    with pytest.raises(ValueError):
        world.lifecycle.finish(job.job_id, JobStatus.PROCESSING)
    with pytest.raises(ValueError):
        world.lifecycle.move(job.job_id, JobStatus.COMPLETED)


# ---- the happy path ------------------------------------------------------------

def test_a_job_goes_pending_processing_completed_with_its_result_and_one_event():
    world = World()
    job = world.submit()
    assert job.status == JobStatus.PENDING and job.replicate_id == "p1"
    assert world.status(job.job_id)["status"] == "pending"
    world.webhook(job, world.replicate.set("p1", status="processing"))
    world.run_queue()
    assert world.status(job.job_id)["status"] == "processing"
    world.clock.advance(7)
    done = world.complete(job)
    assert done.status == JobStatus.COMPLETED
    view = world.status(job.job_id)
    assert view["result"]["originalUrl"].endswith("/original.png?X-Amz-Expires=3600")
    assert view["result"]["thumbnailUrl"].endswith("/thumbnail.jpg?X-Amz-Expires=3600")
    assert view["result"]["width"] == 64 and view["result"]["fileSize"] == len(png_bytes())
    assert view["processingTime"] == 7 and view["completedAt"]
    assert "error" not in view
    assert world.notifier.events == [(job.job_id, JobEvent.COMPLETED)]
    assert done.predict_time == 1.5
    stored = sorted(world.storage.objects)
    assert stored[0].startswith(f"images/acme/user123/2030/01/01/{job.job_id}/")
    assert [k.rsplit("/", 1)[1] for k in stored] == ["original.png", "thumbnail.jpg"]


def test_several_outputs_are_all_stored_and_listed():
    world = World()
    job = world.submit(dict(IMAGE_BODY, parameters={"prompt": "x", "num_outputs": 3}))
    world.webhook(job, world.replicate.succeed("p1", world.files, count=3))
    world.run_all()
    view = world.status(job.job_id)
    assert view["status"] == "completed"
    assert [o["url"].split("?")[0].rsplit("/", 1)[1] for o in view["result"]["outputs"]] == \
        ["original.png", "output-2.png", "output-3.png"]


# ---- every event order, duplicates, late events ------------------------------------

ORDERS = list(itertools.permutations(["start", "succeeded", "original-stored"]))


@pytest.mark.parametrize("order", ORDERS)
def test_start_success_and_storage_event_in_any_order_complete_the_job_once(order):
    world = World()
    job = world.submit()
    start = world.replicate.set("p1", status="processing")
    success = world.replicate.succeed("p1", world.files)
    for step in order:
        if step == "start":
            world.webhook(job, start)
            world.run_queue()
        elif step == "succeeded":
            world.webhook(job, success)
            world.run_queue()
        else:
            world.run_storage_events()
    world.run_all()
    assert world.job(job.job_id).status == JobStatus.COMPLETED
    assert world.notifier.events == [(job.job_id, JobEvent.COMPLETED)]


@pytest.mark.parametrize("end", ["failed", "canceled"])
@pytest.mark.parametrize("late", ["starting", "processing", "succeeded", "failed", "canceled"])
def test_a_late_event_after_the_end_changes_nothing(end, late):
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.set("p1", status=end, error="NSFW content detected"))
    world.run_queue()
    before = world.job(job.job_id)
    assert before.status == (JobStatus.FAILED if end == "failed" else JobStatus.CANCELLED)
    if late == "succeeded":
        late_prediction = world.replicate.succeed("p1", world.files)
    else:
        late_prediction = Prediction(id="p1", status=late, error="late")
    world.webhook(job, late_prediction)
    assert world.run_queue() == 1  # handled, not left for a retry
    world.run_storage_events()
    assert world.job(job.job_id) == before
    assert len(world.notifier.events) == 1
    assert not world.storage.objects


def test_failure_keeps_replicates_message_and_cancellation_says_so():
    world = World()
    failed, cancelled = world.submit(), world.submit()
    world.webhook(failed, world.replicate.set("p1", status="failed",
                                              error="NSFW content detected"))
    world.webhook(cancelled, world.replicate.set("p2", status="canceled"))
    world.run_queue()
    assert world.status(failed.job_id)["error"] == "NSFW content detected"
    view = world.status(cancelled.job_id)
    assert view["status"] == "cancelled" and view["error"] == "The job was cancelled."
    assert sorted(e for _, e in world.notifier.events) == [JobEvent.CANCELLED, JobEvent.FAILED]


@pytest.mark.parametrize("raw, shown", [
    # What reached a client once, when an example's input image pointed at a closed port.
    ("ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=5060): Max retries exceeded "
     "with url: /samples/input.jpg (Caused by NewConnectionError('<urllib3.connection."
     "HTTPConnection object at 0x7f2c>: Failed to establish a new connection'))", MODEL_FAILED),
    ("could not download https://example.com/input.jpg", MODEL_FAILED),
    ("Traceback (most recent call last):\n  File \"predict.py\", line 3", MODEL_FAILED),
    ("RuntimeError: CUDA out of memory\nmore lines", "CUDA out of memory"),
    ("", "The prediction failed."),
])
def test_a_models_error_reaches_the_client_without_addresses_or_exception_text(raw, shown):
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.set("p1", status="failed", error=raw))
    world.run_queue()
    error = world.status(job.job_id)["error"]
    assert error == shown
    assert not re.search(r"://|127\.0\.0\.1|5060|Error\b", error)


def test_duplicate_success_events_complete_the_job_once_and_copy_once():
    world = World()
    job = world.submit()
    success = world.replicate.succeed("p1", world.files)
    for _ in range(3):
        world.webhook(job, success)
    world.run_all()
    assert world.job(job.job_id).status == JobStatus.COMPLETED
    assert world.notifier.events == [(job.job_id, JobEvent.COMPLETED)]
    world.webhook(job, success)
    world.run_all()
    assert world.files.calls == 1
    assert len(world.notifier.events) == 1


def test_two_concurrent_success_events_end_the_job_once():
    """Both copies run before either one's storage event is handled."""
    world = World()
    job = world.submit()
    success = world.replicate.succeed("p1", world.files)
    world.webhook(job, success)
    world.webhook(job, success)
    world.run_queue()
    assert world.run_storage_events() >= 1
    assert world.job(job.job_id).status == JobStatus.COMPLETED
    assert world.notifier.events == [(job.job_id, JobEvent.COMPLETED)]


def test_the_start_webhook_arriving_before_the_prediction_id_is_saved():
    world = World()
    original_create = world.replicate.create_prediction

    def create_then_start(model, model_input, webhook):
        prediction = original_create(model, model_input, webhook)
        job_id = webhook.split("jobId=")[1]
        world.queue.send(PredictionMessage(
            job_id, world.replicate.set(prediction.id, status="processing")).body())
        world.run_queue()  # the start is processed before create returns
        return prediction
    world.replicate.create_prediction = create_then_start
    job = world.submit()
    assert job.status == JobStatus.PROCESSING and job.replicate_id == "p1"


def test_an_event_for_another_prediction_is_ignored_and_that_prediction_cancelled():
    world = World()
    job = world.submit()
    world.webhook(job, Prediction(id="someone-elses", status="processing"))
    world.webhook(job, Prediction(id="someone-elses", status="failed", error="x"))
    world.run_queue()
    assert world.job(job.job_id).status == JobStatus.PENDING
    assert world.replicate.cancelled == ["someone-elses"]


def test_an_event_for_no_job_cancels_the_running_prediction():
    world = World()
    world.queue.send(PredictionMessage("no-such-job",
                                       Prediction(id="px", status="processing")).body())
    world.run_queue()
    assert world.replicate.cancelled == ["px"]


# ---- lost events and reconciliation --------------------------------------------------

def test_lost_webhooks_are_recovered_when_a_quiet_job_is_polled():
    world = World()
    job = world.submit()
    world.replicate.succeed("p1", world.files)  # every webhook lost
    world.clock.advance(10)
    world.status(job.job_id)
    assert not world.queue.messages  # not quiet long enough
    world.clock.advance(25)
    assert world.status(job.job_id)["status"] == "pending"
    world.run_all()
    assert world.status(job.job_id)["status"] == "completed"


def test_a_polled_job_is_checked_at_most_once_per_quiet_window():
    world = World()
    job = world.submit()
    world.clock.advance(31)
    world.status(job.job_id)
    world.status(job.job_id)
    assert not world.queue.messages  # still starting at Replicate: nothing to apply
    world.replicate.succeed("p1", world.files)
    world.status(job.job_id)
    assert not world.queue.messages
    world.clock.advance(31)
    world.status(job.job_id)
    assert len(world.queue.messages) == 1


def test_a_lost_start_is_applied_by_reconciliation():
    world = World()
    job = world.submit()
    world.replicate.set("p1", status="processing")
    world.clock.advance(31)
    world.status(job.job_id)
    world.run_queue()
    assert world.job(job.job_id).status == JobStatus.PROCESSING


def test_replicate_down_during_reconciliation_leaves_the_job_as_it_was():
    world = World()
    job = world.submit()
    world.replicate.get_error = ReplicateUnavailable("GET: HTTP 500", status=500)
    world.clock.advance(31)
    assert world.status(job.job_id)["status"] == "pending"


def test_a_job_without_a_prediction_fails_at_the_120_second_start_deadline():
    world = World()
    world.replicate.lose_create_answer = True
    world.replicate.predictions.clear()
    job = world.submit()
    world.replicate.predictions.clear()  # the prediction never reports
    assert job.replicate_id is None
    world.clock.advance(119)
    assert world.status(job.job_id)["status"] == "pending"
    world.clock.advance(2)
    view = world.status(job.job_id)
    assert view["status"] == "failed" and view["error"] == "The job could not be started."
    assert world.notifier.events == [(job.job_id, JobEvent.FAILED)]


def test_a_lost_storage_event_is_re_emitted_and_never_copies_again():
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.succeed("p1", world.files))
    world.run_queue()
    world.storage.events.clear()  # the storage event is lost
    world.files.files.clear()     # and Replicate's copy has expired
    world.clock.advance(31)
    world.status(job.job_id)
    world.run_all()
    assert world.job(job.job_id).status == JobStatus.COMPLETED
    assert world.files.calls == 1


# ---- crashes between steps -----------------------------------------------------------

def test_a_crash_between_recording_the_result_and_uploading_stores_it_again():
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.succeed("p1", world.files))
    world.storage.fail_uploads = 1  # the upload dies after the result was recorded
    world.run_queue()               # the redelivery stores it again
    world.run_all()
    done = world.job(job.job_id)
    assert done.status == JobStatus.COMPLETED
    assert world.storage.exists(done.result.original.key)


def test_storage_errors_are_retried_then_fail_the_job_on_the_last_attempt():
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.succeed("p1", world.files))
    world.storage.fail_uploads = MAX_ATTEMPTS
    world.run_all()
    failed = world.job(job.job_id)
    assert failed.status == JobStatus.FAILED
    assert failed.error == (f"The result could not be stored after {MAX_ATTEMPTS} attempts "
                            "(ConnectionError).")
    assert world.notifier.events == [(job.job_id, JobEvent.FAILED)]


def test_storage_errors_retried_then_succeeding_complete_the_job():
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.succeed("p1", world.files))
    world.storage.fail_uploads = MAX_ATTEMPTS - 1
    world.run_all()
    assert world.job(job.job_id).status == JobStatus.COMPLETED


def test_a_transient_download_error_is_retried():
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.succeed("p1", world.files))
    world.files.failures.append(FetchFailed("HTTP 503"))
    world.run_all()
    assert world.job(job.job_id).status == JobStatus.COMPLETED


# ---- outputs that cannot become results ------------------------------------------

@pytest.mark.parametrize("output,error", [
    (None, "The prediction succeeded but returned no output."),
    ([], "The prediction succeeded but returned no output."),
])
def test_empty_outputs_fail_the_job(output, error):
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.set("p1", status="succeeded", output=output))
    world.run_all()
    assert world.job(job.job_id).error == error


def test_an_output_expired_before_the_copy_says_so():
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.set("p1", status="succeeded", output=None,
                                           data_removed=True))
    world.run_all()
    assert "expired at Replicate" in world.job(job.job_id).error


@pytest.mark.parametrize("content", [b"", b"not an image at all"])
def test_corrupt_or_empty_files_fail_the_job_without_echoing_paths(content):
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.succeed("p1", world.files, content=content))
    world.run_all()
    failed = world.job(job.job_id)
    assert failed.status == JobStatus.FAILED
    assert failed.error == ("The result could not be stored: Output 1 is not a readable "
                            "image file.")


def test_an_output_from_a_foreign_origin_is_refused_without_echoing_it():
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.set(
        "p1", status="succeeded", output=["http://169.254.169.254/latest/meta-data/"]))
    world.run_all()
    failed = world.job(job.job_id)
    assert failed.status == JobStatus.FAILED
    assert "169.254" not in failed.error and "meta-data" not in failed.error
    assert world.files.calls == 1  # checked, never fetched


def test_an_output_over_the_size_cap_fails_clearly():
    world = World(max_output_bytes=100)
    job = world.submit()
    world.webhook(job, world.replicate.succeed("p1", world.files))
    world.run_all()
    assert "over the limit of 100 bytes" in world.job(job.job_id).error


def test_a_thumbnail_failure_completes_the_job_without_a_thumbnail(monkeypatch):
    from chalicelib import media
    world = World()
    job = world.submit()

    def broken(src, media_type, dst):
        raise media.MediaUnreadable("decoder crashed")
    monkeypatch.setattr(media, "make_thumbnail", broken)
    world.complete(job)
    view = world.status(job.job_id)
    assert view["status"] == "completed" and view["result"]["thumbnailUrl"] is None


# ---- submission: refusals, ambiguity, limits -------------------------------------------

@pytest.mark.parametrize("error,expected", [
    (ReplicateUnavailable("HTTP 500", status=500), ReplicateRefused),
    (ReplicateUnavailable("HTTP 422", status=422), ReplicateRefused),
    (ReplicateUnavailable("HTTP 429", status=429, retry_after=7), ServiceUnavailable),
    (ReplicateUnavailable("refused", sent=False), ServiceUnavailable),
])
def test_a_definite_refusal_fails_the_job_and_refunds_the_submission(error, expected):
    world = World(limits=Limits(submissions_per_hour=1))
    world.replicate.create_error = error
    with pytest.raises(expected) as raised:
        world.submit()
    (job,) = world.jobs.items.values()
    assert job.status == JobStatus.FAILED
    assert world.notifier.events == [(job.job_id, JobEvent.FAILED)]
    if error.status == 429:
        assert raised.value.retry_after == 7
    # The answer reports the limits as they stand after the refund.
    assert [(q.policy, q.remaining) for q in raised.value.quotas] == [("hourly", 1),
                                                                       ("daily", 1000)]
    world.submit()  # the refunded submission can be used again


def test_a_throttle_with_retry_after_zero_keeps_zero():
    world = World()
    world.replicate.create_error = ReplicateUnavailable("429", status=429, retry_after=0)
    with pytest.raises(ServiceUnavailable) as raised:
        world.submit()
    assert raised.value.retry_after == 0


def test_an_ambiguous_create_keeps_the_job_pending_and_adopts_its_prediction():
    world = World(limits=Limits(submissions_per_hour=1))
    world.replicate.lose_create_answer = True
    job = world.submit()
    assert job.status == JobStatus.PENDING and job.replicate_id is None
    # The prediction was made: its webhooks name the job.
    world.webhook(job, world.replicate.set("p1", status="processing"))
    world.run_queue()
    assert world.job(job.job_id).replicate_id == "p1"
    world.webhook(job, world.replicate.succeed("p1", world.files))
    world.run_all()
    assert world.job(job.job_id).status == JobStatus.COMPLETED
    assert len(world.replicate.created) == 1
    with pytest.raises(RateLimited):
        world.submit()  # not refunded: the work ran


def test_a_prediction_of_other_work_is_not_adopted():
    world = World()
    world.replicate.lose_create_answer = True
    job = world.submit()
    stranger = Prediction(id="px", status="processing", model="black-forest-labs/flux-schnell",
                          input={"prompt": "something else"})
    world.webhook(job, stranger)
    world.run_queue()
    assert world.job(job.job_id).replicate_id is None
    assert world.replicate.cancelled == ["px"]


def test_a_prediction_reporting_for_a_job_that_already_failed_is_cancelled():
    world = World()
    world.replicate.lose_create_answer = True
    job = world.submit()
    world.clock.advance(121)
    world.status(job.job_id)  # the start deadline fails it
    world.webhook(job, world.replicate.set("p1", status="processing"))
    world.run_queue()
    assert world.replicate.cancelled == ["p1"]
    assert world.job(job.job_id).status == JobStatus.FAILED


def test_a_key_bound_to_a_user_cannot_submit_for_another_and_creates_nothing():
    world = World()
    with pytest.raises(Forbidden):
        world.submit(caller=Caller("acme", "k", user_id="alice"))
    assert not world.jobs.items and not world.replicate.created and not world.counters.writes


def test_a_rate_limited_submission_creates_no_job_and_calls_no_model():
    world = World(limits=Limits(submissions_per_hour=2))
    world.submit()
    world.submit()
    with pytest.raises(RateLimited) as raised:
        world.submit()
    assert len(world.jobs.items) == 2 and len(world.replicate.created) == 2
    assert raised.value.retry_after == 3600


def test_polls_do_not_spend_submissions():
    world = World(limits=Limits(submissions_per_hour=1))
    job = world.submit()
    for _ in range(5):
        world.status(job.job_id)
    with pytest.raises(RateLimited) as raised:
        world.submit()
    assert raised.value.quotas[0].policy == "hourly"


def test_the_poll_limit_counts_per_minute_on_the_clock():
    world = World(limits=Limits(status_per_minute=3))
    job = world.submit()
    world.clock.advance(5)  # 01:00:05
    for _ in range(3):
        world.status(job.job_id)
    with pytest.raises(RateLimited) as raised:
        world.status(job.job_id)
    assert raised.value.retry_after == 55
    world.clock.advance(55)  # the next minute
    world.status(job.job_id)


def test_another_clients_job_is_not_found_like_a_missing_one():
    world = World()
    job = world.submit()
    with pytest.raises(JobNotFound) as theirs:
        world.status(job.job_id, caller=OTHER_CLIENT)
    with pytest.raises(JobNotFound) as missing:
        world.status("00000000-0000-0000-0000-000000000000", caller=OTHER_CLIENT)
    assert type(theirs.value) is type(missing.value)
    with pytest.raises(JobNotFound):
        world.status("not-a-uuid")


def test_the_same_user_id_under_two_clients_never_shares_storage():
    world = World()
    mine = world.complete(world.submit())
    theirs = world.complete(world.submit(caller=OTHER_CLIENT))
    assert mine.result.s3_path.split("/")[:3] == ["images", "acme", "user123"]
    assert theirs.result.s3_path.split("/")[:3] == ["images", "globex", "user123"]


def test_every_end_passes_through_one_point():
    """Completed, failed at the start deadline, failed by Replicate, cancelled:
    each emits exactly one event, through Lifecycle.finish."""
    world = World()
    calls = []
    original = Lifecycle.finish

    def spy(self, job_id, to, **changes):
        calls.append(to)
        return original(self, job_id, to, **changes)
    Lifecycle.finish = spy
    try:
        world.complete(world.submit())
        failing = world.submit()
        world.webhook(failing, world.replicate.set(failing.replicate_id, status="failed"))
        cancelled = world.submit()
        world.webhook(cancelled, world.replicate.set(cancelled.replicate_id, status="canceled"))
        world.replicate.lose_create_answer = True
        world.submit()
        world.run_all()
        world.clock.advance(121)
        for job_id in list(world.jobs.items):
            world.status(job_id)
    finally:
        Lifecycle.finish = original
    assert sorted(calls) == sorted([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED,
                                    JobStatus.FAILED])
    assert len(world.notifier.events) == 4
    assert all(world.jobs.items[j].status in TERMINAL for j in world.jobs.items)
    assert not [j for j in world.jobs.items.values() if j.status in ACTIVE]


# ---- the scheduled sweep ---------------------------------------------------------------

def test_the_sweep_ends_jobs_nobody_polls_and_resends_lost_events():
    from chalicelib.jobs.sweep import Sweeper
    world = World()
    sweeper = Sweeper(world.jobs, world.reconciler, world.lifecycle, world.clock)
    lost = world.submit()                      # every webhook lost, nobody polls
    world.replicate.succeed(lost.replicate_id, world.files)
    never_started = world.submit()
    world.jobs.items[never_started.job_id] = never_started.with_changes(replicate_id=None)
    world.notifier.fail_next = 1               # a crash right after this job's end
    crashed = world.complete(world.submit())
    world.clock.advance(4)
    assert sweeper.sweep()["checked"] == 0     # flux-schnell's expected 5 s not over yet
    world.clock.advance(2)
    sweeper.sweep()
    world.run_all()
    assert world.job(lost.job_id).status == JobStatus.COMPLETED
    assert world.job(crashed.job_id).notification_pending is None
    assert (crashed.job_id, JobEvent.COMPLETED) in world.notifier.events
    world.clock.advance(120)
    sweeper.sweep()
    assert world.job(never_started.job_id).status == JobStatus.FAILED
    assert not list(world.jobs.open_jobs(world.clock.now()))


def test_a_sweep_stops_at_its_time_budget_and_the_next_one_goes_on():
    """Runs never overlap the next minute's: a sweep slowed by Replicate stops at its
    budget, and the jobs it left are taken by the next sweep."""
    from chalicelib.jobs.sweep import Sweeper
    world = World()
    sweeper = Sweeper(world.jobs, world.reconciler, world.lifecycle, world.clock, budget_s=40)
    jobs = [world.submit() for _ in range(3)]
    for job in jobs:
        world.replicate.succeed(job.replicate_id, world.files)
    world.clock.advance(10)
    reconcile = world.reconciler.reconcile

    def slow(job, **kwargs):
        world.clock.advance(25)                  # each check takes Replicate 25 s
        return reconcile(job, **kwargs)
    world.reconciler.reconcile = slow
    first = sweeper.sweep()
    assert (first["checked"], first["out_of_time"]) == (2, 1)
    world.run_all()                              # the processor, between two sweeps
    assert sum(world.job(j.job_id).status == JobStatus.COMPLETED for j in jobs) == 2
    second = sweeper.sweep()
    assert (second["checked"], second["out_of_time"]) == (1, 0)
    world.run_all()
    assert all(world.job(j.job_id).status == JobStatus.COMPLETED for j in jobs)


def test_an_event_arriving_while_another_processor_copies_waits_and_never_copies_twice():
    from chalicelib.jobs.prediction_events import CopyInProgress
    world = World()
    job = world.submit()
    world.replicate.succeed("p1", world.files)
    now = world.clock.now()
    assert world.jobs.claim_copy(job.job_id, now + timedelta(seconds=150), now)  # a live copy
    world.clock.advance(31)
    world.status(job.job_id)
    assert not world.queue.messages  # reconciliation leaves a job being copied alone
    message = PredictionMessage(job.job_id, world.replicate.predictions["p1"])
    with pytest.raises(CopyInProgress):
        world.events.handle(message, 1, MAX_ATTEMPTS)
    assert world.files.calls == 0
    world.clock.advance(150)  # the holder died: its claim lapses and the retry copies
    world.events.handle(message, 2, MAX_ATTEMPTS)
    world.run_all()
    assert world.job(job.job_id).status == JobStatus.COMPLETED and world.files.calls == 1


def test_a_job_write_that_fails_gives_the_submission_back():
    world = World(limits=Limits(submissions_per_hour=1))

    def throttled(job):
        raise ConnectionError("the table is throttling (fake)")
    original, world.jobs.create = world.jobs.create, throttled
    with pytest.raises(ConnectionError):
        world.submit()
    world.jobs.create = original
    assert not world.replicate.created
    world.submit()  # the only submission of the hour was given back
