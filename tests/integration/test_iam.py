"""Each function runs with its own principal and exactly what its code uses.

The stack's functions sign their calls with IAM users of their own, IAM enforced
by the emulator, and every call is checked against the function's policy as
Terraform renders it (local/iam.py; terraform/modules/service/permissions.json).
conftest's autouse check fails any test during which a call was refused, naming
the function, the call and what it lacked. The tests here walk every path that
needs a grant, the rare ones included (a lost storage event, a failed upload, a
thumbnailer failing three times, an event the sweep sends late, jobs on fal); the last one
then proves each declared grant was needed by some call: so removing any one
action (or resource) from a function's policy makes this file fail, and nothing
is granted that the code does not use.
"""
import json
import os
import time
import uuid
from datetime import timedelta
from urllib.parse import quote_plus

import boto3
import pytest
import requests

from chalicelib.aws import Table
from chalicelib.catalog import CATALOG
from chalicelib.clock import SystemClock
from chalicelib.jobs.model import Job, JobResult, JobStatus, StoredOutput
from chalicelib.providers.fal import FalProvider
from chalicelib.storage import KINDS, S3MediaStorage, job_prefix
from chalicelib.jobs.dynamodb import DynamoJobStore
from chalicelib.urls import UrlPolicy
from local import iam
from local.stack import FAL_SIMULATOR_KEY
from tests.fakes import png_bytes
from tests.support.api import IMAGE_EXAMPLE, Api
from tests.support.keys import new_key
from tests.support.stack import operator_client

pytestmark = pytest.mark.integration

BUCKET = "vsl-media-local-media"


def fresh(stack, name: str, *args) -> Api:
    key, _ = new_key(stack, "--client", f"{name}-{uuid.uuid4().hex[:6]}", *args)
    return Api(stack.api_url, key)


def body(prompt: str, **extra) -> dict:
    return dict(IMAGE_EXAMPLE, parameters={"prompt": prompt}, **extra)


def calls(stack, function: str, call: str) -> list:
    return [r for r in iam.read_audit(stack.audit_dir)
            if r["function"] == function and r["call"] == call and r["outcome"] == "allowed"]


def fal_key_reads(stack, function: str) -> list:
    """The function's reads of fal's key from its secret (each process reads it once
    per max age: chalicelib/secrets.py)."""
    return [r for r in calls(stack, function, "secretsmanager.GetSecretValue")
            if r["resource"] == stack.principals["fal_key_secret_arn"]]


