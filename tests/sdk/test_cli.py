"""The `vsl` command, run as a subprocess against the local stack like a user would."""
import json
import os
import pty
import subprocess
import sys
import uuid
import wave
from pathlib import Path

import pytest
from PIL import Image

from local.stack import free_port
from tests.support.keys import CLIENT_A_KEY

pytestmark = pytest.mark.integration

VSL = str(Path(sys.executable).parent / "vsl")


@pytest.fixture
def run(stack, sim, tmp_path):
    """Run `vsl ARGS...` in a scratch directory with the VSL_* environment set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSL_")}
    env.update(VSL_BASE_URL=stack.api_url, VSL_API_KEY=CLIENT_A_KEY, VSL_USER_ID="cli-user")

    def vsl(*args, drop=(), **kwargs):
        run_env = {k: v for k, v in env.items() if k not in drop}
        return subprocess.run([VSL, *args], cwd=tmp_path, env=run_env, capture_output=True,
                              text=True, timeout=120, **kwargs)
    vsl.env, vsl.cwd = env, tmp_path
    return vsl


def ok(proc):
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    return proc


# ---- the examples, with real output files ----------------------------------------

def test_generate_image_waits_and_writes_a_png(run):
    proc = ok(run("generate", "image", "A futuristic cityscape", "--width", "1024", "--wait",
                  "--out", "city.png"))
    with Image.open(run.cwd / "city.png") as image:
        assert image.format == "PNG" and image.size == (1024, 1024)
    assert "saved city.png" in proc.stdout and "originalUrl: http" in proc.stdout
    # Not on a terminal: one plain line per status, no carriage returns.
    assert ": completed" in proc.stderr and "\r" not in proc.stderr


def test_generate_pins_a_provider(run):
    """--provider runs the job there and nowhere else (this stack has Replicate only)."""
    proc = ok(run("generate", "image", "A lighthouse", "--provider", "replicate", "--wait",
                  "--json"))
    assert json.loads(proc.stdout)["provider"] == "replicate"
    refused = run("generate", "image", "A lighthouse", "--provider", "fal", "--json")
    assert refused.returncode != 0
    assert "not served by fal" in refused.stdout + refused.stderr


def test_generate_video_from_an_image_url(run, stack):
    ok(run("generate", "video", "--image", f"{stack.simulator_url}/samples/input.jpg", "--wait",
           "--out", "clip.mp4"))
    assert (run.cwd / "clip.mp4").read_bytes()[4:8] == b"ftyp"


def test_generate_video_from_a_local_file(run, sim):
    """The issue's example: vsl generate video --image ./cat.jpg --wait --out cat.mp4"""
    sim.faults(latency_s=10)   # long enough for a poll to see the model's progress bar
    Image.new("RGB", (320, 180), (180, 120, 60)).save(run.cwd / "cat.jpg", "JPEG")
    proc = ok(run("generate", "video", "--image", "./cat.jpg", "--num-frames", "14", "--wait",
                  "--out", "cat.mp4"))
    assert (run.cwd / "cat.mp4").read_bytes()[4:8] == b"ftyp"
    assert "saved cat.mp4" in proc.stdout
    # Not on a terminal: a line per change, the bar's last one full.
    assert "(generating) [" in proc.stderr and ": completed [####################] 100%" in \
        proc.stderr


def test_upload_prints_the_reference_an_image_parameter_takes(run):
    Image.new("RGB", (64, 64), (1, 2, 3)).save(run.cwd / "pic.png", "PNG")
    ref = ok(run("upload", "pic.png")).stdout.strip()
    assert ref.startswith("upload:upl_")
    job = json.loads(ok(run("generate", "video", "--image", ref, "--json")).stdout)
    assert job["status"] == "pending"
    assert run("upload", "missing.png").returncode == 2
    (run.cwd / "page.html").write_text("<html></html>")
    refused = run("upload", "page.html", "--json")
    assert refused.returncode == 1 and json.loads(refused.stdout)["code"] == "UNSUPPORTED_UPLOAD"


