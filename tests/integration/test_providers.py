"""Both providers through the API on the session stack: a job pinned to fal runs
there end to end (its webhook verified with the fal simulator's JWKS), forged fal
webhooks are refused before anything is queued, and what fal cannot run as asked
is a 400."""
import time
import uuid

import pytest
import requests

from tests.support.api import IMAGE_EXAMPLE, assert_error

pytestmark = pytest.mark.integration


def test_a_job_pinned_to_fal_completes_there_and_says_so(api):
    user = f"fal-{uuid.uuid4().hex[:8]}"
    resp = api.submit(dict(IMAGE_EXAMPLE, userId=user, provider="fal"))
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    assert accepted["provider"] == "fal" and accepted["replicateId"] is None
    done = api.wait_for(accepted["jobId"], timeout_s=45)
    assert done["status"] == "completed", done
    assert done["provider"] == "fal" and done["replicateId"] is None
    assert requests.get(done["result"]["originalUrl"], timeout=10).status_code == 200
    usage = api.request("GET", "/usage", params={"userId": user}).json()
    assert usage["byProvider"] == {"fal": usage["totals"]}


def test_a_forged_fal_webhook_is_refused_before_anything_is_queued(api):
    job = api.submit(dict(IMAGE_EXAMPLE, provider="fal")).json()
    forged = {"request_id": "r1", "status": "OK", "payload": {"images": [
        {"url": "http://127.0.0.1:9/evil.png"}]}}
    headers = {"X-Fal-Webhook-Request-Id": "r1", "X-Fal-Webhook-User-Id": "u",
               "X-Fal-Webhook-Timestamp": str(int(time.time())),
               "X-Fal-Webhook-Signature": "00" * 64}
    resp = api.request("POST", f"/webhook/fal?jobId={job['jobId']}", key=None,
                       json=forged, headers=headers)
    assert_error(resp, 401, "INVALID_SIGNATURE")
    assert_error(api.request("POST", f"/webhook/fal?jobId={job['jobId']}", key=None,
                             json=forged), 401, "INVALID_SIGNATURE")
    assert api.wait_for(job["jobId"], timeout_s=45)["status"] == "completed"


def test_what_fal_cannot_run_as_asked_cannot_be_pinned_to_it(api):
    body = {"userId": "user123", "mediaType": "audio", "modelId": "musicgen",
            "provider": "fal", "parameters": {"prompt": "rain", "output_format": "mp3"}}
    assert_error(api.submit(body), 400, "VALIDATION_ERROR")
    assert_error(api.submit(dict(IMAGE_EXAMPLE, provider="runway")), 400)


def test_models_list_both_providers_in_routing_order(api):
    models = api.request("GET", "/models").json()["models"]
    assert all(m["providers"] == ["replicate", "fal"] for m in models)
