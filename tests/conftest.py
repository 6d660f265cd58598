"""Fixtures that start the real local parts: the moto server (IAM enforced), the
Replicate simulator, the API (chalice local, over HTTP) and the event-driven
functions, each function with its own IAM user (local/iam.py)."""
import pytest

from local.iam import refusals
from tests.support.api import Api
from tests.support.keys import CLIENT_A_KEY, CLIENT_B_KEY, STAGE_WEBHOOK_SECRET
from tests.support.simulator import Simulator
from tests.support.stack import (AUDITED, audited, emulator_clients, stack_for_tests,
                                 wait_start_schedule_idle)
from tools.webhook_receiver import WebhookReceiver

# The files that take a minute or more each, collected first: make test's workers take
# whole files in collection order, so these start early beside the others instead of
# ending the run alone.
SLOW_FILES_FIRST = ("tests/terraform/test_terraform.py", "tests/tools/test_load_and_bench.py",
                    "tests/contract/test_fuzzing.py", "tests/faults/test_aws_throttling.py",
                    "tests/faults/test_processor_killed.py", "tests/sdk/test_js_sdk.py")


def pytest_collection_modifyitems(items):
    rank = {path: i for i, path in enumerate(SLOW_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.fixture(scope="session")
def receiver():
    """A real HTTP receiver of webhooks that verifies every signature; the stack's
    stage-wide VSL_WEBHOOK_URL points at its /stage path."""
    r = WebhookReceiver([STAGE_WEBHOOK_SECRET]).start()
    yield r
    r.stop()


@pytest.fixture(autouse=True)
def no_aws_call_refused():
    """A test fails when a function's AWS call was refused meanwhile, on any stack the
    tests started: the function's role (terraform/modules/service/permissions.json)
    lacks the action or the resource, as it would on AWS. The failure names the
    function, the call, the action and the resource."""
    yield
    refused = [line for _, reader in AUDITED for line in refusals(reader.new_records())]
    if refused:
        pytest.fail("AWS calls refused by IAM (local/iam.py):\n  " + "\n  ".join(refused),
                    pytrace=False)


@pytest.fixture(scope="session")
def stack(tmp_path_factory, receiver):
    s = stack_for_tests(tmp_path_factory.mktemp("stack-logs"), receiver.url)
    s.start()
    yield audited(s)
    s.stop()


@pytest.fixture(scope="session")
def api(stack) -> Api:
    return Api(stack.api_url, CLIENT_A_KEY)


@pytest.fixture(scope="session")
def api_b(stack) -> Api:
    return Api(stack.api_url, CLIENT_B_KEY)


@pytest.fixture
def sim(stack):
    wait_start_schedule_idle(stack)  # no earlier test's queued starts reach this one
    s = Simulator(stack.simulator_url)
    s.reset()
    yield s
    s.reset()


@pytest.fixture
def aws_env(stack, monkeypatch):
    """Point boto3 in this process (our own chalicelib code) at the stack's emulator,
    with clients made for it (a client cached earlier may be another stack's) from a new
    default session (the one before holds the credentials it first resolved)."""
    import boto3
    from chalicelib import aws
    for k, v in stack.env().items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    aws.client.cache_clear()
    boto3.DEFAULT_SESSION = None
    yield
    aws.client.cache_clear()
    boto3.DEFAULT_SESSION = None


@pytest.fixture(scope="session")
def aws(stack):
    return emulator_clients(stack)


