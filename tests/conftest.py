"""Fixtures that start the real local parts: the moto server (IAM enforced), the
Replicate simulator, the API (chalice local, over HTTP) and the event-driven
functions, each function with its own IAM user (local/iam.py)."""
import base64
import json
import time
import uuid
from datetime import datetime, timezone

import boto3
import pytest
import requests
from standardwebhooks.webhooks import Webhook

from local.iam import AuditReader, refusals
from local.stack import SIMULATOR_TOKEN, LocalStack, free_port
from tools.webhook_receiver import WebhookReceiver

CLIENT_A_KEY = "vsl_test_client_a_" + uuid.uuid4().hex
CLIENT_B_KEY = "vsl_test_client_b_" + uuid.uuid4().hex

IMAGE_EXAMPLE = {"userId": "user123", "mediaType": "image", "modelId": "flux-schnell",
                 "parameters": {"prompt": "A futuristic cityscape at sunset",
                                "width": 1024, "height": 1024}}


class Api:
    def __init__(self, base_url: str, key: str):
        self.base_url, self.key = base_url, key

    def request(self, method: str, path: str, key=..., **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        key = self.key if key is ... else key
        if key is not None:
            headers["X-API-Key"] = key
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.base_url + path, headers=headers, **kwargs)

    def submit(self, body: dict, **kwargs) -> requests.Response:
        return self.request("POST", "/generate-media", json=body, **kwargs)

    def status(self, job_id: str, **kwargs) -> requests.Response:
        return self.request("GET", f"/status/{job_id}", **kwargs)

    def wait_for(self, job_id: str, statuses=("completed", "failed", "cancelled"),
                 timeout_s: float = 45) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            resp = self.status(job_id)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            if body["status"] in statuses:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {body['status']} after {timeout_s}s")
            time.sleep(0.2)


class Simulator:
    def __init__(self, base_url: str):
        self.base_url = base_url

    def faults(self, **changes) -> None:
        requests.post(f"{self.base_url}/_sim/faults", json=changes, timeout=5).raise_for_status()

    def reset(self) -> None:
        requests.post(f"{self.base_url}/_sim/reset", timeout=5).raise_for_status()

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.base_url + path, timeout=10, headers={
            "Authorization": f"Bearer {SIMULATOR_TOKEN}"}, **kwargs)

    def secret(self) -> str:
        return self.api("GET", "/v1/webhooks/default/secret").json()["key"]


STAGE_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"stage-wide webhook secret, tests").decode()


@pytest.fixture(scope="session")
def receiver():
    """A real HTTP receiver of webhooks that verifies every signature; the stack's
    stage-wide VSL_WEBHOOK_URL points at its /stage path."""
    r = WebhookReceiver([STAGE_WEBHOOK_SECRET]).start()
    yield r
    r.stop()


# Every stack the tests started, with a reader of its IAM audit.
AUDITED: list = []


def audited(stack: LocalStack) -> LocalStack:
    AUDITED.append((stack, AuditReader(stack.audit_dir)))
    return stack


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


def operator_client(stack: LocalStack, service: str):
    """A boto3 client on the stack's emulator with the operator's credentials."""
    env = stack.env()
    return boto3.client(service, endpoint_url=stack.emulator_url, region_name="us-east-1",
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture(scope="session")
def aws(stack):
    """boto3 clients on the emulator, to look at what the service stored."""
    return lambda service: operator_client(stack, service)


def signed_webhook(secret: str, payload: dict, *, timestamp: datetime = None,
                   msg_id: str = None):
    """A webhook as Replicate sends it: body plus Standard Webhooks headers."""
    body = json.dumps(payload)
    ts = timestamp or datetime.now(timezone.utc)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    return body, {"Content-Type": "application/json", "webhook-id": msg_id,
                  "webhook-timestamp": str(int(ts.timestamp())),
                  "webhook-signature": Webhook(secret).sign(msg_id, ts, body)}
