"""Reuse, batch and usage against the real local stack."""
import time
import uuid

import pytest
import requests

from tests.support.api import IMAGE_EXAMPLE, Api
from tests.support.keys import new_key
from tests.support.simulator import predictions_with_prompt

pytestmark = pytest.mark.integration


def fresh(stack, name, *args):
    key, _ = new_key(stack, "--client", f"{name}-{uuid.uuid4().hex[:6]}", *args)
    return Api(stack.api_url, key)


def body(prompt, **extra):
    return dict(IMAGE_EXAMPLE, parameters={"prompt": prompt}, **extra)


def test_a_reused_result_is_real_media_at_no_cost_and_no_new_prediction(stack, sim):
    client = fresh(stack, "reuse")
    prompt = f"reuse {uuid.uuid4().hex}"
    original = client.wait_for(client.submit(body(prompt)).json()["jobId"])
    assert original["status"] == "completed"
    resp = client.submit(body(prompt, cache=True))
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    assert accepted["status"] == "completed" and accepted["cached"] is True
    assert accepted["estimatedCost"] == 0 and accepted["replicateId"] is None
    view = client.status(accepted["jobId"]).json()
    assert view["cached"] is True and view["result"]["fileSize"] == original["result"]["fileSize"]
    assert accepted["jobId"] in view["result"]["s3Path"]  # its own copy
    png = requests.get(view["result"]["originalUrl"], timeout=10).content
    assert png[:4] == b"\x89PNG" and len(png) == original["result"]["fileSize"]
    assert requests.get(view["result"]["thumbnailUrl"], timeout=10).content[:2] == b"\xff\xd8"
    assert predictions_with_prompt(sim, prompt) == 1


def test_a_follower_completes_with_a_running_original(stack, sim):
    client = fresh(stack, "follow")
    prompt = f"follow {uuid.uuid4().hex}"
    sim.faults(latency_s=3)
    original = client.submit(body(prompt)).json()
    follower = client.submit(body(prompt, cache=True)).json()
    assert follower["status"] == "pending" and follower["cached"] is True
    done = client.wait_for(follower["jobId"], timeout_s=60)
    assert done["status"] == "completed" and client.status(original["jobId"]).json()["status"] == "completed"
    assert requests.get(done["result"]["originalUrl"], timeout=10).content[:4] == b"\x89PNG"
    assert predictions_with_prompt(sim, prompt) == 1


def test_a_failed_original_is_not_reused(stack, sim):
    client = fresh(stack, "failed")
    prompt = f"failed {uuid.uuid4().hex}"
    sim.faults(fail_predictions=1)
    assert client.wait_for(client.submit(body(prompt)).json()["jobId"])["status"] == "failed"
    again = client.submit(body(prompt, cache=True)).json()
    assert "cached" not in again and again["replicateId"]
    assert client.wait_for(again["jobId"])["status"] == "completed"


def test_a_batch_of_mixed_items(stack, sim):
    client = fresh(stack, "batch")
    items = [body("one"), dict(IMAGE_EXAMPLE, modelId="dall-e"),
             body("two", webhookUrl="ftp://nope"), body("three", cache=True)]
    resp = client.request("POST", "/generate-media/batch", json={"items": items})
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [(r["index"], r["httpStatus"]) for r in results] == [(0, 202), (1, 400), (2, 400),
                                                                 (3, 202)]
    assert results[1]["error"]["code"] == "UNKNOWN_MODEL"
    assert results[2]["error"]["code"] == "INVALID_VALUE"
    assert resp.headers["X-RateLimit-Remaining"] == "98"
    for r in (results[0], results[3]):
        assert client.wait_for(r["job"]["jobId"])["status"] == "completed"


def test_a_batch_crossing_the_hourly_limit(stack, sim):
    client = fresh(stack, "batchlimit", "--limit", "submissions_per_hour=3")
    sim.faults(latency_s=600)
    started = time.time()
    resp = client.request("POST", "/generate-media/batch",
                          json={"items": [body(f"b{i}") for i in range(5)]})
    results = resp.json()["results"]
    assert [r["httpStatus"] for r in results] == [202, 202, 202, 429, 429]
    assert results[3]["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert 3600 - (time.time() - started) - 1 <= results[3]["error"]["retryAfter"] <= 3601
    assert resp.headers["X-RateLimit-Remaining"] == "0"


def test_fifty_items_against_a_throttling_simulator_all_start(stack, sim):
    client = fresh(stack, "batch50")
    sim.faults(create_errors=[429] * 30, retry_after_s=1, latency_s=0.2)
    resp = client.request("POST", "/generate-media/batch",
                          json={"items": [body(f"fifty {i}") for i in range(50)]}, timeout=60)
    assert resp.status_code == 200
    # The answer waited on no call to Replicate (which is what keeps it within API
    # Gateway's 29 s however Replicate behaves): every item is started from the queue.
    accepted = [r["job"] for r in resp.json()["results"]]
    assert all(j["status"] == "pending" and j["replicateId"] is None for j in accepted)
    jobs = [j["jobId"] for j in accepted]
    assert len(jobs) == 50
    finals = [client.wait_for(j, timeout_s=120)["status"] for j in jobs]
    assert finals == ["completed"] * 50


def test_usage_totals_equal_the_sum_over_the_listed_jobs(stack, sim):
    client = fresh(stack, "usage")
    prompt = f"usage {uuid.uuid4().hex}"
    ids = [client.submit(body(prompt)).json()["jobId"],
           client.submit(dict(IMAGE_EXAMPLE, parameters={"prompt": prompt, "num_outputs": 2}))
           .json()["jobId"]]
    for job_id in ids:
        client.wait_for(job_id)
    ids.append(client.submit(body(prompt, cache=True)).json()["jobId"])
    sim.faults(fail_predictions=1)
    failing = client.submit(dict(IMAGE_EXAMPLE, userId="other", parameters={"prompt": "f"}))
    ids.append(failing.json()["jobId"])
    client.wait_for(ids[-1])
    listed = client.request("GET", "/jobs", params={"limit": 100}).json()["jobs"]
    usage = client.request("GET", "/usage").json()
    totals = usage["totals"]
    assert totals["jobs"] == len(listed) == 4
    assert totals["completed"] == sum(j["status"] == "completed" for j in listed) == 3
    assert totals["failed"] == 1 and totals["cached"] == 1 and totals["cancelled"] == 0
    assert totals["cost"] == pytest.approx(0.003 + 0.006)
    assert totals["predictTime"] > 0
    assert usage["byModel"]["flux-schnell"]["jobs"] == 4
    assert client.request("GET", "/usage", params={"userId": "other"}).json()["totals"]["jobs"] == 1
    assert client.request("GET", "/usage", params={"from": "nope"}).status_code == 400
