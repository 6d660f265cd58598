"""Cancel, list and Idempotency-Key over HTTP against the real local stack."""
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.api import IMAGE_EXAMPLE, Api, assert_error
from tests.support.keys import new_key
from tests.support.simulator import predictions_with_prompt

pytestmark = pytest.mark.integration


def fresh_client(stack, name):
    key, _ = new_key(stack, "--client", f"{name}-{uuid.uuid4().hex[:6]}")
    return Api(stack.api_url, key)


def test_cancel_a_running_job_cancels_the_prediction_at_replicate(api, sim):
    sim.faults(latency_s=60)
    job = api.submit(IMAGE_EXAMPLE).json()
    resp = api.request("POST", f"/jobs/{job['jobId']}/cancel")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "cancelled" and resp.json()["jobId"] == job["jobId"]
    deadline = time.monotonic() + 10
    while sim.api("GET", f"/v1/predictions/{job['replicateId']}").json()["status"] != "canceled":
        assert time.monotonic() < deadline, "the prediction was never cancelled"
        time.sleep(0.2)
    assert api.request("GET", f"/jobs/{job['jobId']}").json()["status"] == "cancelled"


def test_cancel_a_job_waiting_for_its_prediction_and_the_prediction_on_arrival(api, sim):
    sim.faults(create_hang_s=12, latency_s=30)
    prompt = f"waiting {uuid.uuid4().hex}"
    job = api.submit(dict(IMAGE_EXAMPLE, parameters={"prompt": prompt}), timeout=60).json()
    assert job["replicateId"] is None
    assert api.request("POST", f"/jobs/{job['jobId']}/cancel").json()["status"] == "cancelled"
    # The prediction reports (its start webhook) and is cancelled then.
    deadline = time.monotonic() + 30
    while True:
        page = sim.api("GET", "/v1/predictions").json()["results"]
        mine = [p for p in page if (p.get("input") or {}).get("prompt") == prompt]
        if mine and mine[0]["status"] == "canceled":
            break
        assert time.monotonic() < deadline, mine
        time.sleep(0.3)


def test_cancel_a_finished_job_is_409_and_another_clients_is_404(api, api_b, sim):
    job = api.submit(IMAGE_EXAMPLE).json()
    assert api.wait_for(job["jobId"])["status"] == "completed"
    body = assert_error(api.request("POST", f"/jobs/{job['jobId']}/cancel"), 409,
                        "JOB_NOT_CANCELLABLE")
    assert body["status"] == "completed"
    assert_error(api_b.request("POST", f"/jobs/{job['jobId']}/cancel"), 404, "JOB_NOT_FOUND")


def test_a_cancel_racing_a_completion_ends_in_exactly_one_state(api, sim):
    sim.faults(latency_s=0.3)
    outcomes = set()
    for _ in range(6):
        job = api.submit(IMAGE_EXAMPLE).json()
        time.sleep(0.25)
        resp = api.request("POST", f"/jobs/{job['jobId']}/cancel")
        final = api.wait_for(job["jobId"])
        if resp.status_code == 200:
            assert final["status"] == "cancelled", final
        else:
            assert resp.status_code == 409 and final["status"] == resp.json()["status"]
        outcomes.add(final["status"])
        time.sleep(1)  # late events have arrived: the state holds
        assert api.status(job["jobId"]).json()["status"] == final["status"]
    assert outcomes <= {"cancelled", "completed"}


def test_listing_with_every_filter_across_pages(stack, sim):
    sim.faults(latency_s=600)
    client = fresh_client(stack, "lister")
    ids = []
    for i in range(5):
        body = dict(IMAGE_EXAMPLE, userId="alice" if i % 2 else "bob")
        if i == 4:
            body = {"userId": "bob", "mediaType": "audio", "modelId": "musicgen",
                    "parameters": {"prompt": "drums"}}
        ids.append(client.submit(body).json()["jobId"])
        time.sleep(1.05)  # distinct createdAt seconds: newest first is well defined
    client.request("POST", f"/jobs/{ids[0]}/cancel")

    def all_pages(**params):
        jobs, cursor = [], None
        while True:
            query = dict(params, **({"cursor": cursor} if cursor else {}))
            resp = client.request("GET", "/jobs", params=query)
            assert resp.status_code == 200, resp.text
            jobs += [j["jobId"] for j in resp.json()["jobs"]]
            cursor = resp.json()["nextCursor"]
            if not cursor:
                return jobs
    assert all_pages(limit=2) == ids[::-1]
    assert all_pages(limit=2, userId="alice") == [ids[3], ids[1]]
    assert all_pages(limit=2, modelId="musicgen") == [ids[4]]
    assert all_pages(limit=2, status="cancelled") == [ids[0]]
    since = client.request("GET", f"/jobs/{ids[2]}").json()["createdAt"]
    assert all_pages(limit=1, since=since) == ids[:1:-1]


