"""`make bench`: the service's speed and size figures, each a ratio measured
side by side in one run (so it holds on a noisy machine), next to its goal.

    python -m tools.bench            # what `make bench` runs (a few minutes)
    python -m tools.bench --quick    # tiny sizes: checks the harness, not the goals

Figures (the method of each is in its function's docstring):
  cold start          `import app` / `import chalice, boto3`, whole process
  AWS calls           per POST /generate-media and per GET /status, counted at botocore
  webhook-to-completed  the service / a plain script, for a large video output
  processor memory    peak RSS copying a 2 GB output / a 2 MB one
  AWS cost per job    one job of each model through every function, priced
                      (tools/costs.py, tools/aws_prices.json) / Replicate's price
  thumbnail time      a 10-minute 1080p video / a 2-second one
  API package         the API function's deployment.zip, unzipped (absolute)

It starts the AWS emulator and the Replicate simulator on free loopback ports
(no API server: the app runs in this process under chalice.test.Client, and
this process plays the event sources) and stops them when done. Exit 0 when
every goal is met, 1 when one is not.
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple

import requests

from chalicelib.notifications.signing import signed_headers
from local.stack import ROOT, SIMULATOR_TOKEN, LocalStack, free_port

if TYPE_CHECKING:  # imported where used: the cost model is not needed to time a cold start
    from tools.costs import FunctionConfig, Invocation, JobMeasure, Retention, Units

MB = 1_000_000


@dataclass(frozen=True)
class Sizes:
    cold_start_runs: int
    webhook_output_bytes: int
    webhook_rounds: int
    memory_small_bytes: int
    memory_large_bytes: int
    long_video: dict
    short_video: dict
    thumbnail_runs: int
    cost_rounds: int


FULL = Sizes(cold_start_runs=7, webhook_output_bytes=200 * MB, webhook_rounds=3,
             memory_small_bytes=2 * MB, memory_large_bytes=2000 * MB,
             long_video={"kind": "video", "seconds": 600, "width": 1920, "height": 1080},
             short_video={"kind": "video", "seconds": 2, "width": 1920, "height": 1080},
             thumbnail_runs=15, cost_rounds=3)
QUICK = Sizes(cold_start_runs=1, webhook_output_bytes=4 * MB, webhook_rounds=1,
              memory_small_bytes=2 * MB, memory_large_bytes=8 * MB,
              long_video={"kind": "video", "seconds": 6, "width": 320, "height": 240},
              short_video={"kind": "video", "seconds": 2, "width": 320, "height": 240},
              thumbnail_runs=1, cost_rounds=1)


@dataclass
class Row:
    figure: str
    value: float
    shown: str
    goal: float
    goal_shown: str

    @property
    def passed(self) -> bool:
        return self.value <= self.goal


def median(values: List[float]) -> float:
    return statistics.median(values)


def _mb(n: int) -> str:
    return f"{n / MB:g} MB" if n < 1000 * MB else f"{n / (1000 * MB):g} GB"


@contextmanager
def stdout_to_stderr():
    """Children's chatter (chalice package's) off stdout, which holds the table only."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


# ---- measurements that need no stack ------------------------------------------

def fal_line(priced) -> str:
    """The same job's AWS cost beside fal.ai's price: the jobs above ran on Replicate
    (the default route); on fal the AWS side is the same but for one webhook fewer."""
    from chalicelib.providers.fal_models import FAL_MODELS
    fal = FAL_MODELS.get(priced.measure.model_id)
    if fal is None or fal.price_usd is None:
        return "    on fal.ai: no published price"
    return (f"    on fal.ai ({fal.endpoint_id}): fal's price ${fal.price_usd:g} ({fal.price_note}); "
            f"AWS per job {priced.total / fal.price_usd:.2%} of it (measured on Replicate's "
            f"path: fal posts one webhook, Replicate two)")


