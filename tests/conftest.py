"""Fixtures that start the real local parts: the moto server, the Replicate
simulator, the API (chalice local, over HTTP) and the event delivery loop."""

import pytest

from tests.support.api import Api
from tests.support.keys import CLIENT_A_KEY, CLIENT_B_KEY, STAGE_WEBHOOK_SECRET
from tests.support.simulator import Simulator
from tests.support.stack import emulator_clients, stack_for_tests
from tools.webhook_receiver import WebhookReceiver


@pytest.fixture(scope="session")
def receiver():
    """A real HTTP receiver of webhooks that verifies every signature; the stack's
    stage-wide VSL_WEBHOOK_URL points at its /stage path."""
    r = WebhookReceiver([STAGE_WEBHOOK_SECRET]).start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory, receiver):
    s = stack_for_tests(tmp_path_factory.mktemp("stack-logs"), receiver.url)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def api(stack) -> Api:
    return Api(stack.api_url, CLIENT_A_KEY)


@pytest.fixture(scope="session")
def api_b(stack) -> Api:
    return Api(stack.api_url, CLIENT_B_KEY)


@pytest.fixture
def sim(stack):
    s = Simulator(stack.simulator_url)
    s.reset()
    yield s
    s.reset()


@pytest.fixture
def aws_env(stack, monkeypatch):
    """Point boto3 in this process (our own chalicelib code) at the stack's emulator."""
    for k, v in stack.env().items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)


@pytest.fixture(scope="session")
def aws(stack):
    return emulator_clients(stack)


