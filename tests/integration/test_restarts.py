"""Parts of the service stopped and started again: the processor down while jobs
arrive, lost S3 events, Replicate unreachable. These tests stop parts of their stack,
so they run on a stack of their own, never under other tests."""
import time
from contextlib import contextmanager

import pytest
import requests

from tests.support.api import IMAGE_EXAMPLE, Api
from tests.support.keys import CLIENT_A_KEY
from tests.support.stack import audited, emulator_clients, stack_for_tests

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory, receiver):
    s = stack_for_tests(tmp_path_factory.mktemp("restarts-stack-logs"), receiver.url)
    s.start()
    yield audited(s)
    s.stop()


@pytest.fixture(scope="module")
def api(stack) -> Api:
    return Api(stack.api_url, CLIENT_A_KEY)


@pytest.fixture(scope="module")
def aws(stack):
    return emulator_clients(stack)


def test_jobs_submitted_while_the_processor_is_down_complete_after_restart(api, sim, stack, aws):
    stack.stop_events()
    try:
        job = api.submit(IMAGE_EXAMPLE).json()
        # Its webhooks wait in the queue, unprocessed, while nothing consumes them.
        sqs = aws("sqs")
        url = sqs.get_queue_url(QueueName="vsl-media-local-jobs")["QueueUrl"]
        deadline = time.monotonic() + 15
        while int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]) < 2:
            assert time.monotonic() < deadline, "the start and completion never arrived"
            time.sleep(0.2)
        assert api.status(job["jobId"]).json()["status"] == "pending"
    finally:
        stack.start_events()
    assert api.wait_for(job["jobId"])["status"] == "completed"




@contextmanager
def stored_but_never_thumbnailed(api, sim, stack, aws, **faults):
    """Yield (job, original key) for a job whose original is stored but whose S3
    event was lost; the full event delivery is back when the block ends."""
    stack.stop_events()
    stack.start_events(functions=["process_job_event"])  # S3 events pile up unread
    try:
        # The stopped worker's last long poll may still take a message and hide it for
        # the visibility timeout (as on SQS): let it lapse before submitting.
        time.sleep(1.5)
        sim.faults(**faults)
        job = api.submit(IMAGE_EXAMPLE).json()
        s3, deadline = aws("s3"), time.monotonic() + 15
        while True:
            keys = [o["Key"] for o in s3.list_objects_v2(
                Bucket="vsl-media-local-media", Prefix="images/").get("Contents", [])
                if job["jobId"] in o["Key"] and o["Key"].endswith("/original.png")]
            if keys:
                break
            assert time.monotonic() < deadline, api.status(job["jobId"]).json()
            time.sleep(0.2)
        # Lose the S3 events (drained, not purged: SQS allows one purge a minute).
        sqs = aws("sqs")
        events = sqs.get_queue_url(QueueName="vsl-media-local-media-events")["QueueUrl"]
        while messages := sqs.receive_message(QueueUrl=events, MaxNumberOfMessages=10,
                                              WaitTimeSeconds=1).get("Messages"):
            for m in messages:
                sqs.delete_message(QueueUrl=events, ReceiptHandle=m["ReceiptHandle"])
        assert api.status(job["jobId"]).json()["status"] == "processing"
        yield job, keys[0]
    finally:
        stack.stop_events()
        stack.start_events()


def test_a_lost_s3_event_is_recovered_even_after_replicates_output_expired(api, sim, stack, aws):
    """Result stored, its S3 event lost, Replicate's copy expired: the job still completes."""
    with stored_but_never_thumbnailed(api, sim, stack, aws, output_ttl_s=10) as (job, _):
        deadline = time.monotonic() + 20
        while not sim.api("GET", f"/v1/predictions/{job['replicateId']}").json()["data_removed"]:
            assert time.monotonic() < deadline, "Replicate's output never expired"
            time.sleep(0.5)
    assert api.wait_for(job["jobId"], timeout_s=30)["status"] == "completed"


def test_a_result_recorded_but_never_uploaded_is_stored_again(api, sim, stack, aws):
    """A crash between recording the result and uploading it: the redelivery stores it."""
    with stored_but_never_thumbnailed(api, sim, stack, aws) as (job, original):
        aws("s3").delete_object(Bucket="vsl-media-local-media", Key=original)
    done = api.wait_for(job["jobId"], timeout_s=30)
    assert done["status"] == "completed", done
    assert requests.get(done["result"]["originalUrl"], timeout=10).status_code == 200


def wait_health(api, status: int, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        resp = api.request("GET", "/health", key=None)
        if resp.status_code == status:
            return resp.json()
        assert time.monotonic() < deadline, resp.text
        time.sleep(0.5)


def test_health_is_503_while_replicate_is_down_without_exposing_why(api, stack):
    stack.stop("simulator")
    try:
        body = wait_health(api, 503)
        assert body["code"] == "SERVICE_UNAVAILABLE"
        assert body["checks"]["replicate"] == "unavailable"
        assert body["checks"]["dynamodb"] == "ok"
        assert "Error" not in str(body) and "127.0.0.1" not in str(body)
    finally:
        stack.start_simulator()
    wait_health(api, 200)
