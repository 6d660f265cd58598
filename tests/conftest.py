"""Fixtures that start the real local parts: the moto server, the Replicate
simulator, the API (chalice local, over HTTP) and the event delivery loop."""

import boto3
import pytest

from local.stack import LocalStack, free_port
from tests.support.api import Api
from tests.support.keys import CLIENT_A_KEY, CLIENT_B_KEY, STAGE_WEBHOOK_SECRET
from tests.support.simulator import Simulator
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
    logs = tmp_path_factory.mktemp("stack-logs")
    s = LocalStack(api_port=free_port(), emulator_port=free_port(), simulator_port=free_port(),
                   log_dir=logs, extra_env={
                       "VSL_LOCAL_API_KEYS": f"{CLIENT_A_KEY},{CLIENT_B_KEY}",
                       "VSL_LOCAL_KEYS_FILE": str(logs / "api-keys"),
                       "VSL_RECONCILE_AFTER_S": "2",
                       "VSL_SWEEP_INTERVAL_S": "3",
                       "VSL_KEY_CACHE_S": "1",  # revocations show within a second
                       "VSL_WEBHOOK_URL": f"{receiver.url}/stage",
                       "VSL_WEBHOOK_SECRET": STAGE_WEBHOOK_SECRET,
                       # Webhook retries compressed from about a day to seconds.
                       "VSL_WEBHOOK_RETRY_DELAYS_S": "1,1,1"})
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
    """boto3 clients on the emulator, to look at what the service stored."""
    def make(service):
        return boto3.client(service, endpoint_url=stack.emulator_url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    return make