def test_a_foreign_or_tampered_cursor_is_400(stack, api, sim):
    sim.faults(latency_s=600)
    client = fresh_client(stack, "cursor")
    for _ in range(3):
        client.submit(IMAGE_EXAMPLE)
    cursor = client.request("GET", "/jobs", params={"limit": 1}).json()["nextCursor"]
    assert cursor
    assert_error(api.request("GET", "/jobs", params={"limit": 1, "cursor": cursor}), 400,
                 "INVALID_VALUE")
    assert_error(client.request("GET", "/jobs", params={"limit": 1, "cursor": cursor[::-1]}),
                 400, "INVALID_VALUE")
    assert_error(client.request("GET", "/jobs", params={"limit": 0}), 400, "OUT_OF_RANGE")


def submit_with_key(client, key, body=IMAGE_EXAMPLE):
    return client.submit(body, headers={"Idempotency-Key": key})


def test_a_replay_returns_the_first_response_and_spends_nothing(stack, sim):
    sim.faults(latency_s=600)
    client = fresh_client(stack, "replay")
    prompt = f"replay {uuid.uuid4().hex}"
    body = dict(IMAGE_EXAMPLE, parameters={"prompt": prompt})
    first = submit_with_key(client, "order-1", body)
    again = submit_with_key(client, "order-1", body)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["X-RateLimit-Remaining"] == first.headers["X-RateLimit-Remaining"]
    assert predictions_with_prompt(sim, prompt) == 1
    nxt = client.submit(body)
    assert nxt.headers["X-RateLimit-Remaining"] == "98"  # the replay spent nothing


def test_a_reused_key_with_another_body_is_422_and_refused_requests_are_not_kept(stack, sim):
    sim.faults(latency_s=600)
    client = fresh_client(stack, "reuse")
    assert submit_with_key(client, "k").status_code == 202
    assert_error(submit_with_key(client, "k", dict(IMAGE_EXAMPLE, userId="other")), 422,
                 "IDEMPOTENCY_KEY_REUSED")
    bad = dict(IMAGE_EXAMPLE, parameters={"prompt": "x", "width": 1})
    assert_error(submit_with_key(client, "fix-me", bad), 400, "OUT_OF_RANGE")
    assert submit_with_key(client, "fix-me").status_code == 202
    assert_error(client.submit(IMAGE_EXAMPLE, headers={"Idempotency-Key": "x" * 256}), 400,
                 "INVALID_VALUE")


def wait_for_record_in_flight(aws, key: str, timeout_s: float = 30) -> None:
    """Until the first request with this Idempotency-Key holds its record."""
    deadline = time.monotonic() + timeout_s
    while not [i for i in aws("dynamodb").scan(TableName="vsl-media-local-idempotency")["Items"]
               if i["idempotencyKey"]["S"].endswith(f"#{key}")]:
        assert time.monotonic() < deadline, "the first request never took its key"
        time.sleep(0.05)


def test_a_retry_in_flight_is_409_and_twenty_racing_submits_make_one_job(stack, sim, aws):
    client = fresh_client(stack, "race")
    key = f"same-{uuid.uuid4().hex}"
    prompt = f"race {uuid.uuid4().hex}"
    body = dict(IMAGE_EXAMPLE, userId=f"race-{uuid.uuid4().hex[:6]}",
                parameters={"prompt": prompt})
    sim.faults(create_hang_s=6, latency_s=600)  # the first request stays in flight
    with ThreadPoolExecutor(20) as pool:
        first = pool.submit(submit_with_key, client, key, body)
        wait_for_record_in_flight(aws, key)  # then nineteen arrive while it hangs
        rest = list(pool.map(lambda _: submit_with_key(client, key, body), range(19)))
    responses = [first.result()] + rest
    codes = sorted(r.status_code for r in responses)
    assert codes.count(202) >= 1 and set(codes) <= {202, 409}, codes
    assert 409 in codes
    for r in responses:
        if r.status_code == 409:
            assert r.json()["code"] == "IDEMPOTENCY_KEY_IN_USE" and r.headers["Retry-After"]
    jobs = aws("dynamodb").scan(TableName="vsl-media-local-jobs",
                                FilterExpression="userId = :u",
                                ExpressionAttributeValues={":u": {"S": body["userId"]}})["Items"]
    assert len(jobs) == 1
    assert predictions_with_prompt(sim, prompt) == 1
    assert submit_with_key(client, key, body).headers["Idempotent-Replayed"] == "true"
