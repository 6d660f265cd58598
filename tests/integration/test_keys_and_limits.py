"""API keys, ownership and per-user limits over HTTP, as the spec states them."""
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.api import IMAGE_EXAMPLE, Api, assert_error
from tests.support.keys import api_key_cli, new_key
from tests.support.simulator import predictions_with_prompt

pytestmark = pytest.mark.integration


@pytest.fixture
def quiet_simulator(sim):
    """Predictions that never finish during the test: no media work, just submissions."""
    sim.faults(latency_s=600)
    return sim


def test_revoked_key_is_401(stack, api):
    key, key_id = new_key(stack, "--client", "revoke-me")
    client = Api(stack.api_url, key)
    assert client.request("GET", "/models").status_code == 200
    assert "revoked" in api_key_cli(stack, "revoke", key_id)
    time.sleep(1.1)  # the stack's key cache (VSL_KEY_CACHE_S) is one second
    body = assert_error(client.request("GET", "/models"), 401, "UNAUTHORIZED")
    assert "revoked" in body["details"]
    assert "revoked" in api_key_cli(stack, "list")


def test_expired_key_is_401(stack, aws_env):
    from chalicelib.aws import dynamodb_table
    from chalicelib.keys import ApiKeys
    from chalicelib.dynamo_stores import DynamoApiKeyStore
    key, _ = ApiKeys(DynamoApiKeyStore(dynamodb_table("vsl-media-local-api-keys"))).create(
        "expiring", expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    body = assert_error(Api(stack.api_url, key).request("GET", "/models"), 401, "UNAUTHORIZED")
    assert "expired" in body["details"]


def test_keys_are_stored_only_as_hashes(stack, aws):
    key, _ = new_key(stack, "--client", "hashed")
    items = aws("dynamodb").scan(TableName="vsl-media-local-api-keys")["Items"]
    assert key not in str(items)


def test_another_clients_job_is_404_like_a_missing_one(api, api_b, quiet_simulator):
    job = api.submit(IMAGE_EXAMPLE).json()
    assert api.status(job["jobId"]).status_code == 200
    theirs = assert_error(api_b.status(job["jobId"]), 404, "JOB_NOT_FOUND")
    missing = assert_error(api_b.status(str(uuid.uuid4())), 404, "JOB_NOT_FOUND")
    assert theirs["error"] == missing["error"]


def test_key_bound_to_a_user(stack, quiet_simulator):
    key, _ = new_key(stack, "--client", "bound", "--user", "alice")
    client = Api(stack.api_url, key)
    assert_error(client.submit(dict(IMAGE_EXAMPLE, userId="bob")), 403, "FORBIDDEN")
    body = {k: v for k, v in IMAGE_EXAMPLE.items() if k != "userId"}
    job = client.submit(body)
    assert job.status_code == 202
    assert client.status(job.json()["jobId"]).json()["userId"] == "alice"


def submissions_of(aws, user_id: str) -> int:
    items = aws("dynamodb").scan(TableName="vsl-media-local-jobs",
                                 FilterExpression="userId = :u",
                                 ExpressionAttributeValues={":u": {"S": user_id}})["Items"]
    return len(items)


def test_hourly_limit_101st_submission_is_429_and_other_users_are_unaffected(
        stack, quiet_simulator, aws):
    key, _ = new_key(stack, "--client", "hourly")
    client = Api(stack.api_url, key)
    prompt = f"hourly {uuid.uuid4().hex}"
    body = dict(IMAGE_EXAMPLE, userId="heavy-user", parameters={"prompt": prompt})
    first_at = time.time()  # the window's oldest entry: the 101st place frees an hour after
    for i in range(100):
        resp = client.submit(body)
        assert resp.status_code == 202, (i, resp.text)
        assert resp.headers["X-RateLimit-Limit"] == "100"
        assert resp.headers["X-RateLimit-Remaining"] == str(99 - i)
    assert '"hourly";q=100;w=3600' in resp.headers["RateLimit-Policy"]
    assert '"daily";q=1000;w=86400' in resp.headers["RateLimit-Policy"]
    # Starts beyond Replicate's pace are queued: every one starts once its time comes.
    deadline = time.monotonic() + 60
    while (started := predictions_with_prompt(quiet_simulator, prompt)) < 100:
        assert time.monotonic() < deadline, f"{started} of 100 predictions started"
        time.sleep(0.5)
    assert started == 100

    limited = client.submit(body)
    error = assert_error(limited, 429, "RATE_LIMIT_EXCEEDED")
    assert error["error"] == "Rate limit exceeded"
    retry_after = error["retryAfter"]
    assert limited.headers["Retry-After"] == str(retry_after)
    assert 3600 - (time.time() - first_at) - 1 <= retry_after <= 3601
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) <= time.time() + retry_after
    assert limited.headers["RateLimit"].startswith('"hourly";r=0;t=')
    # Rejected: no job, no model call.
    assert submissions_of(aws, "heavy-user") == 100
    assert predictions_with_prompt(quiet_simulator, prompt) == 100
    # Polling does not spend submissions; another user of the client is unaffected.
    assert client.status(resp.json()["jobId"]).status_code == 200
    assert client.submit(dict(body, userId="light-user")).status_code == 202