def test_generate_audio_of_a_duration(run):
    ok(run("generate", "audio", "Epic orchestral", "--duration", "8", "--wait", "--out",
           "song.wav"))
    with wave.open(str(run.cwd / "song.wav")) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(8, abs=0.1)


# ---- scripting: --json, --param, status, wait, models ---------------------------------------

def test_submit_then_status_then_wait_with_json(run):
    job = json.loads(ok(run("generate", "image", "A red fox", "--model", "sdxl", "--param",
                            "negative_prompt=blurry", "--param", "num_inference_steps=20",
                            "--param", "width=512", "--height", "512", "--json")).stdout)
    assert job["status"] == "pending" and job["estimatedTime"] == 10
    result = json.loads(ok(run("wait", job["jobId"], "--out", ".", "--json")).stdout)
    assert result["status"] == "completed" and result["modelId"] == "sdxl"
    with Image.open(run.cwd / result["file"]) as image:
        assert image.size == (512, 512)
    status = json.loads(ok(run("status", job["jobId"], "--json")).stdout)
    assert status["result"]["width"] == 512 and status["userId"] == "cli-user"
    human = ok(run("status", job["jobId"])).stdout
    assert f"{job['jobId']}: completed (sdxl, image, user cli-user)" in human


def test_param_values_are_json_when_they_parse(run):
    job = json.loads(ok(run("generate", "image", "A cat", "--param", "num_outputs=2", "--json",
                            "--wait")).stdout)
    assert len(job["result"]["outputs"]) == 2
    bad = run("generate", "image", "A cat", "--param", "num_outputs=two")
    assert bad.returncode == 1 and "num_outputs" in bad.stderr


def test_submit_without_waiting_prints_the_job_id(run):
    proc = ok(run("generate", "image", "A cat", "--user", "carol"))
    job_id = proc.stdout.strip()
    assert json.loads(ok(run("status", job_id, "--json")).stdout)["userId"] == "carol"


def test_models_and_options_after_the_command(run):
    proc = ok(run("models", "--json", "--api-key", CLIENT_A_KEY, drop=("VSL_API_KEY",)))
    assert {m["modelId"] for m in json.loads(proc.stdout)["models"]} == {
        "flux-schnell", "sdxl", "stability-video", "musicgen"}
    human = ok(run("--json", "models")).stdout
    assert json.loads(human)["models"]
    assert "musicgen" in ok(run("models")).stdout


# ---- jobs and cancel ---------------------------------------------------------------------------

def test_jobs_lists_newest_first_with_filters_and_a_limit(run, sim):
    sim.faults(latency_s=60)
    user = f"cli-lister-{uuid.uuid4().hex[:8]}"
    submitted = [ok(run("generate", "image", f"fox {i}", "--user", user)).stdout.strip()
                 for i in range(3)]
    sdxl = ok(run("generate", "image", "lighthouse", "--model", "sdxl", "--user", user)
              ).stdout.strip()
    ok(run("cancel", submitted[0]))

    listed = json.loads(ok(run("jobs", "--user", user, "--json")).stdout)["jobs"]
    assert sorted(j["jobId"] for j in listed) == sorted(submitted + [sdxl])
    assert all(j["userId"] == user for j in listed)

    table = ok(run("jobs", "--user", user, "--limit", "2"))
    rows = table.stdout.splitlines()
    assert rows[0].split() == ["JOB", "STATUS", "MODEL", "USER", "CREATED"] and len(rows) == 3
    assert "--limit 4" in table.stderr   # there are more than shown

    def ids(*filters):
        out = json.loads(ok(run("jobs", "--user", user, "--json", *filters)).stdout)
        return sorted(j["jobId"] for j in out["jobs"])

    assert ids("--model", "sdxl") == [sdxl]
    assert ids("--status", "cancelled") == [submitted[0]]
    assert ids("--since", "1h", "--limit", "100") == sorted(submitted + [sdxl])
    assert ids("--since", "2100-01-01T00:00:00Z") == []
    assert "no jobs" in ok(run("jobs", "--user", user, "--since", "2100-01-01T00:00:00Z")).stderr
    for job_id in submitted[1:] + [sdxl]:
        ok(run("cancel", job_id))


