"""DynamoDB and S3 throttling and 500s between the service and the emulator: a
stack of its own whose API and event delivery reach AWS through
local/fault_proxy.py, which refuses one request in five of each service.
botocore's retries absorb most; SQS redelivery must absorb the rest."""
import pytest

from local.fault_proxy import FaultPlan, FaultProxy
from local.stack import free_port
from tests.conftest import CLIENT_A_KEY, Api, Simulator
from tests.faults.conftest import separate_stack
from tests.faults.invariants import Run, assert_invariants, wait_terminal

pytestmark = pytest.mark.integration

PATH = "/stage-throttled"
EVERY = 5  # 20% of each service's requests


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


def test_dynamodb_and_s3_throttling_and_500s_lose_charge_and_notify_nothing_twice(
        throttled, proxy, receiver):
    fault_proxy, _ = proxy
    api, sim = Api(throttled.api_url, CLIENT_A_KEY), Simulator(throttled.simulator_url)
    sim.faults(latency_s=0.5)
    fault_proxy.plan.set({"dynamodb": EVERY, "s3": EVERY})
    before = dict(fault_proxy.plan.injected)
    run = Run(api)
    for kind in ("image", "audio", "image", "mp3", "image", "audio"):
        made = run.submit(kind)
        # A submit whose DynamoDB calls kept failing may be refused, never half-done.
        assert made.status_code in (202, 503), made.response
    assert len(run.accepted) >= 4, [s.response for s in run.submitted]
    views = wait_terminal(api, run.accepted, timeout_s=120)
    injected = {s: n - before.get(s, 0) for s, n in fault_proxy.plan.injected.items()}
    assert injected.get("dynamodb", 0) >= 10 and injected.get("s3", 0) >= 2, injected
    fault_proxy.plan.set({})  # the checks below read through the service too
    assert_invariants(run, throttled, sim, receiver, PATH, views,
                      refused=sum(1 for s in run.submitted if not s.accepted))
