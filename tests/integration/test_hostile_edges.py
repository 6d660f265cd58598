"""Edges that broke the service's promises under hostile or unlucky conditions,
against the real local stack over HTTP: a batch with a number no record can keep,
a reused result whose original outlives the start deadline, a client's trickling
webhook receivers next to another client's deliveries, and dates past the calendar."""
import time
import uuid

import pytest

from local.stack import wait_until
from tests.support.api import IMAGE_EXAMPLE, Api, assert_error
from tests.support.api_server import api_with
from tests.support.keys import new_key
from tests.support.raw_server import RawServer, trickling

pytestmark = pytest.mark.integration

MUSIC = {"userId": "user123", "mediaType": "audio", "modelId": "musicgen",
         "parameters": {"prompt": "Epic orchestral music with drums", "duration": 2}}


def fresh(stack, name):
    key, _ = new_key(stack, "--client", f"{name}-{uuid.uuid4().hex[:6]}")
    return Api(stack.api_url, key)


def listed_jobs(client):
    resp = client.request("GET", "/jobs?limit=100")
    assert resp.status_code == 200, resp.text
    return [j["jobId"] for j in resp.json()["jobs"]]


@pytest.mark.parametrize("parameter,value", [("top_p", 1e-200), ("temperature", 1e-320),
                                             ("top_p", 5e-324)])
def test_a_batch_with_an_unstorable_number_answers_every_item_and_bills_once(
        stack, sim, parameter, value):
    client = fresh(stack, "batch-number")
    sim.faults(latency_s=600)  # nothing needs to finish
    bad = dict(MUSIC, parameters=dict(MUSIC["parameters"], **{parameter: value}))
    body = {"items": [dict(IMAGE_EXAMPLE, parameters={"prompt": f"good {uuid.uuid4().hex}"}),
                      bad]}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = client.request("POST", "/generate-media/batch", json=body, headers=dict(key))
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [r["httpStatus"] for r in results] == [202, 400]
    assert results[1]["error"]["code"] == "OUT_OF_RANGE"
    assert f"parameters.{parameter}" in results[1]["error"]["details"]
    job_id = results[0]["job"]["jobId"]
    # The SDKs retry: the same answer, replayed, and still one job (one bill).
    again = client.request("POST", "/generate-media/batch", json=body, headers=dict(key))
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert listed_jobs(client) == [job_id]
    # The same number in a single submit is the same 400, and makes nothing.
    assert_error(client.submit(bad), 400, "OUT_OF_RANGE")
    assert listed_jobs(client) == [job_id]


@pytest.fixture
def short_deadline_api(stack):
    """The same service with a start deadline of 4 s instead of 120 s: what took more
    than two minutes of a slow model takes seconds here."""
    with api_with(stack, "short-deadline API", VSL_START_DEADLINE_S="4",
                  VSL_RECONCILE_AFTER_S="1") as url:
        yield url


def test_a_follower_lives_until_its_source_ends_past_the_start_deadline(
        stack, sim, short_deadline_api):
    client = fresh(stack, "follower")
    short = Api(short_deadline_api, client.key)
    prompt = f"slow {uuid.uuid4().hex}"
    sim.faults(latency_s=12)  # three times the start deadline
    source = short.submit(dict(IMAGE_EXAMPLE, parameters={"prompt": prompt}, cache=False))
    follower = short.submit(dict(IMAGE_EXAMPLE, parameters={"prompt": prompt}, cache=True))
    assert source.status_code == follower.status_code == 202, follower.text
    assert follower.json()["status"] == "pending" and follower.json()["cached"] is True
    seen = []
    deadline = time.monotonic() + 60
    while not seen or seen[-1] in ("pending", "processing"):
        assert time.monotonic() < deadline, seen
        seen.append(short.status(follower.json()["jobId"]).json()["status"])
        time.sleep(0.5)
    assert seen[-1] == "completed", short.status(follower.json()["jobId"]).json()
    assert len(seen) > 8 * 2  # polled well past the start deadline while it waited
    assert short.status(source.json()["jobId"]).json()["status"] == "completed"


def test_a_clients_trickling_receivers_do_not_hold_up_another_clients_webhooks(
        stack, sim, receiver):
    """Client A's two endpoints answer one byte every 2 s (each read well within any
    per-read timeout); client B's webhook must still arrive promptly. Before, both
    delivery workers sat in A's trickles and B's event waited for minutes."""
    slow = RawServer(trickling(2, 90))
    a, b = fresh(stack, "trickled"), fresh(stack, "bystander")
    endpoints = [a.request("POST", "/webhooks", json={"url": slow.url(path=f"/a{i}")})
                 .json()["id"] for i in (1, 2)]
    try:
        a_job = a.submit(IMAGE_EXAMPLE).json()["jobId"]
        assert a.wait_for(a_job)["status"] == "completed"
        wait_until(lambda: slow.requests, 20, "the first trickled attempt")
        time.sleep(1)  # both of A's deliveries have been taken up by now
        receiver.secrets.append(b.request("GET", "/webhooks/secret").json()["key"])
        b.request("POST", "/webhooks", json={"url": f"{receiver.url}/bystander"})
        b_job = b.submit(IMAGE_EXAMPLE).json()["jobId"]
        assert b.wait_for(b_job)["status"] == "completed"
        completed_at = time.monotonic()
        while not receiver.received("/bystander", b_job):
            assert time.monotonic() - completed_at < 30, "B's webhook is held up"
            time.sleep(0.1)
        delay = time.monotonic() - completed_at
        assert delay < 8, f"B's webhook came {delay:.1f} s after its job completed"
    finally:
        for endpoint in endpoints:
            a.request("DELETE", f"/webhooks/{endpoint}")
        slow.stop()


@pytest.mark.parametrize("path", ["/jobs?since=9999-12-31T23:59:59-14:00",
                                  "/jobs?since=0001-01-01T00:00:00%2B14:00",
                                  "/usage?from=9999-12-31&to=9999-12-31"])
def test_dates_past_the_calendar_are_400(api, path):
    assert_error(api.request("GET", path), 400, "OUT_OF_RANGE")