def wait_until(check, what: str, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return found


def crafted_job(stack, status: JobStatus, original_key: str = None, **fields) -> Job:
    """A job written straight to the table (the operator's credentials): states the
    service reaches only through crashes or rare failures."""
    now = SystemClock().now()
    job_id = str(uuid.uuid4())
    prefix = job_prefix("image", "iam-crafted", "user123", now, job_id)
    result = None
    if original_key is not None:
        result = JobResult(prefix, [StoredOutput(f"{prefix}/{original_key}", 1000, "image/png",
                                                 64, 48)])
    job = Job(job_id=job_id, owner_id="iam-crafted", user_id="user123", media_type="image",
              model_id="flux-schnell", parameters={"prompt": "crafted"}, status=status,
              created_at=now, updated_at=fields.pop("updated_at", now),
              estimated_time=fields.pop("estimated_time", 600), estimated_cost=0.003,
              result=result, **fields)
    DynamoJobStore(Table("vsl-media-local-jobs", operator_client(stack, "dynamodb"))).create(job)
    return job


def test_a_refused_submit_gives_its_idempotency_key_back(stack):
    """Both SDKs send an Idempotency-Key with every POST. A refused submit (here 429)
    deletes the key's record, so the retry is refused for the same reason, not
    stuck on 409 for a minute; on AWS without dynamodb:DeleteItem it was a 500."""
    client = fresh(stack, "refused", "--limit", "submissions_per_hour=1")
    assert client.submit(body(f"first {uuid.uuid4().hex}")).status_code == 202
    key = {"Idempotency-Key": f"retry-{uuid.uuid4().hex}"}
    again = body(f"second {uuid.uuid4().hex}")
    for _ in range(2):
        resp = client.submit(again, headers=dict(key))
        assert resp.status_code == 429, resp.text
        assert resp.json()["code"] == "RATE_LIMIT_EXCEEDED"


def test_a_job_end_to_end_with_every_read_the_api_offers(stack, api, receiver):
    """The API (submit, replay, status, lists, usage, deliveries, health, webhook
    endpoints), the processor, the thumbnailer and the webhook delivery."""
    client = fresh(stack, "e2e")
    made = client.request("POST", "/webhooks", json={"url": f"{receiver.url}/iam"})
    assert made.status_code == 201, made.text
    gone = client.request("POST", "/webhooks", json={"url": f"{receiver.url}/iam-gone"}).json()
    receiver.answers["/iam-gone"] = [410]   # the delivery disables this endpoint
    receiver.secrets.append(client.request("GET", "/webhooks/secret").json()["key"])
    key = {"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"}
    request = body(f"e2e {uuid.uuid4().hex}")
    accepted = client.submit(request, headers=dict(key))
    assert accepted.status_code == 202, accepted.text
    replay = client.submit(request, headers=dict(key))
    assert replay.headers.get("Idempotent-Replayed") == "true"
    job_id = accepted.json()["jobId"]
    assert client.wait_for(job_id)["status"] == "completed"
    wait_until(lambda: receiver.received("/iam", job_id), "the endpoint got no event")
    assert client.request("GET", "/jobs").status_code == 200
    assert client.request("GET", "/jobs?userId=user123").status_code == 200
    assert client.request("GET", "/usage").status_code == 200
    assert client.request("GET", f"/jobs/{job_id}/deliveries").status_code == 200
    assert client.request("POST", "/webhooks/secret/rotate").status_code == 200
    wait_until(lambda: [w for w in client.request("GET", "/webhooks").json()["webhooks"]
                        if w["id"] == gone["id"] and w.get("disabledAt")],
               "the endpoint answering 410 was not disabled")
    assert client.request("DELETE", f"/webhooks/{made.json()['id']}").status_code == 204
    assert api.request("GET", "/health", key=None).status_code == 200


def test_reused_media_is_copied_by_the_api_and_by_the_delivery(stack, sim):
    """A completed job's media is copied at submit (the API); a running one's when it
    ends (the webhook delivery settles its followers)."""
    client = fresh(stack, "reuse")
    prompt = f"reuse {uuid.uuid4().hex}"
    assert client.wait_for(client.submit(body(prompt)).json()["jobId"])["status"] == "completed"
    copied = client.submit(body(prompt, cache=True)).json()
    assert copied["status"] == "completed" and copied["cached"] is True
    sim.faults(latency_s=3)
    prompt = f"follow {uuid.uuid4().hex}"
    client.submit(body(prompt))
    follower = client.submit(body(prompt, cache=True)).json()
    assert follower["status"] == "pending"
    assert client.wait_for(follower["jobId"], timeout_s=60)["status"] == "completed"
    assert calls(stack, "deliver_notifications", "s3.CopyObject")


def test_a_queued_start_throttled_by_replicate_is_queued_again_by_the_processor(stack, sim):
    client = fresh(stack, "queued")
    sim.faults(create_errors=[429], retry_after_s=1)
    # Pinned: a Replicate throttle would otherwise hand the start over to fal.
    resp = client.request("POST", "/generate-media/batch", json={
        "items": [body(f"queued {uuid.uuid4().hex}", provider="replicate")]})
    assert resp.status_code == 200, resp.text
    job_id = resp.json()["results"][0]["job"]["jobId"]
    assert client.wait_for(job_id, timeout_s=60)["status"] == "completed"
    assert [r for r in calls(stack, "process_job_event", "sqs.SendMessage")
            if r["resource"].endswith(":vsl-media-local-jobs")]


def test_a_failed_prediction_ends_its_job_in_the_processor(stack, sim, receiver):
    """The processor ends the job and queues its event (a success ends in the thumbnailer)."""
    client = fresh(stack, "failed")
    sim.faults(fail_predictions=1)
    job_id = client.submit(body(f"failed {uuid.uuid4().hex}")).json()["jobId"]
    assert client.wait_for(job_id)["status"] == "failed"
    wait_until(lambda: receiver.received("/stage", job_id), "no job.failed event")


def test_a_lost_storage_event_is_announced_again(stack, sim):
    """The thumbnailer is down when the original is stored: the sweep finds the quiet
    job, Replicate says succeeded, and the processor, finding the original stored,
    copies it onto itself so that S3 announces it again."""
    client = fresh(stack, "lost-event")
    stack.stop("thumbnailer")
    try:
        job_id = client.submit(body(f"lost {uuid.uuid4().hex}")).json()["jobId"]
        wait_until(lambda: calls(stack, "process_job_event", "s3.HeadObject") and
                   calls(stack, "process_job_event", "s3.CopyObject"),
                   "the processor never announced the stored original again", timeout_s=45)
    finally:
        stack.start_events(functions=["make_thumbnail"])
    assert client.wait_for(job_id, timeout_s=45)["status"] == "completed"
    assert [r for r in calls(stack, "sweep_jobs", "sqs.SendMessage")
            if r["resource"].endswith(":vsl-media-local-jobs")]


def processor_session(stack) -> boto3.session.Session:
    """A session with the processor's credentials whose every call is checked against
    its policy and recorded, as every call of the processor is."""
    principals = stack.principals
    session = boto3.session.Session(
        aws_access_key_id=principals["functions"]["process_job_event"]["access_key_id"],
        aws_secret_access_key=principals["functions"]["process_job_event"]["secret_access_key"],
        region_name="us-east-1")
    iam.Audit("process_job_event", iam.place_of(principals), stack.audit_dir).install(session)
    return session


def test_a_failed_upload_aborts_its_multipart_upload_with_the_processors_role(stack, tmp_path):
    """The processor's upload (S3MediaStorage, as the processor builds it) failing
    midway: s3transfer aborts the multipart upload, with the processor's credentials."""
    session = processor_session(stack)

    def refuse_part(**_):
        raise ConnectionResetError("the connection dropped (injected)")
    session.events.register("before-send.s3.UploadPart", refuse_part)
    s3 = session.client("s3", endpoint_url=stack.emulator_url)
    storage = S3MediaStorage(BUCKET, lambda: s3, presign_expiry_s=3600, expiring_kinds=KINDS)
    path = tmp_path / "large.bin"
    path.write_bytes(os.urandom(9 * 2**20))  # above the 8 MB multipart threshold
    key = f"videos/iam/user123/2030/01/01/{uuid.uuid4()}/output-2.mp4"
    with pytest.raises(Exception):
        storage.upload(str(path), key, "video/mp4", "output")
    uploads = operator_client(stack, "s3").list_multipart_uploads(Bucket=BUCKET)
    assert not [u for u in uploads.get("Uploads", []) if u["Key"] == key]
    assert calls(stack, "process_job_event", "s3.AbortMultipartUpload")


def test_kinds_no_rule_expires_are_stored_and_copied_untagged_by_the_processor(stack, tmp_path):
    """A stage whose rules expire no kind (the local stack's own): the processor's
    upload and copy carry no tag and need no tagging grant."""
    s3 = processor_session(stack).client("s3", endpoint_url=stack.emulator_url)
    storage = S3MediaStorage(BUCKET, lambda: s3, presign_expiry_s=3600, expiring_kinds=())
    path = tmp_path / "original.png"
    path.write_bytes(png_bytes())
    source, copy = (f"images/iam/user123/2030/01/01/{uuid.uuid4()}/original.png"
                    for _ in range(2))
    storage.upload(str(path), source, "image/png", "original")
    storage.copy(source, copy)
    operator = operator_client(stack, "s3")
    assert [operator.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
            for key in (source, copy)] == [[], []]
    mine = [r for r in iam.read_audit(stack.audit_dir)
            if r["function"] == "process_job_event" and r["resource"].endswith((source, copy))]
    assert {r["call"] for r in mine} == {"s3.PutObject", "s3.CopyObject"}
    assert not [r for r in mine if "Tagging" in r["action"]]
    assert all(r["outcome"] == "allowed" for r in mine)


def test_the_thumbnailer_draws_the_preview_the_processor_could_not(stack):
    job = crafted_job(stack, JobStatus.PROCESSING, "original.png")
    operator_client(stack, "s3").put_object(Bucket=BUCKET, Key=job.result.original.key,
                                            Body=png_bytes(), ContentType="image/png")
    store = DynamoJobStore(Table("vsl-media-local-jobs", operator_client(stack, "dynamodb")))
    done = wait_until(lambda: (j := store.get(job.job_id)).status == JobStatus.COMPLETED and j,
                      "the thumbnailer did not complete the job")
    assert done.thumbnail_key == f"{job.result.s3_path}/thumbnail.jpg"
    tags = operator_client(stack, "s3").get_object_tagging(Bucket=BUCKET, Key=done.thumbnail_key)
    assert tags["TagSet"] == [{"Key": "kind", "Value": "thumbnail"}]


def test_an_event_the_thumbnailer_fails_three_times_goes_to_its_failure_queue(stack):
    """As S3's asynchronous invocation does: three attempts, then the on-failure
    destination, sent with the thumbnailer's role."""
    job = crafted_job(stack, JobStatus.PROCESSING, "original.png")  # stored nowhere
    sqs = operator_client(stack, "sqs")
    events = sqs.get_queue_url(QueueName="vsl-media-local-media-events")["QueueUrl"]
    sqs.send_message(QueueUrl=events, MessageBody=json.dumps({"Records": [{
        "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET},
               "object": {"key": quote_plus(job.result.original.key), "size": 1000}}}]}))
    failures = sqs.get_queue_url(QueueName="vsl-media-local-thumbnailer-failures")["QueueUrl"]

    def failed_event():
        for m in sqs.receive_message(QueueUrl=failures, MaxNumberOfMessages=10,
                                     WaitTimeSeconds=1).get("Messages", []):
            envelope = json.loads(m["Body"])
            record = envelope["requestPayload"]["Records"][0]
            if job.job_id in record["s3"]["object"]["key"]:
                sqs.delete_message(QueueUrl=failures, ReceiptHandle=m["ReceiptHandle"])
                return envelope
    envelope = wait_until(failed_event, "no failed event arrived", timeout_s=60)
    assert envelope["requestContext"]["condition"] == "RetriesExhausted"
    assert envelope["requestContext"]["functionArn"].endswith(":vsl-media-local-make_thumbnail")


