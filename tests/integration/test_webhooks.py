"""Webhooks to clients against the real local stack, received by a real HTTP
server that verifies every signature with the standardwebhooks library."""
import os
import subprocess
import sys
import time

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from local.stack import ROOT, free_port, wait_until
from tests.conftest import IMAGE_EXAMPLE, Api
from tests.integration.test_errors import assert_error
from tests.integration.test_keys_and_limits import new_key

pytestmark = pytest.mark.integration


@pytest.fixture
def client(stack, receiver):
    """A fresh client whose signing secret the receiver knows."""
    key, _ = new_key(stack, "--client", f"hooks-{os.urandom(3).hex()}")
    c = Api(stack.api_url, key)
    receiver.secrets.append(c.request("GET", "/webhooks/secret").json()["key"])
    return c


def wait_events(receiver, path, job_id, count=1, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while len(got := receiver.received(path, job_id)) < count:
        assert time.monotonic() < deadline, (path, receiver.received(job_id=job_id))
        time.sleep(0.2)
    return got


def deliveries(client, job_id):
    resp = client.request("GET", f"/jobs/{job_id}/deliveries")
    assert resp.status_code == 200, resp.text
    return resp.json()["deliveries"]


def test_completed_and_failed_jobs_reach_all_three_targets_with_the_specs_payload(
        client, receiver, sim):
    made = client.request("POST", "/webhooks", json={"url": f"{receiver.url}/registered"})
    assert made.status_code == 201, made.text
    assert set(made.json()) == {"id", "url", "events", "createdAt"}
    body = dict(IMAGE_EXAMPLE, webhookUrl=f"{receiver.url}/per-job")
    done = client.submit(body).json()
    assert client.wait_for(done["jobId"])["status"] == "completed"
    sim.faults(fail_predictions=1)
    failed = client.submit(body).json()
    for job_id, event, status in ((done["jobId"], "job.completed", "completed"),
                                  (failed["jobId"], "job.failed", "failed")):
        for path in ("/registered", "/per-job", "/stage"):
            (got,) = wait_events(receiver, path, job_id)
            assert got["verified"], got
            payload = got["payload"]
            assert payload["event"] == event and payload["status"] == status
            assert payload["jobId"] == job_id and payload["userId"] == "user123"
            assert payload["timestamp"].endswith("Z")
        if status == "completed":
            result = payload["result"]
            assert set(result) == {"originalUrl", "thumbnailUrl", "fileSize"}
            assert requests.get(result["originalUrl"], timeout=10).content[:4] == b"\x89PNG"
    listed = client.request("GET", "/webhooks").json()["webhooks"]
    assert [w["id"] for w in listed] == [made.json()["id"]]
    assert client.request("DELETE", f"/webhooks/{made.json()['id']}").status_code == 204
    assert client.request("GET", "/webhooks").json()["webhooks"] == []
    assert_error(client.request("DELETE", f"/webhooks/{made.json()['id']}"), 404, "NOT_FOUND")


def test_500_twice_then_200_gives_three_attempts_with_one_webhook_id(client, receiver):
    receiver.answers["/flaky"] = [500, 500]
    client.request("POST", "/webhooks", json={"url": f"{receiver.url}/flaky"})
    job = client.submit(IMAGE_EXAMPLE).json()
    got = wait_events(receiver, "/flaky", job["jobId"], count=3)
    assert len({e["id"] for e in got}) == 1
    deadline = time.monotonic() + 10
    while True:
        (d,) = [d for d in deliveries(client, job["jobId"]) if d["url"].endswith("/flaky")]
        if d["state"] == "delivered":
            break
        assert time.monotonic() < deadline, d
        time.sleep(0.2)
    assert d["attempts"] == 3 and d["lastStatus"] == 200 and d["webhookId"] == got[0]["id"]
    assert d["deliveredAt"] and d["nextAttemptAt"] is None and d["event"] == "job.completed"


def test_410_disables_the_endpoint_and_an_unreachable_one_ends_failed(client, receiver):
    receiver.answers["/gone"] = [410]
    gone = client.request("POST", "/webhooks", json={"url": f"{receiver.url}/gone"}).json()
    dead = f"http://127.0.0.1:{free_port()}/nobody-listens"
    client.request("POST", "/webhooks", json={"url": dead})
    job = client.submit(IMAGE_EXAMPLE).json()
    deadline = time.monotonic() + 40
    while True:
        states = {d["url"]: d for d in deliveries(client, job["jobId"])}
        if len(states) == 3 and all(d["state"] != "pending" for u, d in states.items()
                                    if not u.endswith("/stage")):
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.5)
    assert states[f"{receiver.url}/gone"]["state"] == "failed"
    assert states[f"{receiver.url}/gone"]["attempts"] == 1
    assert states[dead]["state"] == "failed" and states[dead]["attempts"] == 4
    assert "gave up after 4 attempts" in states[dead]["lastError"]
    (listed,) = [w for w in client.request("GET", "/webhooks").json()["webhooks"]
                 if w["id"] == gone["id"]]
    assert listed["disabledAt"]


def test_secret_rotation_signs_with_both_secrets(client, receiver):
    old = client.request("GET", "/webhooks/secret").json()["key"]
    rotated = client.request("POST", "/webhooks/secret/rotate").json()
    assert rotated["key"].startswith("whsec_") and rotated["key"] != old
    client.request("POST", "/webhooks", json={"url": f"{receiver.url}/rotating"})
    job = client.submit(IMAGE_EXAMPLE).json()
    (got,) = wait_events(receiver, "/rotating", job["jobId"])
    for secret in (old, rotated["key"]):  # either one verifies: receivers switch at leisure
        assert Webhook(secret).verify(got["body"], got["headers"])["jobId"] == job["jobId"]


@pytest.fixture
def strict_api(stack):
    """The same service with the policy of a deployed stage: public https targets only."""
    port = free_port()
    env = dict(stack.function_env("api_handler"), VSL_ALLOW_PRIVATE_INPUTS="false")
    proc = subprocess.Popen([sys.executable, "-m", "local.api_server", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok, 30,
                   "strict API", [proc])
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("url", ["http://example.com/hook", "https://127.0.0.1/hook",
                                 "https://[::1]/hook", "https://10.1.2.3/hook",
                                 "https://localhost/hook"])
def test_private_loopback_or_plain_http_targets_are_refused_outside_the_local_stage(
        client, strict_api, url):
    strict = Api(strict_api, client.key)
    assert_error(strict.request("POST", "/webhooks", json={"url": url}), 400, "INVALID_VALUE")
    assert_error(strict.submit(dict(IMAGE_EXAMPLE, webhookUrl=url)), 400, "INVALID_VALUE")


def test_the_local_receiver_command_prints_verified_events(client, stack):
    port = free_port()
    env = dict(os.environ, VSL_BASE_URL=stack.api_url, VSL_API_KEY=client.key)
    proc = subprocess.Popen([sys.executable, "-m", "tools.webhook_receiver", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        wait_until(lambda: "listening" in proc.stderr.readline(), 20, "receiver", [proc])
        client.request("POST", "/webhooks", json={"url": f"http://127.0.0.1:{port}/mine"})
        job = client.submit(IMAGE_EXAMPLE).json()
        line = proc.stdout.readline()
        assert job["jobId"] in line and '"job.completed"' in line
    finally:
        proc.terminate()
        proc.wait(10)
