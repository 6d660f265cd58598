"""The processor killed (SIGKILL) in the middle of copying a large output: the
supervisor starts it again, as Lambda would, the queue hands the message over
again after its visibility timeout (10 s on the local stage), and the job
completes, stored once, charged once, notified once.

A stack of its own: the kill must not disturb other cases, and the dead
processor's temporary copy is left in this stack's TMPDIR, under pytest's."""
import os
import signal
import time

import pytest

from tests.support.simulator import Simulator
from tests.faults.conftest import separate_stack
from tests.faults.invariants import (BUCKET, Run, assert_invariants, emulator_client,
                                     fresh_api, wait_terminal)

pytestmark = pytest.mark.integration

PATH = "/stage-killed"
# A 2-second 640x360 H.264 clip padded to ~200 MB: its copy takes seconds.
LARGE_VIDEO = {"kind": "video", "seconds": 2, "width": 640, "height": 360,
               "bytes": 200_000_000}


@pytest.fixture(scope="module")
def killable(tmp_path_factory, receiver):
    tmp = tmp_path_factory.mktemp("processor-tmp")
    # Poll-time reconciliation at its deployed window (30 s), not the tests' 2 s: a copy
    # of this size outlasts 2 s (see test_large_output_completes_while_polled).
    with separate_stack(tmp_path_factory, receiver, PATH, TMPDIR=str(tmp),
                        VSL_RECONCILE_AFTER_S="30") as stack:
        yield stack


def test_the_processor_killed_mid_copy_is_restarted_and_the_job_completes_once(
        killable, receiver):
    stack = killable
    sim = Simulator(stack.simulator_url)
    sim.faults(large_output=LARGE_VIDEO, latency_s=0.5)
    run = Run(fresh_api(stack), sample_image=f"{sim.base_url}/samples/input.jpg")
    job = run.submit("video")
    assert job.status_code == 202, job.response
    processor = stack.procs["processor"]

    # Mid-copy, as a fact: the original's multipart upload to our bucket has begun.
    s3, deadline = emulator_client(stack, "s3"), time.monotonic() + 120
    while not [u for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
               if job.job_id in u["Key"]]:
        assert time.monotonic() < deadline, run.api.status(job.job_id).json()
        assert processor.poll() is None, "the processor died on its own"
        time.sleep(0.05)
    os.kill(processor.pid, signal.SIGKILL)
    # The preview goes first (drawn from the processor's local copy); the original last.
    stored = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
              if job.job_id in o["Key"] and "/original." in o["Key"]]
    assert stored == [], "the copy had finished before the kill"

    deadline = time.monotonic() + 30
    while stack.procs["processor"] is processor:
        assert time.monotonic() < deadline, "the processor was not restarted"
        time.sleep(0.1)
    assert stack.restarts.get("processor") == 1

    views = wait_terminal(run.api, run.accepted, timeout_s=180)
    (view,) = views.values()
    assert view["result"]["fileSize"] == LARGE_VIDEO["bytes"], view
    assert_invariants(run, stack, sim, receiver, PATH, views)


def test_large_output_completes_while_polled(sim, stack, receiver):
    """The session stack reconciles a job quiet for 2 s (deployed: 30 s); a ~200 MB
    copy and thumbnail outlast that here as a 2 GB one outlasts 30 s on AWS."""
    sim.faults(large_output=LARGE_VIDEO, latency_s=0.5)
    run = Run(fresh_api(stack), sample_image=f"{sim.base_url}/samples/input.jpg")
    assert run.submit("video").status_code == 202, run.submitted[-1].response
    views = wait_terminal(run.api, run.accepted, timeout_s=60)
    assert_invariants(run, stack, sim, receiver, "/stage", views)