def test_jobs_refuses_bad_arguments(run):
    assert run("jobs", "--limit", "0").returncode == 2
    assert run("jobs", "--status", "finished").returncode == 2
    bad_since = run("jobs", "--since", "yesterday", "--json")
    assert bad_since.returncode == 1 and json.loads(bad_since.stdout)["code"] == "INVALID_VALUE"


def test_cancel_a_running_job_then_a_finished_one(run, sim):
    sim.faults(latency_s=60)
    job_id = ok(run("generate", "image", "A slow cat")).stdout.strip()
    assert ok(run("cancel", job_id)).stdout.strip() == f"{job_id}: cancelled"
    assert run("wait", job_id).returncode == 4
    sim.reset()
    done = json.loads(ok(run("generate", "image", "A quick cat", "--wait", "--json")).stdout)
    refused = run("cancel", done["jobId"], "--json")
    assert refused.returncode == 1 and "JOB_NOT_CANCELLABLE" in refused.stderr
    assert json.loads(refused.stdout)["status"] == "completed"


# ---- exit codes ------------------------------------------------------------------------------

def test_exit_1_on_an_api_error_with_the_error_as_json(run):
    proc = run("generate", "image", "A cat", "--width", "5000", "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["code"] == "OUT_OF_RANGE" and "width" in proc.stderr
    assert run("status", "no-such-job").returncode == 1
    assert run("models", "--api-key", "vsl_wrong").returncode == 1


def test_exit_2_on_usage_errors(run):
    assert run("models", drop=("VSL_API_KEY",)).returncode == 2
    assert run("generate", "image", "x", "--param", "novalue").returncode == 2
    assert run("generate", "video").returncode == 2          # --image is required
    no_dir = run("generate", "image", "x", "--wait", "--out", "missing/x.png")
    assert no_dir.returncode == 2 and "no directory missing" in no_dir.stderr
    assert "exit codes:" in ok(run("--help")).stdout
    assert "exit codes:" in ok(run("generate", "image", "--help")).stdout


def test_exit_3_when_the_job_failed(run, sim):
    sim.faults(fail_predictions=1)
    proc = run("generate", "image", "A cat", "--wait", "--out", "x.png")
    assert proc.returncode == 3 and "failed" in proc.stderr
    assert not (run.cwd / "x.png").exists()


def test_exit_4_when_the_job_was_cancelled(run, sim):
    sim.faults(latency_s=600)
    job = json.loads(ok(run("generate", "image", "A cat", "--json")).stdout)
    assert sim.api("POST", f"/v1/predictions/{job['replicateId']}/cancel").ok
    proc = run("wait", job["jobId"], "--json")
    assert proc.returncode == 4 and json.loads(proc.stdout)["status"] == "cancelled"


def test_exit_5_when_waiting_times_out(run, sim):
    sim.faults(latency_s=600)
    job_id = ok(run("generate", "image", "A cat")).stdout.strip()
    proc = run("wait", job_id, "--timeout", "1")
    assert proc.returncode == 5 and "after 1.0 s" in proc.stderr


def test_exit_6_when_the_api_cannot_be_reached(run):
    env_url = f"http://127.0.0.1:{free_port()}"
    proc = run("models", "--base-url", env_url)
    assert proc.returncode == 6 and "Connection" in proc.stderr


# ---- progress on a terminal -------------------------------------------------------------------

def test_progress_is_one_updating_line_on_a_terminal(run):
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([VSL, "generate", "image", "A cat", "--wait"], cwd=run.cwd,
                              env=run.env, stdout=subprocess.PIPE, stderr=follower, text=True,
                              timeout=120)
        os.close(follower)
        follower = None
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0, shown
    text = shown.decode()
    assert "\r\x1b[2K" in text and ": completed" in text and "/ ~5s" in text
    assert text.count("\n") <= 3    # the submission line, the progress line, its end
