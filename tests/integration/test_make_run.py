"""`make run` as a person sees it: `python -m local.stack` on free ports, in a
subprocess, with its own .local directory. Its terminal shows the banner and one
line per job event, not the emulator's request log; its ports, keys and logs
are where the key CLI and the banner say."""
import json
import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest
import requests

from local.stack import ROOT, free_port
from tests.conftest import IMAGE_EXAMPLE
from tools import api_keys

pytestmark = pytest.mark.integration

REQUEST_LOG_LINE = re.compile(r'"(GET|POST|PUT|HEAD|DELETE) /\S* HTTP/1\.[01]"')


class Terminal:
    """The stack's stdout and stderr, line by line, read without blocking the test."""

    def __init__(self, proc: subprocess.Popen):
        self.lines, self._queue = [], queue.Queue()
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}; the terminal showed:\n"
                             + "\n".join(self.lines))


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    local = tmp_path_factory.mktemp("dot-local")
    ports = {"api": free_port(), "emulator": free_port(), "simulator": free_port()}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "VSL_", "REPLICATE_"))}
    env.update({"VSL_LOCAL_DIR": str(local), "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.stack", "--port", str(ports["api"]),
         "--emulator-port", str(ports["emulator"]), "--simulator-port", str(ports["simulator"])],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    terminal = Terminal(proc)
    try:
        terminal.wait_for(r"^Job events", timeout_s=120)
        yield proc, terminal, local, ports
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_banner_shows_the_urls_and_the_key(make_run):
    proc, terminal, local, ports = make_run
    shown = "\n".join(terminal.lines)
    key = (local / "api-keys").read_text().split()[0]
    assert f"Playground           http://127.0.0.1:{ports['api']}/" in shown
    assert f"http://127.0.0.1:{ports['emulator']}" in shown
    assert f"http://127.0.0.1:{ports['simulator']}" in shown
    assert key in shown
    assert stat.S_IMODE((local / "api-keys").stat().st_mode) == 0o600


def test_ports_are_recorded_where_the_key_cli_finds_them(make_run, monkeypatch, capsys):
    proc, terminal, local, ports = make_run
    recorded = json.loads((local / "ports.json").read_text())
    assert {k: recorded[k] for k in ports} == ports
    monkeypatch.setenv("VSL_LOCAL_DIR", str(local))
    monkeypatch.delenv("VSL_EMULATOR_PORT", raising=False)
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "restored-after-the-test")
    assert api_keys.main(["--local", "--stage", "local", "create", "--client", "comfort",
                          "--expires-in-days", "2", "--limit", "submissions_per_hour=7"]) == 0
    assert os.environ["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{ports['emulator']}"
    capsys.readouterr()
    assert api_keys.main(["--local", "--stage", "local", "list"]) == 0
    [line] = [l for l in capsys.readouterr().out.splitlines() if " comfort " in l]
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +active +submissions_per_hour=7$", line)


def test_a_job_is_one_line_per_event_and_the_request_logs_stay_in_files(make_run):
    proc, terminal, local, ports = make_run
    api_url = f"http://127.0.0.1:{ports['api']}"
    key = (local / "api-keys").read_text().split()[0]
    resp = requests.post(api_url + "/generate-media", json=IMAGE_EXAMPLE, timeout=30,
                         headers={"X-API-Key": key})
    assert resp.status_code == 202, resp.text
    job = resp.json()["jobId"]
    terminal.wait_for(rf"job {job[:8]} .*-> completed", timeout_s=60)
    assert all(not REQUEST_LOG_LINE.search(line) for line in terminal.lines)
    for part in ("emulator", "api"):
        assert REQUEST_LOG_LINE.search((local / "logs" / f"{part}.log").read_text()), part
    assert "listening" in (local / "logs" / "simulator.log").read_text()
    assert "jobs: message" in (local / "logs" / "processor.log").read_text()  # the detail
    assert proc.poll() is None


def test_iam_is_enforced_and_each_function_signs_as_its_own_user(make_run):
    import boto3
    from botocore.exceptions import ClientError
    from local.iam import functions
    proc, terminal, local, ports = make_run
    assert "IAM                  enforced" in "\n".join(terminal.lines)
    emulator = f"http://127.0.0.1:{ports['emulator']}"
    principals = json.loads((local / "principals.json").read_text())
    assert stat.S_IMODE((local / "principals.json").stat().st_mode) == 0o600
    assert set(principals["functions"]) == set(functions())

    def sqs(key):
        return boto3.client("sqs", endpoint_url=emulator, region_name="us-east-1",
                            aws_access_key_id=key["access_key_id"],
                            aws_secret_access_key=key["secret_access_key"])
    with pytest.raises(ClientError):  # a key the emulator does not know
        sqs({"access_key_id": "testing", "secret_access_key": "testing"}).list_queues()
    with pytest.raises(ClientError, match="AccessDenied"):  # the thumbnailer lists nothing
        sqs(principals["functions"]["make_thumbnail"]).list_queues()
    assert sqs(principals["operator"]).list_queues()["QueueUrls"]


def test_stopping_removes_the_recorded_ports(make_run):
    proc, terminal, local, ports = make_run
    print("\n".join(terminal.lines))  # what a person saw, for -s
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    assert not (local / "ports.json").exists()