def test_rejected_requests_cost_nothing(stack, quiet_simulator):
    key, _ = new_key(stack, "--client", "careless")
    client = Api(stack.api_url, key)
    bad = dict(IMAGE_EXAMPLE, userId="careless-user", parameters={"width": 1})
    for _ in range(5):
        assert client.submit(bad).status_code == 400
    assert Api(stack.api_url, "vsl_wrong").submit(IMAGE_EXAMPLE).status_code == 401
    ok = client.submit(dict(IMAGE_EXAMPLE, userId="careless-user"))
    assert ok.headers["X-RateLimit-Remaining"] == "99"


def test_replicate_refusal_refunds_the_submission(stack, sim):
    key, _ = new_key(stack, "--client", "refund")
    client = Api(stack.api_url, key)
    sim.faults(create_errors=[500], latency_s=600)
    # Pinned: unpinned, the job would fail over to fal (tests/faults/test_provider_failover.py).
    assert client.submit(dict(IMAGE_EXAMPLE, userId="refund-user",
                              provider="replicate")).status_code == 502
    ok = client.submit(dict(IMAGE_EXAMPLE, userId="refund-user"))
    assert ok.headers["X-RateLimit-Remaining"] == "99"


def test_concurrent_burst_of_150_gives_exactly_100(stack, quiet_simulator, aws):
    key, _ = new_key(stack, "--client", "burst")
    client = Api(stack.api_url, key)
    body = dict(IMAGE_EXAMPLE, userId="burst-user")
    def submit(_):
        try:  # a generous timeout: 150 requests share two cores with the whole stack
            return client.submit(body, timeout=120)
        except Exception as e:  # report a client-side failure instead of hiding the count
            return e

    with ThreadPoolExecutor(max_workers=150) as pool:
        responses = list(pool.map(submit, range(150)))
    codes = [getattr(r, "status_code", None) for r in responses]
    others = [getattr(r, "text", repr(r))[:200] for r, c in zip(responses, codes)
              if c not in (202, 429)]
    assert codes.count(202) == 100 and codes.count(429) == 50, others[:3]
    assert submissions_of(aws, "burst-user") == 100
    # The window is full, not over-full: the next request is refused too.
    assert_error(client.submit(body), 429, "RATE_LIMIT_EXCEEDED")
    assert submissions_of(aws, "burst-user") == 100


def test_status_polling_has_its_own_generous_limit(stack, quiet_simulator):
    # The counter's window is a clock minute: four polls straddling a minute's end are
    # two windows, so they are made again in the next minute.
    for _ in range(2):
        key, _ = new_key(stack, "--client", "poller", "--limit", "status_per_minute=3")
        client = Api(stack.api_url, key)
        job = client.submit(IMAGE_EXAMPLE).json()
        minute = time.time() // 60
        statuses = [client.status(job["jobId"]) for _ in range(4)]
        if time.time() // 60 == minute:
            break
    assert [r.status_code for r in statuses[:3]] == [200, 200, 200]
    error = assert_error(statuses[3], 429, "RATE_LIMIT_EXCEEDED")
    assert statuses[3].headers["Retry-After"] == str(error["retryAfter"])
    assert 1 <= error["retryAfter"] <= 60
