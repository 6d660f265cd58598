"""Replicate misbehaving: webhooks lost, late, duplicated and out of order;
429 and 5xx storms on create and on get; outputs that expire before the copy."""
import time

import pytest

from tests.faults.invariants import Run, assert_invariants, fresh_api, wait_terminal

pytestmark = pytest.mark.integration

PATH = "/stage"  # the session stack's stage-wide webhooks


@pytest.mark.parametrize("faults", [
    {"drop_webhooks": 100},             # every webhook lost: polls and the sweep must GET
    {"webhook_delay_s": 4},             # late: after the poll-time reconciliation
    {"duplicate_webhooks": 100},        # each sent twice, separately signed
    {"reorder_webhooks": 100},          # "start" after "completed"
], ids=["lost", "late", "duplicated", "out-of-order"])
def test_webhooks_lost_late_duplicated_or_reordered_complete_each_job_once(
        sim, stack, receiver, faults):
    sim.faults(latency_s=1, **faults)
    run = Run(fresh_api(stack))
    for kind in ("image", "audio", "image"):
        assert run.submit(kind).status_code == 202, run.submitted[-1].response
    views = wait_terminal(run.api, run.accepted, timeout_s=90)
    assert_invariants(run, stack, sim, receiver, PATH, views)


def test_with_every_webhook_lost_and_nobody_polling_the_sweep_ends_each_job_once(
        sim, stack, receiver):
    sim.faults(drop_webhooks=100, latency_s=0.5)
    run = Run(fresh_api(stack))
    # Images: the sweep waits out each model's estimated time (5 s; musicgen's is 30 s).
    for kind in ("image", "image"):
        assert run.submit(kind).status_code == 202, run.submitted[-1].response
    # No status poll (it would reconcile): the job's own event says it ended.
    for job in run.accepted:
        deadline = time.monotonic() + 90
        while not receiver.received(PATH, job.job_id):
            assert time.monotonic() < deadline, f"job {job.job_id} was never swept"
            time.sleep(0.5)
    views = wait_terminal(run.api, run.accepted, timeout_s=10)
    assert_invariants(run, stack, sim, receiver, PATH, views)


def test_429_and_5xx_storm_on_create_refuses_and_refunds_and_the_rest_complete(
        sim, stack, receiver):
    # The 429 last: it holds every start back for its Retry-After, so what follows it
    # is queued until then, not sent.
    storm = [500, 502, 503, 504, 429]
    sim.faults(create_errors=storm)
    run = Run(fresh_api(stack))
    for _ in storm:
        refused = run.submit("image")
        assert refused.status_code in (502, 503), refused.response
        expected = "SERVICE_UNAVAILABLE" if refused.status_code == 503 else "REPLICATE_ERROR"
        assert refused.response["code"] == expected, refused.response
    assert [s.status_code for s in run.submitted] == [502, 502, 502, 502, 503]
    # The storm is over: every refused submission was given back; the next ones start
    # once Replicate's Retry-After has passed.
    for i, kind in enumerate(("image", "audio", "image")):
        accepted = run.submit(kind)
        assert accepted.status_code == 202, accepted.response
        assert accepted.remaining == str(99 - i), accepted.remaining
    views = wait_terminal(run.api, run.accepted, timeout_s=60)
    assert_invariants(run, stack, sim, receiver, PATH, views, refused=len(storm))


def test_429_and_5xx_storm_on_get_with_webhooks_lost_still_completes_every_job(
        sim, stack, receiver):
    # No webhook arrives, so only reconciliation (polls and the sweep) can end the
    # jobs, and its first reads of each prediction are refused.
    sim.faults(drop_webhooks=100, latency_s=0.5,
               get_errors=[429, 500, 502, 503, 504, 429, 500, 503, 502, 429, 500, 503])
    run = Run(fresh_api(stack))
    for kind in ("image", "audio", "image"):
        assert run.submit(kind).status_code == 202, run.submitted[-1].response
    views = wait_terminal(run.api, run.accepted, timeout_s=90)
    assert sim.api("GET", "/_sim/faults").json()["get_errors"] == [], "the storm was not read"
    assert_invariants(run, stack, sim, receiver, PATH, views)


def test_outputs_expiring_before_the_copy_fail_each_job_clearly_and_store_nothing(
        sim, stack, receiver):
    sim.faults(output_ttl_s=0)
    run = Run(fresh_api(stack))
    for kind in ("image", "audio"):
        assert run.submit(kind).status_code == 202, run.submitted[-1].response
    views = wait_terminal(run.api, run.accepted, timeout_s=60)
    # Gone from Replicate when the copy starts, or already reported removed.
    assert_invariants(run, stack, sim, receiver, PATH, views, expect="failed",
                      error_has=("the file is gone", "expired at Replicate"))