def test_the_sweep_sends_the_event_of_a_job_that_ended_without_it(stack, receiver):
    """A crash between a job's end and its event: the sweep sends the event."""
    ended = SystemClock().now() - timedelta(seconds=60)
    job = crafted_job(stack, JobStatus.COMPLETED, "original.png", completed_at=ended,
                      updated_at=ended, notification_pending=True)
    wait_until(lambda: receiver.received("/stage", job.job_id), "the sweep sent no event")
    assert calls(stack, "sweep_jobs", "dynamodb.GetItem")


def test_the_sweep_ends_a_follower_whose_source_ended_unnoticed(stack):
    """The source's event never settled its follower (lost, or not yet delivered when
    the sweep came): the sweep ends the follower as its source did, copying the
    source's media to the follower's folder."""
    source = crafted_job(stack, JobStatus.COMPLETED, "original.png",
                         completed_at=SystemClock().now())
    operator_client(stack, "s3").put_object(Bucket=BUCKET, Key=source.result.outputs[0].key,
                                            Body=png_bytes(64, 48), ContentType="image/png")
    quiet = SystemClock().now() - timedelta(seconds=60)
    follower = crafted_job(stack, JobStatus.PENDING, follows=source.job_id, updated_at=quiet,
                           estimated_time=5)
    store = DynamoJobStore(Table("vsl-media-local-jobs", operator_client(stack, "dynamodb")))
    ended = wait_until(lambda: (job := store.get(follower.job_id)).status.is_terminal and job,
                       "the sweep did not end the follower", timeout_s=60)
    assert ended.status == JobStatus.COMPLETED, ended.error
    assert calls(stack, "sweep_jobs", "s3.CopyObject")


