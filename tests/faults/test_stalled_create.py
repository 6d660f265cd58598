"""Replicate accepts a prediction but its answer never reaches us in time: the
job must not be reported failed while the work runs, and must not run twice."""
import uuid

import pytest

from tests.support.simulator import predictions_with_prompt

pytestmark = pytest.mark.integration


def test_a_stalled_create_still_completes_with_one_prediction_and_one_charge(api, sim, aws):
    prompt = f"stalled {uuid.uuid4().hex}"
    user = f"stalled-{uuid.uuid4().hex[:8]}"
    # The prediction is created and runs; the answer to create arrives after our timeout.
    sim.faults(create_hang_s=14, latency_s=1)
    resp = api.submit({"userId": user, "mediaType": "image", "modelId": "flux-schnell",
                       "parameters": {"prompt": prompt}}, timeout=60)
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    assert accepted["status"] == "pending" and accepted["replicateId"] is None
    assert resp.headers["X-RateLimit-Remaining"] == "99"  # charged once, not refunded

    done = api.wait_for(accepted["jobId"], timeout_s=60)
    assert done["status"] == "completed", done
    assert done["replicateId"]
    assert predictions_with_prompt(sim, prompt) == 1
    jobs = aws("dynamodb").scan(TableName="vsl-media-local-jobs",
                                FilterExpression="userId = :u",
                                ExpressionAttributeValues={":u": {"S": user}})["Items"]
    assert len(jobs) == 1
