"""`make run`'s comforts that need no running stack: the key CLI finds the
emulator's recorded port, the banner says where everything is, and a job event
is one readable line."""
import io
import json
import os
import re
import subprocess
import sys
import threading

import pytest

from chalicelib.jobs.model import ACTIVE, JobStatus, Prediction
from chalicelib.messages import PredictionMessage
from local.event_delivery import JobEventReporter
from local.stack import LocalStack, banner, write_ports
from tests.fakes import World
from tools import api_keys


def test_the_key_cli_uses_the_emulator_port_make_run_recorded(tmp_path):
    ports = tmp_path / "ports.json"
    write_ports(LocalStack(api_port=18000, emulator_port=15432, simulator_port=15433), ports)
    assert json.loads(ports.read_text())["pid"] == os.getpid()
    assert api_keys.local_emulator_url({}, ports) == "http://127.0.0.1:15432"
    # An explicit port wins over the recorded one.
    assert api_keys.local_emulator_url({"VSL_EMULATOR_PORT": "6000"}, ports) == \
        "http://127.0.0.1:6000"


def test_the_key_cli_refuses_to_guess_when_no_stack_runs(tmp_path):
    with pytest.raises(api_keys.NoLocalStack, match="make run"):
        api_keys.local_emulator_url({}, tmp_path / "ports.json")
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # reaped: its pid names no process now
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({"emulator": 5050, "pid": finished.pid}))
    with pytest.raises(api_keys.NoLocalStack, match="not running"):
        api_keys.local_emulator_url({}, stale)


def test_key_cli_local_without_a_stack_exits_1_with_the_reason(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VSL_LOCAL_DIR", str(tmp_path))
    monkeypatch.delenv("VSL_EMULATOR_PORT", raising=False)
    assert api_keys.main(["--local", "list"]) == 1
    assert "no local stack is running" in capsys.readouterr().err


def test_limits_are_listed_by_name_or_as_the_stage_defaults():
    assert api_keys.describe_limits(None) == "stage defaults"
    assert api_keys.describe_limits({"submissions_per_hour": 500, "status_per_minute": 60}) == \
        "status_per_minute=60, submissions_per_hour=500"


def test_the_banner_names_every_url_the_key_and_what_to_try(tmp_path):
    stack = LocalStack(api_port=18000, emulator_port=15050, simulator_port=15060,
                       log_dir=tmp_path / "logs")
    text = banner(stack, ["vsl_key_one", "vsl_key_two"], tmp_path / "api-keys")
    for expected in ("http://127.0.0.1:18000/", "http://127.0.0.1:15050",
                     "http://127.0.0.1:15060", "vsl_key_one", f"{tmp_path}/api-keys",
                     f"{tmp_path}/logs/", "curl http://127.0.0.1:18000/models",
                     'make api-key ARGS="--local list"', "Ctrl-C"):
        assert expected in text, expected


def report(world: World, source: str, record: dict, deliver) -> str:
    out = io.StringIO()
    JobEventReporter(world.job, out).wrap(source, deliver)(record)
    return out.getvalue()


def prediction_record(job_id: str, status: str) -> dict:
    return {"body": json.dumps(PredictionMessage(job_id, Prediction("p1", status)).body())}


def test_a_handled_message_prints_one_line_with_the_job_and_its_status_change():
    world = World()
    job = world.submit()
    shown = report(world, "jobs", prediction_record(job.job_id, "processing"),
                   lambda r: world.lifecycle.move(job.job_id, JobStatus.PROCESSING))
    [line] = shown.splitlines()
    assert f"job {job.job_id[:8]}" in line and "pending -> processing" in line
    assert "flux-schnell" in line and "(prediction processing)" in line


def test_a_line_claims_only_what_its_own_handler_wrote():
    """The processor is still returning when its stored original wakes the
    thumbnailer, which completes the job: the processor's line must not say
    `-> completed` too (it did, once for each handler)."""
    world = World()
    job = world.submit()
    world.lifecycle.move(job.job_id, JobStatus.PROCESSING)

    def processor(record):
        world.lifecycle.move(job.job_id, JobStatus.PROCESSING, only_from=ACTIVE)  # the result
        thumbnailer = threading.Thread(
            target=lambda: world.lifecycle.finish(job.job_id, JobStatus.COMPLETED))
        thumbnailer.start()
        thumbnailer.join()
    shown = report(world, "jobs", prediction_record(job.job_id, "succeeded"), processor)
    assert world.job(job.job_id).status == JobStatus.COMPLETED
    [line] = shown.splitlines()
    assert "completed" not in line and re.search(r" processing +\(prediction succeeded\)$", line)

    world2 = World()
    job2 = world2.submit()
    world2.lifecycle.move(job2.job_id, JobStatus.PROCESSING)
    key = f"images/acme/user123/2026/11/25/{job2.job_id}/original.png"
    shown = report(world2, "media-events",
                   {"body": json.dumps({"Records": [{"s3": {"object": {"key": key}}}]})},
                   lambda r: world2.lifecycle.finish(job2.job_id, JobStatus.COMPLETED))
    assert "processing -> completed  (original stored)" in shown


def test_a_failed_job_shows_its_error_and_a_failed_handler_says_it_will_retry():
    world = World()
    job = world.submit()
    world.lifecycle.move(job.job_id, JobStatus.PROCESSING)
    shown = report(world, "jobs", prediction_record(job.job_id, "succeeded"),
                   lambda r: world.lifecycle.fail(job.job_id, "The output expired at Replicate."))
    assert "processing -> failed" in shown and "The output expired at Replicate." in shown

    def broken(record):
        raise RuntimeError("boom")
    out = io.StringIO()
    reporter = JobEventReporter(world.job, out)
    with pytest.raises(RuntimeError):
        reporter.wrap("jobs", broken)({"body": json.dumps({"jobId": job.job_id}),
                                       "attributes": {"ApproximateReceiveCount": "2"}})
    assert "handler failed on receive 2, will retry" in out.getvalue()


def test_s3_test_events_report_nothing():
    out = io.StringIO()
    JobEventReporter(lambda job_id: None, out).wrap("media-events", lambda r: None)(
        {"body": json.dumps({"Event": "s3:TestEvent"})})
    assert out.getvalue() == ""