def test_an_uploaded_image_is_recorded_checked_and_handed_to_replicate(stack, sim):
    """The API records the upload and, at the submit, reads it back and checks the file."""
    client = fresh(stack, "upload")
    data = png_bytes(64, 48)
    created = client.request("POST", "/uploads", json={"contentType": "image/png",
                                                       "size": len(data)})
    assert created.status_code == 201, created.text
    put = requests.put(created.json()["uploadUrl"], data=data,
                       headers={"Content-Type": "image/png"}, timeout=10)
    assert put.status_code == 200, put.text
    job = client.submit({"userId": "user123", "mediaType": "video", "modelId": "stability-video",
                         "parameters": {"image": f"upload:{created.json()['uploadId']}",
                                        "num_frames": 14}})
    assert job.status_code == 202, job.text
    assert client.wait_for(job.json()["jobId"], timeout_s=60)["status"] == "completed"


def test_a_job_pinned_to_fal_is_started_there_by_the_api(stack):
    """The API reads fal's key (its secret, as on AWS) to start the job; fal's signed
    webhook and the copy of its result need no key."""
    client = fresh(stack, "fal")
    accepted = client.submit(body(f"fal {uuid.uuid4().hex}", provider="fal"))
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["provider"] == "fal"
    done = client.wait_for(accepted.json()["jobId"])
    assert (done["status"], done["provider"]) == ("completed", "fal"), done
    assert fal_key_reads(stack, "api_handler")


