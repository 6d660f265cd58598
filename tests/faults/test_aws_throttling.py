"""DynamoDB and S3 throttling and 500s between the service and the emulator: a
stack of its own whose API and event delivery reach AWS through
local/fault_proxy.py, which refuses a fifth of each service's requests.
botocore's retries absorb most; SQS redelivery must absorb the rest."""
import pytest

from local.fault_proxy import FaultProxy
from local.stack import free_port
from tests.support.simulator import Simulator
from tests.faults.conftest import separate_stack
from tests.faults.invariants import Run, assert_invariants, fresh_api, wait_terminal

pytestmark = pytest.mark.integration

PATH = "/stage-throttled"
# One request in five of each service fails once (botocore's retries absorb it), or
# one in twenty fails on all 5 attempts (chalicelib/aws.py's max_attempts 4 counts
# retries), so its caller gets the error: a handler's message is redelivered by
# SQS, an API request answers 503.
PLANS = {"retried": (5, 1), "through": (20, 5)}


@pytest.fixture(scope="module")
def proxy():
    emulator_port = free_port()
    p = FaultProxy(f"http://127.0.0.1:{emulator_port}").start()  # no faults while provisioning
    yield p, emulator_port
    p.stop()


@pytest.fixture(scope="module")
def throttled(tmp_path_factory, receiver, proxy):
    fault_proxy, emulator_port = proxy
    with separate_stack(tmp_path_factory, receiver, PATH, emulator_port=emulator_port,
                        AWS_ENDPOINT_URL=fault_proxy.url) as stack:
        yield stack


@pytest.mark.parametrize("plan", PLANS)
def test_dynamodb_and_s3_throttling_and_500s_lose_charge_and_notify_nothing_twice(
        throttled, proxy, receiver, plan):
    fault_proxy, _ = proxy
    sim = Simulator(throttled.simulator_url)
    sim.faults(latency_s=1)
    every, burst = PLANS[plan]
    # Submits meet faults botocore absorbs (one that fails through is the next test's);
    # the handlers then meet the plan's.
    fault_proxy.plan.set({"dynamodb": PLANS["retried"][0], "s3": PLANS["retried"][0]})
    before = dict(fault_proxy.plan.injected)
    run = Run(fresh_api(throttled))
    for kind in ("image", "audio", "image", "mp3", "image", "audio"):
        assert run.submit(kind).status_code == 202, run.submitted[-1].response
    fault_proxy.plan.set({"dynamodb": every, "s3": every}, burst)
    # Polls meet the faults too: one failing through is the next test's concern.
    views = wait_terminal(run.api, run.accepted, timeout_s=120, poll_5xx_ok=True)
    injected = {s: n - before.get(s, 0) for s, n in fault_proxy.plan.injected.items()}
    # The processor makes few S3 calls per job (the preview is drawn from its local
    # copy): at one fault in twenty, one or two of them fail.
    assert injected.get("dynamodb", 0) >= 10 and injected.get("s3", 0) >= 1, injected
    fault_proxy.plan.set({})  # the checks below read through the service too
    assert_invariants(run, throttled, sim, receiver, PATH, views, resent_ok=plan == "through")


def test_a_throttled_status_read_and_job_write_answer_503_and_the_submit_is_given_back(
        throttled, proxy):
    fault_proxy, _ = proxy
    run = Run(fresh_api(throttled))
    done = run.submit("image")
    assert done.status_code == 202, done.response
    # Enough failures for every attempt of the API's read, whatever the other functions'
    # own reads of the moment take from the burst.
    fault_proxy.plan.set({"dynamodb": 1}, burst=12, operations={"GetItem"})
    try:
        poll = run.api.status(done.job_id)
    finally:
        fault_proxy.plan.set({})
    assert poll.status_code == 503 and poll.json()["code"] == "SERVICE_UNAVAILABLE", poll.text
    # Every PutItem (the job's record) fails on all of botocore's attempts.
    fault_proxy.plan.set({"dynamodb": 1}, burst=12, operations={"PutItem"})
    try:
        refused = run.submit("image")
    finally:
        fault_proxy.plan.set({})
    accepted = run.submit("image")
    assert accepted.status_code == 202, accepted.response
    assert accepted.remaining == "98", "the refused submission was not given back"
    assert refused.status_code == 503, refused.response
    assert refused.response["code"] == "SERVICE_UNAVAILABLE", refused.response
