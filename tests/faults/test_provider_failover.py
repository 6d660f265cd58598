"""Failover between providers on the real stack: Replicate's simulator hard down
(its port closed), then back; Replicate answering create with a hang. Jobs must
complete on fal exactly once, return to Replicate when it answers again, and never
run on both. These stop parts of their stack, so they have a stack of their own."""
import time
import uuid

import pytest
import requests

from tests.support.api import Api, wait_health
from tests.support.keys import CLIENT_A_KEY
from tests.support.simulator import Simulator, predictions_with_prompt
from tests.support.stack import emulator_clients, stack_for_tests

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory, receiver):
    s = stack_for_tests(tmp_path_factory.mktemp("failover-stack-logs"), receiver.url)
    # Replicate is probed again 2 s after it is marked down (30 s by default).
    s.extra_env["VSL_PROVIDER_COOL_DOWN_S"] = "2"
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def api(stack) -> Api:
    return Api(stack.api_url, CLIENT_A_KEY)


@pytest.fixture(scope="module")
def aws(stack):
    return emulator_clients(stack)


@pytest.fixture
def fal(stack):
    s = Simulator(stack.fal_simulator_url)
    s.reset()
    yield s
    s.reset()


def fal_runs(fal) -> list:
    """The ids of the requests fal completed with a webhook, one entry per delivery."""
    log = requests.get(f"{fal.base_url}/_sim/webhooks", timeout=5).json()
    return [entry["id"] for entry in log]


def image(user: str, prompt: str) -> dict:
    return {"userId": user, "mediaType": "image", "modelId": "flux-schnell",
            "parameters": {"prompt": prompt}}


def test_with_replicate_hard_down_jobs_complete_on_fal_once_each_then_return(api, sim, fal,
                                                                             stack):
    user, before = f"failover-{uuid.uuid4().hex[:8]}", len(fal_runs(fal))
    stack.stop("simulator")
    try:
        accepted = []
        for i in range(20):
            resp = api.submit(image(user, f"down {i} {uuid.uuid4().hex}"))
            assert resp.status_code == 202, resp.text
            assert resp.json()["provider"] == "fal", resp.json()
            accepted.append(resp.json())
        done = [api.wait_for(a["jobId"], timeout_s=60) for a in accepted]
        assert all(d["status"] == "completed" for d in done), done
        assert all(d["provider"] == "fal" and d["replicateId"] is None for d in done)
        runs = fal_runs(fal)[before:]
        assert len(runs) == len(set(runs)) == 20  # each job ran once, on fal only
    finally:
        stack.start_simulator()
    # Back: once its cool-down lapses, a start probes Replicate, and new jobs go to it.
    deadline, providers = time.monotonic() + 30, []
    while "replicate" not in providers:
        assert time.monotonic() < deadline, providers
        time.sleep(0.5)
        resp = api.submit(image(user, f"back {uuid.uuid4().hex}"))
        assert resp.status_code == 202, resp.text
        providers.append(resp.json()["provider"])
    again = api.submit(image(user, f"again {uuid.uuid4().hex}")).json()
    assert again["provider"] == "replicate" and again["replicateId"]
    assert api.wait_for(again["jobId"], timeout_s=30)["status"] == "completed"
    health = api.request("GET", "/health", key=None).json()
    assert health["checks"]["replicate"] == "ok" and health["checks"]["fal"] == "ok"


def test_a_create_that_hangs_at_replicate_never_runs_the_job_on_fal_too(api, sim, fal, aws):
    user, before = f"hang-{uuid.uuid4().hex[:8]}", len(fal_runs(fal))
    sim.faults(create_hang_s=14, latency_s=1)
    prompts = [f"hang {i} {uuid.uuid4().hex}" for i in range(2)]
    accepted = []
    for prompt in prompts:
        resp = api.submit(image(user, prompt), timeout=60)
        assert resp.status_code == 202, resp.text
        body = resp.json()
        assert body["status"] == "pending" and body["provider"] == "replicate", body
        accepted.append(body)
    for job, prompt in zip(accepted, prompts):
        done = api.wait_for(job["jobId"], timeout_s=60)
        assert done["status"] == "completed" and done["provider"] == "replicate", done
        assert predictions_with_prompt(sim, prompt) == 1
    time.sleep(1)  # a fal run, had one started, would have reported by now
    assert fal_runs(fal)[before:] == []


def test_health_lists_each_provider_and_is_503_only_when_none_answers(api, stack):
    stack.stop("simulator")
    try:
        body = wait_health(api, 200)
        assert body["status"] == "degraded" and body["checks"]["replicate"] == "unavailable"
        assert body["checks"]["fal"] == "ok"
        stack.stop("fal-simulator")
        body = wait_health(api, 503)
        assert body["checks"]["replicate"] == body["checks"]["fal"] == "unavailable"
    finally:
        stack.start_simulator()
        stack.start_fal_simulator()
    assert wait_health(api, 200)["status"] == "ok"
