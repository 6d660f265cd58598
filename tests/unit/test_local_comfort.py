"""`make run`'s comforts that need no running stack: the key CLI finds the
emulator's recorded port, the banner says where everything is, and a job event
is one readable line."""
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

import pytest

from local.event_delivery import JobEventReporter
from local.stack import LocalStack, banner, write_ports
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


@dataclass
class FakeStatus:
    value: str


@dataclass
class FakeJob:
    status: FakeStatus
    model_id: str = "flux-schnell"
    error: Optional[str] = None


def test_a_handled_message_prints_one_line_with_the_job_and_its_status_change():
    states = iter([FakeJob(FakeStatus("pending")), FakeJob(FakeStatus("processing"))])
    out = io.StringIO()
    reporter = JobEventReporter(lambda job_id: next(states), out)
    delivered = []
    deliver = reporter.wrap("jobs", delivered.append)
    record = {"body": json.dumps({"kind": "prediction", "jobId": "296cc432-bb1e",
                                  "prediction": {"status": "processing"}})}
    deliver(record)
    assert delivered == [record]
    [line] = out.getvalue().splitlines()
    assert "job 296cc432" in line and "pending -> processing" in line
    assert "flux-schnell" in line and "(prediction processing)" in line


def test_a_failed_job_shows_its_error_and_a_failed_handler_says_it_will_retry():
    out = io.StringIO()
    failed = FakeJob(FakeStatus("failed"), error="The output expired at Replicate.")
    states = iter([FakeJob(FakeStatus("processing")), failed])
    JobEventReporter(lambda job_id: next(states), out).wrap("jobs", lambda r: None)(
        {"body": json.dumps({"jobId": "job-1", "prediction": {"status": "succeeded"}})})
    assert "processing -> failed" in out.getvalue()
    assert "The output expired at Replicate." in out.getvalue()

    def broken(record):
        raise RuntimeError("boom")
    out = io.StringIO()
    reporter = JobEventReporter(lambda job_id: FakeJob(FakeStatus("processing")), out)
    with pytest.raises(RuntimeError):
        reporter.wrap("jobs", broken)({"body": json.dumps({"jobId": "job-2"}),
                                       "attributes": {"ApproximateReceiveCount": "2"}})
    assert "handler failed on receive 2, will retry" in out.getvalue()


def test_s3_events_report_the_job_of_the_stored_original_and_test_events_nothing():
    out = io.StringIO()
    reporter = JobEventReporter(lambda job_id: FakeJob(FakeStatus("completed")), out)
    key = "images/acme/user123/2026/11/25/job-3/original.png"
    reporter.wrap("media-events", lambda r: None)(
        {"body": json.dumps({"Records": [{"s3": {"object": {"key": key}}}]})})
    reporter.wrap("media-events", lambda r: None)(
        {"body": json.dumps({"Event": "s3:TestEvent"})})
    [line] = out.getvalue().splitlines()
    assert "job job-3" in line and "(original stored, thumbnail)" in line