def cold_start(runs: int) -> Row:
    """Wall time of a fresh interpreter importing the app, over one importing only
    Chalice and boto3 (what any Chalice function on AWS pays anyway). Both run
    `runs` times, interleaved, with the environment of the local stage; medians."""
    env = dict(os.environ, VSL_STAGE="local", PYTHONDONTWRITEBYTECODE="1")

    def wall(code: str, environ=env) -> float:
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ, check=True)
        return time.perf_counter() - began

    # Compile any stale bytecode once, outside the timings, as the package ships it
    # compiled (tools/package_terraform.py); the timed runs write none.
    wall("import app", {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"})
    app_times, base_times = [], []
    for _ in range(runs):
        app_times.append(wall("import app"))
        base_times.append(wall("import chalice, boto3"))
    app_s, base_s = median(app_times), median(base_times)
    return Row("cold start: `import app` / `import chalice, boto3`", app_s / base_s,
               f"{app_s / base_s:.2f} ({app_s * 1000:.0f} / {base_s * 1000:.0f} ms)",
               1.25, "<= 1.25")


def package_size(stage: str) -> Row:
    """The API function's deployment.zip as `make package` builds it (chalice
    package, the same call), unzipped: the sum of its files' sizes."""
    from tools.package_terraform import chalice_package
    with tempfile.TemporaryDirectory(prefix="vsl-bench-package-") as tmp, stdout_to_stderr():
        out = Path(tmp) / "chalice"
        chalice_package(stage, out)
        with zipfile.ZipFile(out / "deployment.zip") as z:
            size = sum(i.file_size for i in z.infolist())
    return Row("API function package, unzipped", size / MB, f"{size / MB:.1f} MB",
               30, "<= 30 MB")


def thumbnail_time(sizes: Sizes, runs: int) -> Row:
    """chalicelib.media.make_thumbnail on a long and a short H.264 MP4 made by the
    simulator's media helpers (cached), interleaved `runs` times; medians."""
    from chalicelib import media
    from local.replicate_sim import large
    long_path = large.video_file(large.normalize(sizes.long_video))
    short_path = large.video_file(large.normalize(sizes.short_video))
    with tempfile.TemporaryDirectory(prefix="vsl-bench-thumb-") as tmp:
        dst = os.path.join(tmp, "thumbnail.jpg")

        def timed(path: str) -> float:
            began = time.perf_counter()
            media.make_thumbnail(path, "video", dst)
            return time.perf_counter() - began

        timed(short_path)  # imports PyAV once, outside the timings
        long_times, short_times = [], []
        for _ in range(runs):
            long_times.append(timed(long_path))
            short_times.append(timed(short_path))
    long_s, short_s = median(long_times), median(short_times)
    spec = sizes.long_video
    return Row(f"thumbnail: {spec['seconds']} s {spec['height']}p video / "
               f"{sizes.short_video['seconds']} s one",
               long_s / short_s,
               f"{long_s / short_s:.2f} ({long_s * 1000:.0f} / {short_s * 1000:.0f} ms)",
               1.2, "<= 1.2")


# ---- the in-process service against the emulator and the simulator -------------

@dataclass(frozen=True)
class Span:
    """Something timed: an AWS call ("dynamodb.GetItem") or a step ("download")."""
    name: str
    began: float
    ended: float
    thread: int

    @property
    def ms(self) -> float:
        return (self.ended - self.began) * 1000


class Recorder:
    """Times AWS calls made through boto3's default session (the one chalicelib.aws
    creates its clients from, counted at botocore's before-call/after-call), and
    steps wrapped with ``wrap``, while recording."""

    def __init__(self):
        import boto3
        boto3.setup_default_session()
        events = boto3.DEFAULT_SESSION.events
        events.register("before-call", self._before_call)
        events.register("after-call", self._after_call)
        self.spans: List[Span] = []
        self._open: Dict[int, List[tuple]] = {}
        self._recording = threading.Event()
        self._lock = threading.Lock()
        self._steps_running = 0

    def _before_call(self, event_name: str = "", **kwargs) -> None:
        if self._recording.is_set():
            _, service, operation = event_name.split(".", 2)
            self._open.setdefault(threading.get_ident(), []).append(
                (f"{service}.{operation}", time.perf_counter()))

    def _after_call(self, **kwargs) -> None:
        started = self._open.get(threading.get_ident())
        if self._recording.is_set() and started:
            name, began = started.pop()
            self.spans.append(Span(name, began, time.perf_counter(), threading.get_ident()))

    def wrap(self, owner, attribute: str, step: str) -> None:
        """Time every call of ``owner.attribute`` as the step ``step``."""
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            if not self._recording.is_set():
                return original(*args, **kwargs)
            with self._lock:
                self._steps_running += 1
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spans.append(Span(step, began, time.perf_counter(), threading.get_ident()))
                with self._lock:
                    self._steps_running -= 1
        setattr(owner, attribute, timed)

    def record(self, action: Callable[[], None]) -> List[Span]:
        """What ``action`` (and any thread working meanwhile) called, in order of start.
        Steps still running when it returns (the tail of the work it waited for) are
        waited for, a few seconds at most."""
        self.spans, self._open = [], {}
        self._recording.set()
        try:
            action()
            deadline = time.monotonic() + 5
            while self._steps_running and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            self._recording.clear()
        return sorted(self.spans, key=lambda span: span.began)


# What Lambda's event sources do, not the functions: left out of the functions' calls.
EVENT_SOURCE_CALLS = {"sqs.ReceiveMessage", "sqs.DeleteMessage", "sqs.GetQueueAttributes"}


FUNCTIONS = ("route", "processor", "thumbnailer")


def _function_of(call: Span, steps: List[Span]) -> str:
    """The function (route, processor, thumbnailer) a call was made in: the one
    running on its thread, else (boto3's transfer threads) the latest started of
    those running then (a function's transfers follow its start)."""
    running = [sp for sp in steps if sp.name in FUNCTIONS and sp.began <= call.began <= sp.ended]
    same_thread = [sp for sp in running if sp.thread == call.thread]
    chosen = same_thread or running
    return max(chosen, key=lambda sp: sp.began).name if chosen else "other"


class Bench:
    def __init__(self, stack: LocalStack, api_key: str):
        from chalice.test import Client
        self.stack = stack
        self.api_key = api_key
        self.recorder = Recorder()
        self.sizer = DynamoSizer(stack.stage)
        import app  # after the recorder and the sizer: every client the app makes is seen
        self.app = app
        self.recorder.wrap(app.wiring.replicate_client(), "create_prediction", "Replicate create")
        self.client = Client(app.app, stage_name=stack.stage, project_dir=str(ROOT))
        self.sim = requests.Session()
        self.sim.headers["Authorization"] = f"Bearer {SIMULATOR_TOKEN}"
        self.notes: List[str] = []  # where the calls and the time go, printed under the table

    # -- the API ---------------------------------------------------------------

    def submit(self, body: dict) -> dict:
        resp = self.client.http.post("/generate-media", body=json.dumps(body), headers={
            "X-API-Key": self.api_key, "Content-Type": "application/json"})
        if resp.status_code != 202:
            raise RuntimeError(f"submit answered {resp.status_code}: {resp.body[:300]!r}")
        return json.loads(resp.body)

    def status(self, job_id: str) -> dict:
        resp = self.client.http.get(f"/status/{job_id}", headers={"X-API-Key": self.api_key})
        if resp.status_code != 200:
            raise RuntimeError(f"status answered {resp.status_code}: {resp.body[:300]!r}")
        return json.loads(resp.body)

    def image_job(self) -> dict:
        return self.submit({"userId": "bench", "mediaType": "image", "modelId": "flux-schnell",
                            "parameters": {"prompt": "A lighthouse", "width": 512,
                                           "height": 512}})

    def video_jobs(self, count: int, output_bytes: int) -> List[dict]:
        """Video jobs whose predictions have succeeded with an output of ``output_bytes``."""
        self.faults(large_output={"kind": "video", "bytes": output_bytes})
        jobs = [self.submit({"userId": "bench", "mediaType": "video",
                             "modelId": "stability-video",
                             "parameters": {"image": f"{self.stack.simulator_url}"
                                                     f"/samples/input.jpg"}})
                for _ in range(count)]
        for job in jobs:
            job["prediction"] = self.prediction_when_done(job["replicateId"])
        return jobs

    # -- the simulator ---------------------------------------------------------

    def faults(self, **changes) -> None:
        self.sim.post(f"{self.stack.simulator_url}/_sim/faults", json=changes,
                      timeout=10).raise_for_status()

    def prediction_when_done(self, prediction_id: str, timeout_s: float = 120) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            p = self.sim.get(f"{self.stack.simulator_url}/v1/predictions/{prediction_id}",
                             timeout=10).json()
            if p["status"] == "succeeded":
                return p
            if p["status"] in ("failed", "canceled"):
                raise RuntimeError(f"prediction {prediction_id} {p['status']}: {p.get('error')}")
            time.sleep(0.1)
        raise TimeoutError(f"prediction {prediction_id} not done after {timeout_s} s")

    # -- figures ---------------------------------------------------------------

    def aws_calls(self, samples: int = 3) -> List[Row]:
        """botocore `before-call` events on this thread during one request, after a
        warm-up request of each kind (which creates the clients). GET /status is
        asked of a job submitted just before (pending, so not yet due a check
        with Replicate, which is the same calls plus at most one update)."""
        warm = self.image_job()
        self.status(warm["jobId"])
        me = threading.get_ident()
        submits, polls = [], []
        for _ in range(samples):
            job = {}
            began = time.perf_counter()
            spans = self.recorder.record(lambda: job.update(self.image_job()))
            submits.append(((time.perf_counter() - began) * 1000,
                            [sp for sp in spans if sp.thread == me]))
            began = time.perf_counter()
            spans = self.recorder.record(lambda: self.status(job["jobId"]))
            polls.append(((time.perf_counter() - began) * 1000,
                          [sp for sp in spans if sp.thread == me]))
        rows = []
        # A submit: the user's limit item, the start's place in Replicate's pace, the job,
        # and the prediction's id on it.
        for route, samples_, goal in (("POST /generate-media", submits, 4),
                                      ("GET /status", polls, 1)):
            total_ms, spans = max(samples_, key=lambda s_: len(s_[1]))
            calls = [sp for sp in spans if "." in sp.name]
            ops = ", ".join(op.split(".")[1] + (f" x{n}" if n > 1 else "")
                            for op, n in Counter(sp.name for sp in calls).items())
            rows.append(Row(f"AWS calls per {route}", len(calls), f"{len(calls)} ({ops})", goal,
                            f"<= {goal}"))
            steps = "; ".join(f"{sp.name} {sp.ms:.0f}" for sp in spans)
            self.notes.append(f"{route}: {total_ms:.0f} ms in all, {sum(sp.ms for sp in calls):.0f}"
                              f" ms in {len(calls)} AWS calls: {steps} (ms, in order)")
        return rows

    def time_the_steps(self) -> None:
        """Wrap the steps of the webhook-to-completed path, to show where its time goes."""
        from chalicelib import media
        services = self.app.wiring.services()
        outputs, storage = services.prediction_events.outputs, services.thumbnails.storage
        for owner, attribute, step in (
                (services.prediction_events, "handle", "processor"),
                (outputs, "fetcher", "fetch from Replicate"),
                (media, "probe", "probe"),
                (storage, "upload", "S3 upload"),
                (services.thumbnails, "on_original_stored", "thumbnailer"),
                (storage, "download_file", "S3 download"),
                (media, "make_thumbnail", "thumbnail"),
                (services.thumbnails.lifecycle, "finish", "finish")):
            self.recorder.wrap(owner, attribute, step)

    def settle(self, queue_urls: List[str], timeout_s: float = 30) -> None:
        """Wait until the event sources have nothing left to deliver, so one round's
        leftovers (moto announces each multipart upload twice: a Put and a
        CompleteMultipartUpload event) are not counted in the next."""
        sqs = self.app.wiring.aws.client("sqs")
        deadline = time.monotonic() + timeout_s
        quiet_since = None
        while time.monotonic() < deadline:
            pending = sum(int(v) for url in queue_urls for v in sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                              "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"].values())
            if pending:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 1.5:  # longer than a receive's wait
                return
            time.sleep(0.1)

    def webhook_to_completed(self, job: dict) -> float:
        """From the signed `completed` webhook reaching POST /webhook/replicate to
        the job being completed: the route, the queue, the processor (download,
        probe, record, upload), the storage event, the thumbnailer (download,
        thumbnail, upload, finish), as on AWS."""
        body = json.dumps(job["prediction"])
        headers = signed_headers(self.stack.webhook_secret, body)
        jobs = self.app.wiring.services().status.jobs
        times = {}

        def deliver_and_wait():
            times["began"] = time.perf_counter()
            resp = self.client.http.post(f"/webhook/replicate?jobId={job['jobId']}", body=body,
                                         headers=headers)
            times["answered"] = time.perf_counter()
            if resp.status_code != 200:
                raise RuntimeError(f"webhook answered {resp.status_code}: {resp.body[:300]!r}")
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                current = jobs.get(job["jobId"])
                if current.status.value == "completed":
                    times["ended"] = time.perf_counter()
                    return
                if current.status.value in ("failed", "cancelled"):
                    raise RuntimeError(f"job {job['jobId']} {current.status.value}: "
                                       f"{current.error}")
                time.sleep(0.05)
            raise TimeoutError(f"job {job['jobId']} not completed")

        spans = self.recorder.record(deliver_and_wait)
        me, t0 = threading.get_ident(), times["began"]
        # The bench's own polling (this thread, after the route answered) is not the service's.
        spans = [sp for sp in spans if sp.name not in EVENT_SOURCE_CALLS
                 and not (sp.thread == me and sp.began >= times["answered"])]
        route = Span("route", t0, times["answered"], me)
        steps = [route] + [sp for sp in spans if "." not in sp.name]
        timeline = ", ".join(f"{sp.name} {sp.began - t0:.1f}+{sp.ended - sp.began:.1f}"
                             for sp in steps)
        by_function: Dict[str, Counter] = {}
        for call in (sp for sp in spans if "." in sp.name):
            by_function.setdefault(_function_of(call, steps), Counter())[call.name] += 1
        calls = "; ".join(f"{fn}: " + ", ".join(f"{op} x{n}" if n > 1 else op
                                                for op, n in ops.items())
                          for fn, ops in by_function.items())
        self.last_service_round = (
            f"service, {_mb(job['bytes'])}: {times['ended'] - t0:.1f} s; steps (start+duration, "
            f"s from the webhook): {timeline}; AWS calls by function: {calls}")
        return times["ended"] - t0

    def plain_copy(self, job: dict, workdir: str) -> float:
        """The same work by a plain script: requests, chalicelib.media and boto3,
        in one go (download, probe, upload, thumbnail from the local file, upload)."""
        import boto3

        from chalicelib import media
        s3 = boto3.client("s3")
        bucket = self.app.wiring.settings().names.media_bucket
        key = f"bench/plain/{job['jobId']}"
        path, thumb = os.path.join(workdir, "original.mp4"), os.path.join(workdir, "thumb.jpg")
        marks = [("", time.perf_counter())]
        with requests.get(job["prediction"]["output"], stream=True, timeout=60) as resp, \
                open(path, "wb") as f:
            resp.raise_for_status()
            for chunk in resp.iter_content(1 << 20):
                f.write(chunk)
        marks.append(("download", time.perf_counter()))
        info = media.probe(path, "video")
        marks.append(("probe", time.perf_counter()))
        with open(path, "rb") as f:
            s3.upload_fileobj(f, bucket, f"{key}/copy.mp4",
                              ExtraArgs={"ContentType": info.content_type})
        marks.append(("S3 upload", time.perf_counter()))
        media.make_thumbnail(path, "video", thumb)
        marks.append(("thumbnail", time.perf_counter()))
        with open(thumb, "rb") as f:
            s3.upload_fileobj(f, bucket, f"{key}/thumb.jpg", ExtraArgs={"ContentType": "image/jpeg"})
        marks.append(("S3 upload", time.perf_counter()))
        os.remove(path)
        elapsed = marks[-1][1] - marks[0][1]
        self.last_plain_round = (f"plain script, {_mb(job['bytes'])}: {elapsed:.1f} s; " + ", ".join(
            f"{name} {end - start:.1f}" for (_, start), (name, end) in zip(marks, marks[1:])))
        return elapsed

    def copy_peak_rss(self, job: dict, max_output_bytes: int) -> int:
        """Peak RSS (VmHWM, KiB) of a fresh processor process handling the job's
        succeeded prediction: the Lambda handler, called as the event source calls it."""
        from chalicelib.jobs.model import Prediction
        from chalicelib.messages import PredictionMessage
        message = PredictionMessage(job["jobId"], Prediction.from_api(job["prediction"])).body()
        env = dict(self.stack.env(), VSL_MAX_OUTPUT_BYTES=str(max_output_bytes))
        done = subprocess.run([sys.executable, "-m", "tools.bench", "--copy-child"], cwd=ROOT,
                              env=env, input=json.dumps(message), capture_output=True, text=True,
                              check=True)
        peak = json.loads(done.stdout.strip().splitlines()[-1])["peak_kib"]
        stored = self.app.wiring.services().status.jobs.get(job["jobId"])
        if stored.result is None or stored.result.original.file_size < job["bytes"]:
            raise RuntimeError(f"the copy of job {job['jobId']} did not store its output")
        return peak


# ---- cost per job ---------------------------------------------------------------------------

# What each model's cost run submits (the spec's defaults).
COST_JOBS = {
    "flux-schnell": {"mediaType": "image", "parameters": {"prompt": "A lighthouse at dusk"}},
    "sdxl": {"mediaType": "image", "parameters": {"prompt": "A lighthouse at dusk"}},
    "stability-video": {"mediaType": "video", "parameters": {"image": "{sim}/samples/input.jpg"}},
    "musicgen": {"mediaType": "audio", "parameters": {"prompt": "Epic orchestral music",
                                                      "duration": 8}},
}
# The spec's client polls every 5 s until the job ends: one poll, then one per 5 s of the model.
POLL_INTERVAL_S = 5
# The fixed shares (the sweep, every minute) are spread over this many jobs a day.
JOBS_PER_DAY = 1_000_000
# The capacity plan's peak hour: ten times the day's average rate.
PEAK_FACTOR = 10
COST_GOAL = 0.02
# Chalice's function names, and ours.
FUNCTION_NAMES = {"api_handler": "api", "process_job_event": "processor",
                  "make_thumbnail": "thumbnailer", "deliver_notifications": "notifications",
                  "sweep_jobs": "sweep"}


def _terraform_number(text: str, name: str) -> Optional[float]:
    """``name = N`` in a tfvars file, or ``default = N`` of ``variable "name"``; None for null."""
    match = re.search(rf'^\s*{name}\s*=\s*([0-9.]+|null)', text, re.M) or re.search(
        rf'variable\s+"{name}"\s*\{{[^}}]*?default\s*=\s*([0-9.]+|null)', text, re.S)
    if match is None or match.group(1) == "null":
        return None
    return float(match.group(1))


def function_configs() -> Dict[str, "FunctionConfig"]:
    """Memory from Chalice's config; /tmp of the media functions from Terraform."""
    from tools.costs import FunctionConfig
    chalice = json.loads((ROOT / ".chalice" / "config.json").read_text())["lambda_functions"]
    max_output_mb = _terraform_number((ROOT / "terraform" / "variables.tf").read_text(),
                                      "max_output_mb")
    media = int(max_output_mb) + 512  # terraform/modules/service: media_ephemeral_storage_mb
    return {ours: FunctionConfig(chalice[theirs]["lambda_memory_size"],
                                 media if ours in ("processor", "thumbnailer") else 512)
            for theirs, ours in FUNCTION_NAMES.items()}


def retention(stage: str, kept_months: float) -> "Retention":
    """Days each kind of object is kept, from the stage's tfvars over the variables' defaults."""
    from tools.costs import Retention
    defaults = (ROOT / "terraform" / "variables.tf").read_text()
    tfvars_path = ROOT / "terraform" / f"{stage}.tfvars"
    tfvars = tfvars_path.read_text() if tfvars_path.exists() else ""

    def days(name):
        value = _terraform_number(tfvars, name) if re.search(rf"^\s*{name}\s*=", tfvars, re.M) \
            else _terraform_number(defaults, name)
        return None if value is None else int(value)
    original, thumbnail = days("original_expiration_days"), days("thumbnail_expiration_days")
    return Retention({"original": original, "output": original, "thumbnail": thumbnail},
                     kept_months)


class DynamoSizer:
    """While on: the read and write units of each DynamoDB call, from what it read
    or wrote. A write's item is read before and after it with a client of another
    session (not counted; its time is taken off the function's duration)."""

    def __init__(self, stage: str):
        import boto3
        from chalicelib.resources import load_spec
        from tools.costs import TableShape
        spec = load_spec()
        self.shapes = {f"{spec['service']}-{stage}-{name}": TableShape.from_spec(table)
                       for name, table in spec["tables"].items()}
        self.shadow = boto3.session.Session().client("dynamodb")
        events = boto3.DEFAULT_SESSION.events
        events.register("before-parameter-build.dynamodb", self._params)
        events.register("before-call.dynamodb", self._before)
        events.register("after-call.dynamodb", self._after)
        self.on = threading.Event()
        self.units: List[Tuple[int, float, "Units"]] = []      # (thread, time, units)
        self.shadow_spans: List[Span] = []
        self._pending: Dict[int, dict] = {}

    def _read(self, table: str, key: dict) -> Optional[dict]:
        began = time.perf_counter()
        try:
            return self.shadow.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        finally:
            self.shadow_spans.append(Span("shadow", began, time.perf_counter(),
                                          threading.get_ident()))

    def _key(self, table: str, params: dict) -> Optional[dict]:
        if "Key" in params:
            return params["Key"]
        if "Item" in params and table in self.shapes:
            return self.shapes[table].key_of(params["Item"])
        return None

    def _params(self, params=None, model=None, **kwargs) -> None:
        if self.on.is_set():
            self._pending[threading.get_ident()] = {"op": model.name, "params": dict(params)}

    def _before(self, model=None, **kwargs) -> None:
        pending = self._pending.get(threading.get_ident())
        if not self.on.is_set() or pending is None:
            return
        params, table = pending["params"], pending["params"].get("TableName")
        if model.name in ("PutItem", "UpdateItem", "DeleteItem") and table in self.shapes:
            pending["before"] = self._read(table, self._key(table, params))

    def _after(self, parsed=None, model=None, **kwargs) -> None:
        from tools.costs import Units, batch_read_units, read_call_units, write_call_units
        pending = self._pending.pop(threading.get_ident(), None)
        if not self.on.is_set() or pending is None:
            return
        params, table, op = pending["params"], pending["params"].get("TableName"), model.name
        if op == "BatchGetItem":
            units = sum((batch_read_units(parsed.get("Responses", {}).get(t, []),
                                          bool(request.get("ConsistentRead")))
                         for t, request in params["RequestItems"].items() if t in self.shapes),
                        Units())
            self.units.append((threading.get_ident(), time.perf_counter(), units))
            return
        shape = self.shapes.get(table)
        if shape is None:
            return
        if op == "GetItem":
            units = read_call_units([parsed.get("Item")], bool(params.get("ConsistentRead")))
        elif op in ("Query", "Scan"):
            units = read_call_units(parsed.get("Items", []), bool(params.get("ConsistentRead"))
                                    and "IndexName" not in params)
        elif op in ("PutItem", "UpdateItem", "DeleteItem"):
            after = self._read(table, self._key(table, params))
            units = write_call_units(shape, pending.get("before"), after, "Error" not in parsed)
        else:
            units = Units()
        self.units.append((threading.get_ident(), time.perf_counter(), units))


def _owner(at: float, thread: int, steps: List[Span]) -> Optional[Span]:
    """The function run a call at ``at`` on ``thread`` belongs to: the run on that
    thread; for a thread that runs none (boto3's transfer threads), the latest
    started of those running then."""
    on_thread = [sp for sp in steps if sp.thread == thread]
    if on_thread:
        inside = [sp for sp in on_thread if sp.began <= at <= sp.ended]
        return inside[0] if inside else None
    running = [sp for sp in steps if sp.began <= at <= sp.ended]
    return max(running, key=lambda sp: sp.began) if running else None


def median_durations(rounds: List["JobMeasure"]) -> "JobMeasure":
    """The last round, each run's duration the median of that run in every round
    (runs matched by function, what they handled and their order)."""
    def keyed(measure):
        seen: Counter = Counter()
        for inv in measure.invocations:
            seen[inv.function, inv.kind] += 1
            yield (inv.function, inv.kind, seen[inv.function, inv.kind]), inv
    times: Dict[tuple, List[float]] = {}
    for measure in rounds:
        for key, inv in keyed(measure):
            times.setdefault(key, []).append(inv.seconds)
    for key, inv in keyed(rounds[-1]):
        inv.seconds = median(times[key])
    return rounds[-1]


class CostRun:
    """One job of each model through every function, in this process: the API's
    routes by chalice.test.Client, the queue and storage events by consumers
    calling the Lambda handlers, Replicate's two webhooks signed and posted by
    the bench (the simulator's are dropped)."""

    def __init__(self, bench: "Bench"):
        import boto3
        self.bench = bench
        self.sizer = bench.sizer
        self.quiet = boto3.session.Session()  # the bench's own reads: not counted
        self.names = bench.app.wiring.settings().names

    def _timed(self, function: str, handler, describe):
        """The Lambda handler, each run timed as ``function:what:jobId`` (``describe``
        reads what it handled, and for which job, from its event)."""
        recorder = self.bench.recorder

        def run(event, context):
            began = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                kind, job_id = describe(event)
                recorder.spans.append(Span(f"{function}:{kind}:{job_id}", began,
                                           time.perf_counter(), threading.get_ident()))
        return run

    def _run(self, name: str, call):
        """A function run by the bench itself (a route, the sweep), timed as
        ``name:bench``: it belongs to the job the bench is running."""
        began = time.perf_counter()
        try:
            return call()
        finally:
            self.bench.recorder.spans.append(Span(f"{name}:bench", began, time.perf_counter(),
                                                  threading.get_ident()))

    def _job(self, job_id: str) -> dict:
        item = self.quiet.client("dynamodb").get_item(
            TableName=self.names.jobs_table, Key={"jobId": {"S": job_id}},
            ConsistentRead=True)["Item"]
        return item

    def _wait(self, job_id: str, status: str, queues: List[str], timeout_s: float = 120) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            item = self._job(job_id)
            if item["status"]["S"] == status and not self._queued(queues):
                return item
            if item["status"]["S"] in ("failed", "cancelled"):
                raise RuntimeError(f"cost run: job {job_id} {item['status']['S']}")
            time.sleep(0.05)
        raise TimeoutError(f"cost run: job {job_id} not {status}")

    def _settle(self, queues: List[str], timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while self._queued(queues) and time.monotonic() < deadline:
            time.sleep(0.1)

    def _queued(self, queues: List[str]) -> int:
        sqs = self.quiet.client("sqs")
        return sum(int(v) for url in queues for v in sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                          "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"].values())

    def measure(self, stage: str, kept_months: float, rounds: int
                ) -> Tuple[List[Row], List[str]]:
        from local.event_delivery import (QueueConsumer, run_forever, s3_delivery,
                                          scheduled_event, sqs_delivery)
        from local.provision import media_events_queue
        from tools.costs import (Load, capacity_lines, load_prices, price_job,
                                 render_invocations, render_priced)
        app, sqs = self.bench.app, self.quiet.client("sqs")
        url = lambda name: sqs.get_queue_url(QueueName=name)["QueueUrl"]  # noqa: E731
        def message(event) -> Tuple[str, str]:
            body = json.loads(event["Records"][0]["body"])
            return body.get("prediction", {}).get("status", body["kind"]), body["jobId"]

        def stored(event) -> Tuple[str, str]:
            from urllib.parse import unquote_plus
            from chalicelib.storage import parse_original_key
            key = unquote_plus(event["Records"][0]["s3"]["object"]["key"])
            return "original stored", parse_original_key(key)
        consumers = [
            QueueConsumer("jobs", url(self.names.jobs_queue), sqs_delivery(
                self._timed("processor", app.process_job_event, message))),
            QueueConsumer("media-events", url(media_events_queue(self.bench.stack.stage)),
                          s3_delivery(self._timed("thumbnailer", app.make_thumbnail, stored))),
            QueueConsumer("notifications", url(self.names.notifications_queue), sqs_delivery(
                self._timed("notifications", app.deliver_notifications, message))),
        ]
        self.bench.faults(large_output=None, latency_s=0.3, drop_webhooks=1_000_000)
        stop = threading.Event()
        threads = run_forever(consumers, workers_each=1, stop=stop)
        # The jobs of the AWS call counts (their webhooks were dropped) end by the sweep
        # first, once quiet (5 s): they are not this measurement's.
        time.sleep(6)
        self.bench.app.sweep_jobs(scheduled_event(), None)
        functions, prices = function_configs(), load_prices()
        keep = retention(stage, kept_months)
        rows, details = [], [
            f"AWS cost per job: {prices.region} list prices of {prices.date} "
            f"(tools/aws_prices.json); the client polls every {POLL_INTERVAL_S} s; the sweep "
            f"shared by {JOBS_PER_DAY:,} jobs a day; Lambda's memory from .chalice/config.json, "
            f"retention from terraform/{stage}.tfvars"]
        all_priced = []
        try:
            urls = [c.queue_url for c in consumers]
            self._settle(urls)
            self.one_job("flux-schnell", urls)  # warm-up: clients, imports, the version lookup
            for model_id in COST_JOBS:
                measure = median_durations([self.one_job(model_id, urls)
                                            for _ in range(rounds)])
                priced = price_job(measure, functions, keep, prices)
                all_priced.append(priced)
                rows.append(Row(f"AWS cost per job / Replicate's price, {model_id}",
                                priced.ratio, f"{priced.ratio:.2%} (${priced.total:.6f} / "
                                              f"${measure.price_usd:g})",
                                COST_GOAL, f"<= {COST_GOAL:.0%}"))
                details += [""] + render_priced(priced, COST_GOAL) + [fal_line(priced)]
                details += ["    runs per job (function and what it handled, how many, measured "
                            "time, memory, DynamoDB units, AWS calls):"]
                details += render_invocations(measure.invocations, functions)
                print(f"cost of {model_id} measured", file=sys.stderr, flush=True)
        finally:
            stop.set()
            for t in threads:
                t.join(5)
        details += [""] + capacity_lines(all_priced, Load(JOBS_PER_DAY, PEAK_FACTOR), {
            "by-open": "every job (its one key, 'open')", "by-owner": "one client's",
            "by-user": "one user's", "by-cache-key": "identical requests'"})
        return rows, details

    def one_job(self, model_id: str, queues: List[str]) -> "JobMeasure":
        from chalicelib.catalog import CATALOG
        from chalicelib.jobs.sweep import MIN_QUIET_S
        from chalicelib.storage import kind_of
        from tools.costs import Invocation, JobMeasure, StoredObject, Units, item_size, stored_bytes
        bench, entry = self.bench, CATALOG[model_id]
        spec = COST_JOBS[model_id]
        body = {"userId": "bench-cost", "modelId": model_id, "mediaType": spec["mediaType"],
                "parameters": json.loads(json.dumps(spec["parameters"]).replace(
                    "{sim}", bench.stack.simulator_url))}
        done = {}

        def flow():
            job = self._run("api:submit", lambda: bench.submit(body))
            done["job"] = job
            prediction = bench.prediction_when_done(job["replicateId"])
            started = dict(prediction, status="processing", output=None, completed_at=None,
                           metrics={})
            for payload, status in ((started, "processing"), (prediction, "completed")):
                raw = json.dumps(payload)
                headers = signed_headers(bench.stack.webhook_secret, raw)
                resp = self._run("api:webhook", lambda: bench.client.http.post(
                    f"/webhook/replicate?jobId={job['jobId']}", body=raw, headers=headers))
                if resp.status_code != 200:
                    raise RuntimeError(f"webhook answered {resp.status_code}")
                done["item"] = self._wait(job["jobId"], status, queues)
            # A poll takes a lease of the key's poll limit once in 60 (one write): the
            # first poll here takes it, the one measured is a poll as most are.
            bench.status(job["jobId"])
            self._run("api:status", lambda: bench.status(job["jobId"]))

        self.sizer.units, self.sizer.shadow_spans = [], []
        self.sizer.on.set()
        try:
            spans = bench.recorder.record(flow)
        finally:
            self.sizer.on.clear()
        # Every run is an owner (a call belongs to the run it was made in), but only this
        # job's runs count (others may still be finishing).
        steps = [sp for sp in spans if ":" in sp.name]
        calls = [sp for sp in spans if "." in sp.name and sp.name not in EVENT_SOURCE_CALLS]
        mine = (done["job"]["jobId"], "bench")
        invocations = []
        for step in sorted(steps, key=lambda sp: sp.began):
            function, kind, job_id = step.name.rsplit(":", 2)
            if job_id not in mine:
                continue
            shadow = sum(sh.ended - sh.began for sh in self.sizer.shadow_spans
                         if sh.thread == step.thread and step.began <= sh.began <= step.ended)
            invocations.append(Invocation(
                function, kind, step.ended - step.began - shadow,
                Counter(c.name for c in calls if _owner(c.began, c.thread, steps) is step),
                sum((u for thread, at, u in self.sizer.units
                     if _owner(at, thread, steps) is step), Units())))
        for inv in invocations:
            if inv.function == "api" and inv.kind == "status":
                inv.per_job = 1 + math.ceil(entry.estimated_time_s / POLL_INTERVAL_S)
        item = done["item"]
        invocations.append(self.sweep_share())
        # The sweeps read it while it is open (one a minute, once quiet for 5 s), with
        # the other open jobs: its share is its size.
        sightings = max(0.0, entry.estimated_time_s - MIN_QUIET_S) / 60
        s3 = self.quiet.client("s3")
        prefix = item["result"]["M"]["s3Path"]["S"]
        objects = []
        for obj in s3.list_objects_v2(Bucket=self.names.media_bucket,
                                      Prefix=prefix + "/").get("Contents", []):
            tags = s3.get_object_tagging(Bucket=self.names.media_bucket, Key=obj["Key"])["TagSet"]
            objects.append(StoredObject(kind_of(obj["Key"]), obj["Size"], len(tags)))
        original = item["result"]["M"]["outputs"]["L"][0]["M"]["fileSize"]["N"]
        shape = self.sizer.shapes[self.names.jobs_table]
        return JobMeasure(model_id, entry.price_usd, invocations, objects, int(original),
                          stored_bytes(shape, item),
                          sweep_reads=sightings * item_size(item) / 4096 * 0.5)

    def sweep_share(self) -> "Invocation":
        """The every-minute sweep, measured once here, shared by a day's jobs."""
        from local.event_delivery import scheduled_event
        from tools.costs import Invocation, Units
        self.sizer.units = []
        self.sizer.on.set()
        try:
            spans = self.bench.recorder.record(lambda: self._run(
                "sweep:run", lambda: self.bench.app.sweep_jobs(scheduled_event(), None)))
        finally:
            self.sizer.on.clear()
        (step,) = [sp for sp in spans if sp.name == "sweep:run:bench"]
        calls = Counter(sp.name for sp in spans if "." in sp.name
                        and _owner(sp.began, sp.thread, [step]) is step)
        units = sum((u for _, _, u in self.sizer.units), Units())
        return Invocation("sweep", "every minute (share)", step.ended - step.began, calls,
                          units, per_job=1440 / JOBS_PER_DAY)


def copy_child() -> None:
    """Run in a fresh process: the processor handles one queue message; prints its peak RSS."""
    message = sys.stdin.read()
    import app
    app.process_job_event({"Records": [{
        "messageId": uuid.uuid4().hex, "receiptHandle": "bench", "body": message,
        "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs"}]}, None)
    status = Path("/proc/self/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    print(json.dumps({"peak_kib": peak}))


def with_stack(sizes: Sizes, logs: Path, stage: str, keep_months: float
               ) -> Tuple[List[Row], List[str], List[str]]:
    stack = LocalStack(api_port=free_port(), emulator_port=free_port(),
                       simulator_port=free_port(), log_dir=logs,
                       fal_simulator_port=None,  # the figures are Replicate's path
                       extra_env={
                           "VSL_LOCAL_KEYS_FILE": str(logs / "api-keys"),
                           # No API server runs: webhooks are posted by the bench itself.
                           "VSL_PUBLIC_BASE_URL": "http://127.0.0.1:9",
                           # What the measured stage tags (its rules' kinds), not the
                           # local stack's nothing: the objects' tags are billed.
                           "VSL_EXPIRING_KINDS": ",".join(
                               retention(stage, keep_months).expiring_kinds)})
    stack.start_emulator()
    try:
        stack.provision()
        stack.start_simulator()
        os.environ.update(stack.env())
        # The client's own key (the second): it submits for any userId, as "bench" does.
        return _measure(stack, sizes, (logs / "api-keys").read_text().split()[1], stage,
                        keep_months)
    finally:
        stack.stop()


def _measure(stack: LocalStack, sizes: Sizes, api_key: str, stage: str, keep_months: float
             ) -> Tuple[List[Row], List[str], List[str]]:
    from local.event_delivery import QueueConsumer, run_forever, s3_delivery, sqs_delivery
    from local.provision import media_events_queue
    bench = Bench(stack, api_key)
    bench.faults(latency_s=0.3, drop_webhooks=1_000_000)
    rows = bench.aws_calls()
    print("AWS calls measured", file=sys.stderr, flush=True)
    cost_rows, costs = CostRun(bench).measure(stage, keep_months, sizes.cost_rounds)

    warm, memory_small = bench.video_jobs(2, sizes.memory_small_bytes)
    memory_small["bytes"] = sizes.memory_small_bytes
    warm["bytes"] = sizes.memory_small_bytes
    big = bench.video_jobs(sizes.webhook_rounds, sizes.webhook_output_bytes)
    for job in big:
        job["bytes"] = sizes.webhook_output_bytes
    (memory_large,) = bench.video_jobs(1, sizes.memory_large_bytes)
    memory_large["bytes"] = sizes.memory_large_bytes

    names = bench.app.wiring.settings().names
    sqs = bench.app.wiring.aws.client("sqs")
    consumers = [
        QueueConsumer("jobs", sqs.get_queue_url(QueueName=names.jobs_queue)["QueueUrl"],
                      sqs_delivery(bench.app.process_job_event)),
        QueueConsumer("media-events", sqs.get_queue_url(
            QueueName=media_events_queue(stack.stage))["QueueUrl"],
            s3_delivery(bench.app.make_thumbnail)),
    ]
    bench.time_the_steps()
    stop = threading.Event()
    threads = run_forever(consumers, workers_each=1, stop=stop)
    try:
        with tempfile.TemporaryDirectory(prefix="vsl-bench-plain-") as workdir:
            bench.webhook_to_completed(warm)
            bench.plain_copy(warm, workdir)
            service_times, plain_times = [], []
            urls = [c.queue_url for c in consumers]
            bench.settle(urls)
            for i, job in enumerate(big):
                # Alternate which goes first; each starts with the event sources idle.
                if i % 2:
                    plain_times.append(bench.plain_copy(job, workdir))
                    bench.settle(urls)
                service_times.append(bench.webhook_to_completed(job))
                bench.settle(urls)
                if not i % 2:
                    plain_times.append(bench.plain_copy(job, workdir))
                    bench.settle(urls)
    finally:
        stop.set()
        for t in threads:
            t.join(5)
    service_s, plain_s = median(service_times), median(plain_times)
    rows.append(Row(f"webhook-to-completed / plain script, {_mb(sizes.webhook_output_bytes)} "
                    f"video", service_s / plain_s,
                    f"{service_s / plain_s:.2f} ({service_s:.1f} / {plain_s:.1f} s)", 1.5,
                    "<= 1.5"))
    print("webhook-to-completed measured", file=sys.stderr, flush=True)

    limit = sizes.memory_large_bytes * 2
    small_kib = bench.copy_peak_rss(memory_small, limit)
    large_kib = bench.copy_peak_rss(memory_large, limit)
    rows.append(Row(f"processor peak memory: {_mb(sizes.memory_large_bytes)} / "
                    f"{_mb(sizes.memory_small_bytes)} output", large_kib / small_kib,
                    f"{large_kib / small_kib:.2f} ({large_kib / 1024:.0f} / "
                    f"{small_kib / 1024:.0f} MiB)", 1.2, "<= 1.2"))
    return rows + cost_rows, bench.notes + [bench.last_service_round, bench.last_plain_round], \
        costs


def render(rows: List[Row], when: str, notes: List[str], costs: List[str] = ()) -> str:
    header = ("figure", "measured", "goal", "")
    cells = [(r.figure, r.shown, r.goal_shown, "pass" if r.passed else "FAIL") for r in rows]
    widths = [max(len(c[i]) for c in cells + [header]) for i in range(4)]
    lines = [f"make bench, {when}",
             "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths)).rstrip() for cell in cells]
    lines += ["", "Where the calls and the time go (the last round of each):"]
    lines += [f"  {n}" for n in notes]
    if costs:
        lines += [""] + list(costs)
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Measure the service's figures against "
                                                 "their goals.")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes: checks the harness runs (the goals mean little)")
    parser.add_argument("--stage", default="homolog", help="stage packaged (default homolog)")
    parser.add_argument("--keep-months", type=float, default=12,
                        help="months a kept object (no expiry set) is priced for (default 12)")
    parser.add_argument("--copy-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.copy_child:
        copy_child()
        return 0
    sizes = QUICK if args.quick else FULL
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = [cold_start(sizes.cold_start_runs)]
    print("cold start measured", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="vsl-bench-") as tmp:
        measured, notes, costs = with_stack(sizes, Path(tmp), args.stage, args.keep_months)
        rows += measured
    rows.append(thumbnail_time(sizes, sizes.thumbnail_runs))
    print("thumbnail time measured", file=sys.stderr, flush=True)
    rows.append(package_size(args.stage))
    print(render(rows, when + (" (--quick: tiny sizes)" if args.quick else ""), notes, costs),
          flush=True)
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
