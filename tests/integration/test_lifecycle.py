"""The job's status follows the prediction's, never backwards, through
duplicates, reordering, failures, lost webhooks and restarts."""
import time

import pytest

from tests.support.api import IMAGE_EXAMPLE
from tests.support.webhooks import signed_webhook

pytestmark = pytest.mark.integration


def send_webhook(api, secret, job, payload):
    body, headers = signed_webhook(secret, payload)
    resp = api.request("POST", f"/webhook/replicate?jobId={job['jobId']}", key=None,
                       data=body, headers=headers)
    assert resp.status_code == 200, resp.text


def wait_status(api, job_id, status, timeout_s=45):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = api.status(job_id).json()
        if current["status"] == status:
            return current
        time.sleep(0.1)
    raise AssertionError(f"job never became {status}: {current}")


def wait_jobs_queue_drained(aws, timeout_s=15):
    """Every event handed to the processor has been handled (consumed, not pending)."""
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName="vsl-media-local-jobs")["QueueUrl"]
    deadline = time.monotonic() + timeout_s
    while True:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        if attrs["ApproximateNumberOfMessages"] == attrs["ApproximateNumberOfMessagesNotVisible"] == "0":
            return
        assert time.monotonic() < deadline, f"the jobs queue still holds {attrs}"
        time.sleep(0.1)


@pytest.fixture
def slow_job(api, sim):
    """A job whose real prediction stays quiet long enough for the test to drive it."""
    sim.faults(latency_s=120)
    return api.submit(IMAGE_EXAMPLE).json()


def test_status_follows_start_then_failure_with_replicates_message(api, sim, slow_job):
    secret = sim.secret()
    send_webhook(api, secret, slow_job, {"id": slow_job["replicateId"], "status": "processing"})
    wait_status(api, slow_job["jobId"], "processing")
    send_webhook(api, secret, slow_job, {"id": slow_job["replicateId"], "status": "failed",
                                         "error": "NSFW content detected"})
    failed = wait_status(api, slow_job["jobId"], "failed")
    assert failed["error"] == "NSFW content detected"
    assert failed["completedAt"] and failed["createdAt"]


def test_late_and_duplicate_events_never_move_a_job_backwards(api, sim, aws, slow_job):
    secret = sim.secret()
    send_webhook(api, secret, slow_job, {"id": slow_job["replicateId"], "status": "canceled"})
    wait_status(api, slow_job["jobId"], "cancelled")
    for status in ("processing", "starting", "failed", "canceled"):
        send_webhook(api, secret, slow_job, {"id": slow_job["replicateId"], "status": status,
                                             "error": "late"})
    # A late "processing" for an ended job is handled by cancelling its prediction.
    deadline = time.monotonic() + 30
    while sim.api("GET", f"/v1/predictions/{slow_job['replicateId']}").json()["status"] \
            != "canceled":
        assert time.monotonic() < deadline, "the late events were never handled"
        time.sleep(0.2)
    wait_jobs_queue_drained(aws, timeout_s=45)
    final = api.status(slow_job["jobId"]).json()
    assert final["status"] == "cancelled"
    assert final["error"] == "The job was cancelled."


def test_duplicate_success_webhooks_complete_the_job_once(api, sim, aws):
    job = api.submit(IMAGE_EXAMPLE).json()
    done = api.wait_for(job["jobId"])
    prediction = sim.api("GET", f"/v1/predictions/{job['replicateId']}").json()
    send_webhook(api, sim.secret(), job, prediction)
    wait_jobs_queue_drained(aws, timeout_s=45)
    again = api.status(job["jobId"]).json()
    assert again["status"] == "completed"
    assert again["completedAt"] == done["completedAt"]


def test_failed_prediction_fails_the_job(api, sim):
    sim.faults(fail_predictions=1)
    job = api.wait_for(api.submit(IMAGE_EXAMPLE).json()["jobId"])
    assert job["status"] == "failed"
    assert "simulated failure" in job["error"]


def test_cancelled_prediction_cancels_the_job(api, sim):
    sim.faults(latency_s=5)
    job = api.submit(IMAGE_EXAMPLE).json()
    assert sim.api("POST", f"/v1/predictions/{job['replicateId']}/cancel").status_code == 200
    assert api.wait_for(job["jobId"])["status"] == "cancelled"


@pytest.mark.parametrize("replicate_status,our_status,code", [
    (500, 502, "REPLICATE_ERROR"), (429, 503, "SERVICE_UNAVAILABLE")])
def test_replicate_refusing_the_prediction_leaves_no_running_job(
        api, sim, aws, replicate_status, our_status, code):
    sim.faults(create_errors=[replicate_status], retry_after_s=7)
    # Pinned: unpinned, the job would fail over to fal (tests/faults/test_provider_failover.py).
    resp = api.submit(dict(IMAGE_EXAMPLE, userId="refused-user", provider="replicate"))
    assert resp.status_code == our_status, resp.text
    assert resp.json()["code"] == code
    if replicate_status == 429:
        assert resp.headers["Retry-After"] == "7"
    assert resp.headers["X-RateLimit-Limit"] == "100"  # refunded: the limits say so
    items = aws("dynamodb").scan(TableName="vsl-media-local-jobs")["Items"]
    mine = [i for i in items if i["userId"]["S"] == "refused-user"]
    assert mine and all(i["status"]["S"] == "failed" for i in mine)


def test_lost_webhooks_are_recovered_by_polling(api, sim):
    sim.faults(drop_webhooks=2)  # both the start and the completion
    job = api.submit(IMAGE_EXAMPLE).json()
    assert api.wait_for(job["jobId"], timeout_s=30)["status"] == "completed"


def test_expired_output_fails_the_job_instead_of_retrying_forever(api, sim):
    sim.faults(output_ttl_s=0)
    job = api.wait_for(api.submit(IMAGE_EXAMPLE).json()["jobId"])
    assert job["status"] == "failed"
    assert "could not be stored" in job["error"]


