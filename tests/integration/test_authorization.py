"""Authorization over HTTP: two keys of one client, bound to alice and to bob. Bob's
key never reaches alice's jobs, replays, reused results or deliveries; neither bound
key changes the client's webhook settings. (The full route-by-principal matrix runs
on the fakes: tests/unit/test_authorization.py.)"""
import uuid

import pytest

from tests.support.api import IMAGE_EXAMPLE, Api, assert_error
from tests.support.keys import new_key

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def people(stack):
    """(alice, bob, backend): keys of one fresh client, two bound and its unbound one."""
    client = f"authz-{uuid.uuid4().hex[:8]}"
    alice = Api(stack.api_url, new_key(stack, "--client", client, "--user", "alice")[0])
    bob = Api(stack.api_url, new_key(stack, "--client", client, "--user", "bob")[0])
    backend = Api(stack.api_url, new_key(stack, "--client", client)[0])
    return alice, bob, backend


def body_for(prompt: str, **extra) -> dict:
    """A submit body without userId: a bound key's own user is taken."""
    body = {k: v for k, v in IMAGE_EXAMPLE.items() if k != "userId"}
    return dict(body, parameters=dict(body["parameters"], prompt=prompt), **extra)


def test_another_user_s_job_is_404_to_read_cancel_and_list_deliveries(people, sim):
    sim.faults(latency_s=600)  # alice's job stays running
    alice, bob, backend = people
    job_id = alice.submit(body_for(f"alice {uuid.uuid4()}")).json()["jobId"]
    missing = assert_error(bob.status(str(uuid.uuid4())), 404, "JOB_NOT_FOUND")
    for method, path in (("GET", f"/status/{job_id}"), ("GET", f"/jobs/{job_id}"),
                         ("POST", f"/jobs/{job_id}/cancel"),
                         ("GET", f"/jobs/{job_id}/deliveries")):
        body = assert_error(bob.request(method, path), 404, "JOB_NOT_FOUND")
        assert body["error"] == missing["error"], path  # no existence oracle
    assert alice.status(job_id).json()["status"] in ("pending", "processing")  # not cancelled
    assert backend.status(job_id).status_code == 200  # the client's backend key reaches it
    assert alice.request("GET", f"/jobs/{job_id}/deliveries").status_code == 200


def test_an_idempotency_key_never_replays_across_users(people, sim):
    sim.faults(latency_s=600)
    alice, bob, _ = people
    key, body = f"k-{uuid.uuid4()}", body_for(f"replay {uuid.uuid4()}")
    first = alice.submit(body, headers={"Idempotency-Key": key})
    assert first.status_code == 202
    # The same key and body from bob's key: bob's own new job, never alice's replayed.
    theirs = bob.submit(body, headers={"Idempotency-Key": key})
    assert theirs.status_code == 202 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["jobId"] != first.json()["jobId"]
    assert bob.status(theirs.json()["jobId"]).json()["userId"] == "bob"
    # Naming alice in the body is refused before any replay could answer.
    assert_error(bob.submit(dict(body, userId="alice"), headers={"Idempotency-Key": key}),
                 403, "FORBIDDEN")
    again = alice.submit(body, headers={"Idempotency-Key": key})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["jobId"] == first.json()["jobId"]


def test_a_bound_key_reuses_only_its_own_user_s_results(people, sim):
    alice, bob, backend = people
    body = body_for(f"reused {uuid.uuid4()}")
    source = alice.submit(dict(body, cache=False)).json()["jobId"]
    assert alice.wait_for(source)["status"] == "completed"
    bobs = bob.submit(dict(body, cache=True)).json()
    assert not bobs.get("cached") and bobs["estimatedCost"] > 0  # bob's own run, paid
    alices = alice.submit(dict(body, cache=True)).json()
    assert alices.get("cached") is True
    carols = backend.submit(dict(body, userId="carol", cache=True)).json()
    assert carols.get("cached") is True  # the unbound key reuses within the client


def test_bound_keys_leave_the_client_s_webhook_settings_alone(people):
    alice, _, backend = people
    made = backend.request("POST", "/webhooks", json={"url": "http://127.0.0.1:65000/x"})
    assert made.status_code == 201, made.text
    for method, path, body in (("POST", "/webhooks", {"url": "http://127.0.0.1:65000/y"}),
                               ("GET", "/webhooks", None),
                               ("DELETE", f"/webhooks/{made.json()['id']}", None),
                               ("GET", "/webhooks/secret", None),
                               ("POST", "/webhooks/secret/rotate", None)):
        assert_error(alice.request(method, path, json=body), 403, "FORBIDDEN")
    assert backend.request("DELETE", f"/webhooks/{made.json()['id']}").status_code == 204


@pytest.mark.parametrize("path", ["/models", "/jobs", "/usage",
                                  "/status/0b7e7a52-9c3e-4a39-9d0e-3f5f3c1c2a11",
                                  "/webhooks"])
def test_no_revoked_or_absent_key_reaches_anything(stack, path):
    assert_error(Api(stack.api_url, None).request("GET", path), 401, "UNAUTHORIZED")
    assert_error(Api(stack.api_url, "vsl_not_a_key").request("GET", path), 401, "UNAUTHORIZED")