def test_a_queued_start_on_fal_is_made_by_the_processor(stack):
    """A batch item is started from the jobs queue: the processor reads fal's key."""
    client = fresh(stack, "fal-queued")
    resp = client.request("POST", "/generate-media/batch", json={
        "items": [body(f"fal queued {uuid.uuid4().hex}", provider="fal")]})
    assert resp.status_code == 200, resp.text
    done = client.wait_for(resp.json()["results"][0]["job"]["jobId"], timeout_s=60)
    assert (done["status"], done["provider"]) == ("completed", "fal"), done
    assert fal_key_reads(stack, "process_job_event")


def test_the_sweep_asks_fal_about_a_quiet_job_whose_webhook_was_lost(stack):
    """A run at fal whose webhook goes nowhere (nothing listens on port 9), and its job
    quiet for a minute, polled by nobody: the sweep asks fal, reading fal's key, and
    the job ends with fal's result."""
    fal = FalProvider(stack.fal_simulator_url, lambda: FAL_SIMULATOR_KEY, timeout_s=5,
                      jwks_url=f"{stack.fal_simulator_url}/.well-known/jwks.json",
                      jwks_policy=UrlPolicy(schemes=frozenset({"http"}), allow_private=True))
    params = CATALOG["flux-schnell"].parameters.model_validate({"prompt": "crafted"})
    run = fal.create("flux-schnell", params, "lost-webhook", "http://127.0.0.1:9")
    quiet = SystemClock().now() - timedelta(seconds=60)
    job = crafted_job(stack, JobStatus.PROCESSING, provider="fal", replicate_id=run.id,
                      updated_at=quiet, estimated_time=5)
    store = DynamoJobStore(Table("vsl-media-local-jobs", operator_client(stack, "dynamodb")))
    ended = wait_until(lambda: (j := store.get(job.job_id)).status.is_terminal and j,
                       "the sweep did not end the fal job", timeout_s=60)
    assert ended.status == JobStatus.COMPLETED, ended.error
    assert fal_key_reads(stack, "sweep_jobs")


def test_every_grant_was_needed_and_no_call_was_refused(stack):
    """Runs last in this file: every action on every resource declared for each
    function (Lambda's own logs and traces aside) was needed by some call recorded
    above; none was refused."""
    records = iam.read_audit(stack.audit_dir)
    assert iam.refusals(records) == []
    assert iam.unused(records, iam.place_of(stack.principals)) == []
