"""`make bench`: the service's speed and size figures, each a ratio measured
side by side in one run (so it holds on a noisy machine), next to its goal.

    python -m tools.bench            # what `make bench` runs (a few minutes)
    python -m tools.bench --quick    # tiny sizes: checks the harness, not the goals

Figures (the method of each is in its function's docstring):
  cold start          `import app` / `import chalice, boto3`, whole process
  AWS calls           per POST /generate-media and per GET /status, counted at botocore
  webhook-to-completed  the service / a plain script, for a large video output
  processor memory    peak RSS copying a 2 GB output / a 2 MB one
  thumbnail time      a 10-minute 1080p video / a 2-second one
  API package         the API function's deployment.zip, unzipped (absolute)

It starts the AWS emulator and the Replicate simulator on free loopback ports
(no API server: the app runs in this process under chalice.test.Client, and
this process plays the event sources) and stops them when done. Exit 0 when
every goal is met, 1 when one is not.
"""
import argparse
import json
import os
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
from typing import Callable, Dict, List, Tuple

import requests

from chalicelib.notifications.signing import signed_headers
from local.stack import ROOT, SIMULATOR_TOKEN, LocalStack, free_port

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


FULL = Sizes(cold_start_runs=7, webhook_output_bytes=200 * MB, webhook_rounds=3,
             memory_small_bytes=2 * MB, memory_large_bytes=2000 * MB,
             long_video={"kind": "video", "seconds": 600, "width": 1920, "height": 1080},
             short_video={"kind": "video", "seconds": 2, "width": 1920, "height": 1080},
             thumbnail_runs=15)
QUICK = Sizes(cold_start_runs=1, webhook_output_bytes=4 * MB, webhook_rounds=1,
              memory_small_bytes=2 * MB, memory_large_bytes=8 * MB,
              long_video={"kind": "video", "seconds": 6, "width": 320, "height": 240},
              short_video={"kind": "video", "seconds": 2, "width": 320, "height": 240},
              thumbnail_runs=1)


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

def cold_start(runs: int) -> Row:
    """Wall time of a fresh interpreter importing the app, over one importing only
    Chalice and boto3 (what any Chalice function on AWS pays anyway). Both run
    `runs` times, interleaved, with the environment of the local stage; medians."""
    env = dict(os.environ, VSL_STAGE="local", PYTHONDONTWRITEBYTECODE="1")

    def wall(code: str) -> float:
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
        return time.perf_counter() - began

    wall("import app")  # compile any stale bytecode once, outside the timings
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
        import app  # after the recorder: every client the app makes is seen
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
        for route, samples_, goal in (("POST /generate-media", submits, 3),
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
        from chalicelib.jobs.prediction_events import prediction_message
        message = prediction_message(job["jobId"], Prediction.from_api(job["prediction"]))
        env = dict(self.stack.env(), VSL_MAX_OUTPUT_BYTES=str(max_output_bytes))
        done = subprocess.run([sys.executable, "-m", "tools.bench", "--copy-child"], cwd=ROOT,
                              env=env, input=json.dumps(message), capture_output=True, text=True,
                              check=True)
        peak = json.loads(done.stdout.strip().splitlines()[-1])["peak_kib"]
        stored = self.app.wiring.services().status.jobs.get(job["jobId"])
        if stored.result is None or stored.result.original.file_size < job["bytes"]:
            raise RuntimeError(f"the copy of job {job['jobId']} did not store its output")
        return peak


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


def with_stack(sizes: Sizes, logs: Path) -> Tuple[List[Row], List[str]]:
    stack = LocalStack(api_port=free_port(), emulator_port=free_port(),
                       simulator_port=free_port(), log_dir=logs, extra_env={
                           "VSL_LOCAL_KEYS_FILE": str(logs / "api-keys"),
                           # No API server runs: webhooks are posted by the bench itself.
                           "VSL_PUBLIC_BASE_URL": "http://127.0.0.1:9"})
    stack.start_emulator()
    try:
        stack.provision()
        stack.start_simulator()
        os.environ.update(stack.env())
        # The client's own key (the second): it submits for any userId, as "bench" does.
        return _measure(stack, sizes, (logs / "api-keys").read_text().split()[1])
    finally:
        stack.stop()


def _measure(stack: LocalStack, sizes: Sizes, api_key: str) -> Tuple[List[Row], List[str]]:
    from local.event_delivery import QueueConsumer, run_forever, s3_delivery, sqs_delivery
    from local.provision import media_events_queue
    bench = Bench(stack, api_key)
    bench.faults(latency_s=0.3, drop_webhooks=1_000_000)
    rows = bench.aws_calls()
    print("AWS calls measured", file=sys.stderr, flush=True)

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
    return rows, bench.notes + [bench.last_service_round, bench.last_plain_round]


def render(rows: List[Row], when: str, notes: List[str]) -> str:
    header = ("figure", "measured", "goal", "")
    cells = [(r.figure, r.shown, r.goal_shown, "pass" if r.passed else "FAIL") for r in rows]
    widths = [max(len(c[i]) for c in cells + [header]) for i in range(4)]
    lines = [f"make bench, {when}",
             "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths)).rstrip() for cell in cells]
    lines += ["", "Where the calls and the time go (the last round of each):"]
    lines += [f"  {n}" for n in notes]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Measure the service's figures against "
                                                 "their goals.")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes: checks the harness runs (the goals mean little)")
    parser.add_argument("--stage", default="homolog", help="stage packaged (default homolog)")
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
        measured, notes = with_stack(sizes, Path(tmp))
        rows += measured
    rows.append(thumbnail_time(sizes, sizes.thumbnail_runs))
    print("thumbnail time measured", file=sys.stderr, flush=True)
    rows.append(package_size(args.stage))
    print(render(rows, when + (" (--quick: tiny sizes)" if args.quick else ""), notes),
          flush=True)
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
