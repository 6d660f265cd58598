"""The submit properties of tests/unit/test_submit_properties.py over HTTP, against
the real stack (DynamoDB's encoding, the idempotency fingerprint, the gateway), on a
smaller budget: never a 5xx, and a refused request or batch item creates no job."""
import uuid

import pytest
from hypothesis import HealthCheck, given, settings

from tests.support.api import Api
from tests.support.bodies import batch_body, encoded, submit_body
from tests.support.keys import new_key

pytestmark = pytest.mark.integration

BUDGET = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def client(stack):
    key, _ = new_key(stack, "--client", f"props-{uuid.uuid4().hex[:6]}",
                     "--limit", "submissions_per_hour=10000",
                     "--limit", "submissions_per_day=100000")
    return Api(stack.api_url, key)


@pytest.fixture(scope="module")
def quiet(stack):
    """Predictions that never finish while the properties run: no media work."""
    from tests.support.simulator import Simulator
    sim = Simulator(stack.simulator_url)
    sim.faults(latency_s=600)
    yield
    sim.reset()


def jobs_made(client) -> int:
    resp = client.request("GET", "/usage")
    assert resp.status_code == 200, resp.text
    return resp.json()["totals"]["jobs"]


def answer_and_jobs_made(client, path, body):
    """The answer to a POST of ``body`` and how many jobs it made."""
    before = jobs_made(client)
    resp = client.request("POST", path, data=encoded(body),
                          headers={"Content-Type": "application/json",
                                   "Idempotency-Key": uuid.uuid4().hex})
    assert resp.status_code < 500, (resp.status_code, resp.text)
    return resp, jobs_made(client) - before


def test_a_submit_over_http_is_never_a_5xx_and_a_refusal_makes_no_job(client, quiet):
    @BUDGET
    @given(body=submit_body())
    def check(body):
        resp, made = answer_and_jobs_made(client, "/generate-media", body)
        assert made == (resp.status_code == 202), resp.text
    check()


def test_a_batch_over_http_is_never_a_5xx_and_makes_jobs_only_for_accepted_items(
        client, quiet):
    @BUDGET
    @given(body=batch_body())
    def check(body):
        resp, made = answer_and_jobs_made(client, "/generate-media/batch", body)
        results = resp.json().get("results", []) if resp.status_code == 200 else []
        assert all(r["httpStatus"] < 500 for r in results), results
        assert made == sum(r["httpStatus"] == 202 for r in results), resp.text
    check()
