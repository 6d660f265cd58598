"""A job's progress and stage: the logs parser (a pure function) and the status
view over a job's life, on the in-memory fakes."""
import pytest

from chalicelib.jobs.model import JobStatus, Prediction
from chalicelib.jobs.progress import (GENERATED_SHARE, STORING, generating, model_fraction,
                                      progress_of, stage_of)
from chalicelib.messages import PredictionMessage
from tests.fakes import MAX_ATTEMPTS, World

# What Replicate's flux-schnell prints (tqdm on stderr, captured line by line).
FLUX_LOGS = ("Using seed: 42\nrunning quantized prediction\nUsing seed: 42\n"
             "  0%|          | 0/4 [00:00<?, ?it/s]\n"
             " 25%|██▌       | 1/4 [00:00<00:01,  2.93it/s]\n"
             " 50%|█████     | 2/4 [00:00<00:00,  3.38it/s]\n")


@pytest.mark.parametrize("logs,expected", [
    (FLUX_LOGS, 0.5),
    (FLUX_LOGS + "100%|██████████| 4/4 [00:01<00:00,  3.50it/s]\n", 1.0),
    # tqdm rewrites one line with carriage returns when its output is a stream
    ("\r  0%|          | 0/25 [00:00<?, ?it/s]\r 40%|████      | 10/25 [00:07<00:10,  1.41it/s]",
     0.4),
    # a description before the bar, and counts scaled by unit_scale
    ("Sampling:  12%|█▏        | 1.20k/10.0k [00:03<00:24, 361it/s]\n", 0.12),
    # the percentage when the counts cannot be read
    ("  7%|▋         | ?/? [00:00<?, ?it/s]\n 33%|███▎      | 5/0 [00:01<?, ?it/s]\n", 0.33),
    # the last bar counts: a second loop starting over reads as its own start
    ("100%|██████████| 4/4 [00:01<00:00]\n  0%|          | 0/14 [00:00<?, ?it/s]\n", 0.0),
    ("Using seed: 42\n", None),
    ("", None),
    (None, None),
    (["not", "text"], None),
    ("3it [00:01,  2.50it/s]\n", None),     # a bar without a total says nothing of the end
])
def test_the_last_progress_bar_of_the_logs_says_how_far_the_model_is(logs, expected):
    assert model_fraction(logs) == (pytest.approx(expected) if expected is not None else None)


def test_only_the_end_of_long_logs_is_read():
    logs = " 10%|█         | 1/10 [00:00<00:01]\n" + "x" * 100_000 + \
        "\n 90%|█████████ | 9/10 [00:09<00:01]\n"
    assert model_fraction(logs) == pytest.approx(0.9)


def test_a_prediction_read_from_the_api_carries_its_logs_progress_not_its_logs():
    prediction = Prediction.from_api({"id": "p1", "status": "processing", "logs": FLUX_LOGS})
    assert prediction.progress == pytest.approx(0.5)
    assert "logs" not in prediction.to_message()
    assert Prediction.from_message(prediction.to_message()).progress == pytest.approx(0.5)


def test_the_model_fills_its_share_and_storing_comes_after_it():
    assert generating(0) == 0 and generating(1) == pytest.approx(GENERATED_SHARE)
    assert generating(1.7) == pytest.approx(GENERATED_SHARE)
    assert generating(1) < STORING < 1


def views_over_a_life(world: World, logs_order):
    """Submit, then the start, logs in the given order, success; the status view after each."""
    job = world.submit()
    seen = [world.status(job.job_id)]
    started = world.replicate.set(job.replicate_id, status="processing")
    world.webhook(job, started)
    world.run_queue()
    seen.append(world.status(job.job_id))
    for fraction in logs_order:
        world.webhook(job, world.replicate.set(job.replicate_id, progress=fraction))
        world.run_queue()
        seen.append(world.status(job.job_id))
    world.webhook(job, world.replicate.succeed(job.replicate_id, world.files))
    world.run_queue()          # copied and recorded; the storage event is still to come
    seen.append(world.status(job.job_id))
    world.run_storage_events()
    seen.append(world.status(job.job_id))
    return seen


def test_progress_never_decreases_and_reaches_1_at_completion():
    # logs webhooks may arrive out of order and twice
    seen = views_over_a_life(World(), [0.25, 0.75, 0.5, 0.75, 1.0])
    values = [v["progress"] for v in seen]
    assert values[0] is None and values[1] is None            # nothing printed yet
    known = [p for p in values if p is not None]
    assert known == sorted(known)
    assert values[2:7] == [pytest.approx(generating(f)) for f in (0.25, 0.75, 0.75, 0.75, 1.0)]
    assert values[-2] == pytest.approx(STORING)
    assert values[-1] == 1 and seen[-1]["status"] == "completed"
    assert [v.get("stage") for v in seen] == [
        "starting", "generating", "generating", "generating", "generating", "generating",
        "generating", "storing", None]


def test_a_job_without_a_prediction_yet_is_queued():
    world = World()
    job = world.submit()
    world.jobs.items[job.job_id] = job.with_changes(replicate_id=None)
    view = world.status(job.job_id)
    assert view["stage"] == "queued" and view["progress"] is None


def test_an_ended_job_keeps_its_progress_and_shows_no_stage():
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.set(job.replicate_id, status="processing", progress=0.5))
    world.webhook(job, world.replicate.set(job.replicate_id, status="failed", error="CUDA OOM"))
    world.run_queue()
    view = world.status(job.job_id)
    assert view["status"] == "failed" and "stage" not in view
    assert view["progress"] == pytest.approx(generating(0.5))


def test_logs_arriving_after_the_end_change_nothing():
    world = World()
    job = world.complete(world.submit())
    world.webhook(job, world.replicate.set(job.replicate_id, status="processing", progress=0.3))
    world.run_queue()
    assert world.job(job.job_id).status == JobStatus.COMPLETED
    assert world.status(job.job_id)["progress"] == 1


def test_a_copy_that_failed_and_waits_for_its_retry_still_shows_storing():
    world = World()
    job = world.submit()
    world.webhook(job, world.replicate.set(job.replicate_id, status="processing", progress=1.0))
    world.run_queue()
    world.storage.fail_uploads = 1
    succeeded = PredictionMessage(job.job_id, world.replicate.succeed(job.replicate_id,
                                                                      world.files))
    with pytest.raises(ConnectionError):
        world.events.handle(succeeded, 1, MAX_ATTEMPTS)
    view = world.status(job.job_id)
    assert (view["status"], view["stage"], view["progress"]) == ("processing", "storing", STORING)
    world.events.handle(succeeded, 2, MAX_ATTEMPTS)
    world.run_storage_events()
    assert world.status(job.job_id)["progress"] == 1


def test_stage_and_progress_of_each_state():
    world = World()
    job = world.submit()
    processing = job.with_changes(status=JobStatus.PROCESSING, progress=0.4)
    assert stage_of(processing) == "generating" and progress_of(processing) == 0.4
    assert stage_of(processing.with_changes(progress=STORING)) == "storing"
    assert progress_of(processing.with_changes(status=JobStatus.COMPLETED)) == 1
    assert stage_of(processing.with_changes(status=JobStatus.CANCELLED)) is None
