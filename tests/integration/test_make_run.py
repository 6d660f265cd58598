"""`make run` as a person sees it: `python -m local.stack` on free ports, in a
subprocess, with its own .local directory. Its terminal shows the banner and one
line per job event, not the emulator's request log; its ports, keys and logs
are where the key CLI and the banner say. The API spec's two client examples run
against it with its own key; a second start leaves it alone; its key survives a
restart; killed hard, it takes every part with it."""
import json
import os
import queue
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from local.stack import EVENT_PROCESSES, ROOT, free_port
from local.stack import port_in_use as stack_port_in_use
from tests.support.api import IMAGE_EXAMPLE

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


SPEC = ROOT.parent / "shared" / "seed" / "vsl-api.md"
SPEC_BASE_URL = "https://xxx.execute-api.us-east-1.amazonaws.com/homolog"
SPEC_IMAGE_URL = "https://example.com/input.jpg"


def start_stack(local, ports, stdout=subprocess.PIPE) -> subprocess.Popen:
    """`make run`'s command, with that .local directory and those ports."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "VSL_", "REPLICATE_"))}
    env.update({"VSL_LOCAL_DIR": str(local), "PYTHONUNBUFFERED": "1"})
    return subprocess.Popen(
        [sys.executable, "-m", "local.stack", "--port", str(ports["api"]),
         "--emulator-port", str(ports["emulator"]), "--simulator-port", str(ports["simulator"]),
         "--fal-simulator-port", str(ports["fal_simulator"])],
        cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.STDOUT if stdout else None,
        text=True)


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    local = tmp_path_factory.mktemp("dot-local")
    ports = {"api": free_port(), "emulator": free_port(), "simulator": free_port(),
             "fal_simulator": free_port()}
    proc = start_stack(local, ports)
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
    sample = f"http://127.0.0.1:{ports['simulator']}/samples/input.jpg"
    assert f"Sample input image   {sample}" in shown
    assert "bound to userId user123" in shown
    assert "/docs" in shown and "/openapi.json" in shown
    client_key = (local / "api-keys").read_text().split()[1]
    assert "Client key           " + client_key in shown
    assert (local / "env").read_text().splitlines()[1:] == [
        f"export VSL_BASE_URL=http://127.0.0.1:{ports['api']}", f"export VSL_API_KEY={key}",
        f"export VSL_CLIENT_KEY={client_key}", f"export VSL_SAMPLE_IMAGE={sample}"]
    # The user's key is bound to user123, the client's own key to no one; one client.
    hooks = f"http://127.0.0.1:{ports['api']}/webhooks"
    user_key, own_key = (requests.post(hooks, headers={"X-API-Key": k}, timeout=10,
                                       json={"url": f"http://127.0.0.1:{free_port()}/hook"})
                         for k in (key, client_key))
    assert user_key.status_code == 403 and own_key.status_code == 201, own_key.text
    assert requests.delete(f"{hooks}/{own_key.json()['id']}", timeout=10,
                           headers={"X-API-Key": client_key}).status_code == 204
    assert stat.S_IMODE((local / "env").stat().st_mode) == 0o600


def test_ports_are_recorded_where_the_key_cli_finds_them(make_run, monkeypatch, capsys):
    proc, terminal, local, ports = make_run
    recorded = json.loads((local / "ports.json").read_text())
    assert {k: recorded[k] for k in ports} == ports
    key_cli(local, "create", "--client", "comfort", "--expires-in-days", "2",
            "--limit", "submissions_per_hour=7")
    [line] = [l for l in key_cli(local, "list").splitlines() if " comfort " in l]
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z +active +submissions_per_hour=7$", line)


def test_a_job_is_one_line_per_event_and_the_request_logs_stay_in_files(make_run):
    proc, terminal, local, ports = make_run
    api_url = f"http://127.0.0.1:{ports['api']}"
    key = (local / "api-keys").read_text().split()[0]
    resp = requests.post(api_url + "/generate-media", json=IMAGE_EXAMPLE, timeout=30,
                         headers={"X-API-Key": key})
    assert resp.status_code == 202, resp.text
    job = resp.json()["jobId"]
    terminal.wait_for(rf"job {job[:8]} .*-> completed", timeout_s=60)
    # The processor's own line says what it did; only the thumbnailer's says completed
    # (both did, when the processor read the job after the thumbnailer had finished it).
    lines = [line for line in terminal.lines if f"job {job[:8]}" in line]
    if not any("(prediction succeeded)" in line for line in lines):
        lines.append(terminal.wait_for(rf"job {job[:8]} .*\(prediction succeeded\)", 30))
    [succeeded] = [line for line in lines if "(prediction succeeded)" in line]
    assert "completed" not in succeeded, lines
    assert len([line for line in lines if "-> completed" in line]) == 1, lines
    assert all(not REQUEST_LOG_LINE.search(line) for line in terminal.lines)
    for part in ("emulator", "api"):
        assert REQUEST_LOG_LINE.search((local / "logs" / f"{part}.log").read_text()), part
    assert "listening" in (local / "logs" / "simulator.log").read_text()
    assert "jobs: message" in (local / "logs" / "processor.log").read_text()  # the detail
    assert proc.poll() is None


def spec_example(language: str) -> str:
    section = SPEC.read_text().split("## SDK Examples", 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"the spec has no {language} SDK example"
    return match.group(1)


def test_the_specs_client_examples_run_with_make_runs_key(make_run, tmp_path):
    """Copied from the spec; only its URLs change (the key comes from VSL_API_KEY, as the
    spec's code reads it). Python gets the `import os` the spec leaves out, JavaScript
    an async function around its awaits (CommonJS has no top-level await)."""
    proc, terminal, local, ports = make_run
    key = (local / "api-keys").read_text().split()[0]
    api, sample = f"http://127.0.0.1:{ports['api']}", \
        f"http://127.0.0.1:{ports['simulator']}/samples/input.jpg"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSL_", "AWS_"))}
    env["VSL_API_KEY"] = key  # no VSL_USER_ID: make run's key is bound to a user

    python = spec_example("python")
    assert python.count(SPEC_BASE_URL) == 1 and python.count(SPEC_IMAGE_URL) == 1
    python = "import os\n" + python.replace(SPEC_BASE_URL, api).replace(SPEC_IMAGE_URL, sample)
    done = subprocess.run([sys.executable, "-c", python], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^Video URL: http://\S+/original\.mp4", done.stdout, re.M), done.stdout

    javascript = spec_example("javascript")
    require, body = javascript.split("\n", 1)
    assert require == "const VSLClient = require('./vsl-client');"
    assert javascript.count(SPEC_BASE_URL) == 1
    javascript = (f"{require}\nasync function main() {{\n{body.replace(SPEC_BASE_URL, api)}}}\n"
                  "main().catch((error) => { console.error(error); process.exit(1); });\n")
    shutil.copy(ROOT / "sdk" / "js" / "vsl-client.js", tmp_path / "vsl-client.js")
    done = subprocess.run(["node", "-"], input=javascript, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^Image URL: http://\S+/original\.png", done.stdout, re.M), done.stdout


def snapshot(local) -> dict:
    files = {p.relative_to(local).as_posix(): p for p in local.rglob("*") if p.is_file()}
    return {name: (p.stat().st_mtime_ns, p.read_bytes()) for name, p in files.items()
            if not name.startswith("logs/")}


def key_cli(local, *args) -> str:
    """`make api-key ARGS="--local ..."` as a user runs it: its own process, this
    folder's stack found from its recorded ports and credentials alone."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "VSL_")) or k == "VSL_LOCAL_DIR"}
    done = subprocess.run([sys.executable, "-m", "tools.api_keys", "--local", "--stage",
                           "local", *args], cwd=ROOT, env=dict(env, VSL_LOCAL_DIR=str(local)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def key_count(local, capsys, monkeypatch) -> int:
    return len(key_cli(local, "list").splitlines()) - 1


def test_a_second_make_run_leaves_the_first_untouched_and_says_why(make_run, tmp_path, capsys,
                                                                   monkeypatch):
    proc, terminal, local, ports = make_run
    before, keys_before = snapshot(local), key_count(local, capsys, monkeypatch)
    logs_before = {p.name: p.stat().st_size for p in (local / "logs").iterdir()}
    second = start_stack(local, ports)
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 1
    [line] = out.splitlines()
    assert line.startswith(f"VSL Media is already running from this folder (pid {proc.pid}): "
                           f"API http://127.0.0.1:{ports['api']}, AWS emulator "
                           f"http://127.0.0.1:{ports['emulator']}, Replicate simulator "
                           f"http://127.0.0.1:{ports['simulator']}. Nothing was changed"), line
    assert snapshot(local) == before  # keys, env, ports: not a byte or a timestamp changed
    assert all((local / "logs" / name).stat().st_size >= size for name, size in logs_before.items())
    assert key_count(local, capsys, monkeypatch) == keys_before  # no key added to the emulator
    assert proc.poll() is None

    # Another folder, the same ports: the port is named, and nothing is started or written.
    elsewhere = tmp_path / "elsewhere"
    third = start_stack(elsewhere, ports)
    out, _ = third.communicate(timeout=60)
    assert third.returncode == 1
    assert out.splitlines() == [
        f"Port {ports['api']} (API), {ports['emulator']} (AWS emulator), {ports['simulator']} "
        f"(Replicate simulator), {ports['fal_simulator']} (fal simulator) is in use by another "
        "program, so nothing was started; free it, or choose other ports: PORT, "
        "VSL_EMULATOR_PORT, VSL_SIMULATOR_PORT, VSL_FAL_SIMULATOR_PORT."]
    assert not elsewhere.exists()


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


def children_of(pid: int) -> list:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines()
                          if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


def test_a_restart_keeps_the_key_and_a_hard_kill_takes_every_part(make_run):
    """Run after the stop above, in the same folder: the key an earlier start wrote (and
    a user exported) works again. Then SIGKILL, which no handler sees: every part, each
    in a session of its own, must end too and free its port."""
    _, _, local, ports = make_run
    key = (local / "api-keys").read_text()
    proc = start_stack(local, ports)
    terminal = Terminal(proc)
    try:
        terminal.wait_for(r"^Job events", timeout_s=120)
        assert (local / "api-keys").read_text() == key
        assert key.split()[0] in "\n".join(terminal.lines)
        resp = requests.get(f"http://127.0.0.1:{ports['api']}/models", timeout=10,
                            headers={"X-API-Key": key.split()[0]})
        assert resp.status_code == 200, resp.text
        parts = children_of(proc.pid)
        # The emulator, both simulators, the API and a process per event-driven function.
        assert len(parts) == 4 + len(EVENT_PROCESSES), parts
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in parts) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in parts if alive(pid)]
        assert not any(stack_port_in_use(port) for port in ports.values())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
