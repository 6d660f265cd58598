"""Local files as inputs, one-call runs and progress, over HTTP against the local
stack: the API, the emulator's bucket (presigned PUT and GET), the simulator.

The emulator serves presigned links but checks neither their signature nor their
expiry: what S3 enforces is tested by the links' parameters, and the service's
own checks (owner, expiry, size, magic bytes) by what it answers."""
import base64
import io
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from PIL import Image

from tests.support.api import IMAGE_EXAMPLE, Api, assert_error
from tests.support.keys import new_key

pytestmark = pytest.mark.integration


def image_file(fmt: str = "PNG", size=(320, 180)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, fmt)
    return out.getvalue()


def upload(api: Api, data: bytes, content_type: str = "image/png", declared: int = None) -> dict:
    resp = api.request("POST", "/uploads", json={
        "contentType": content_type, "size": len(data) if declared is None else declared})
    assert resp.status_code == 201, resp.text
    created = resp.json()
    put = requests.put(created["uploadUrl"], data=data, headers={"Content-Type": content_type},
                       timeout=10)
    assert put.status_code == 200, put.text
    return created


def video(image: str, user_id: str = "upload-user") -> dict:
    return {"userId": user_id, "mediaType": "video", "modelId": "stability-video",
            "parameters": {"image": image, "num_frames": 14}}


# ---- uploads ------------------------------------------------------------------------------

def test_an_uploaded_file_becomes_a_video(api, sim):
    created = upload(api, image_file())
    assert set(created) == {"uploadId", "uploadUrl", "expiresAt"}
    put_url = parse_qs(urlsplit(created["uploadUrl"]).query)
    # S3 takes only the declared size and type (both signed), for 15 minutes.
    assert put_url["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    assert put_url["X-Amz-Expires"] == ["900"]
    expires = datetime.fromisoformat(created["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(hours=23, minutes=59) < expires - datetime.now(timezone.utc) <= timedelta(days=1)

    accepted = api.submit(video(f"upload:{created['uploadId']}"))
    assert accepted.status_code == 202, accepted.text
    job = api.wait_for(accepted.json()["jobId"])
    assert job["status"] == "completed", job
    assert job["result"]["contentType"] == "video/mp4" and job["result"]["duration"] > 0
    # Replicate was handed a one-hour link to the file in our bucket, not the upload id.
    prediction = sim.api("GET", f"/v1/predictions/{job['replicateId']}").json()
    link = urlsplit(prediction["input"]["input_image"])
    assert link.path.endswith(f"/uploads/{created['uploadId']}")
    assert parse_qs(link.query)["X-Amz-Expires"] == ["3600"]


def test_a_small_file_inline_as_a_data_uri_becomes_a_video(api, sim):
    uri = "data:image/jpeg;base64," + base64.b64encode(image_file("JPEG", (64, 36))).decode()
    accepted = api.submit(video(uri))
    assert accepted.status_code == 202, accepted.text
    assert api.wait_for(accepted.json()["jobId"])["status"] == "completed"


def test_another_principals_upload_is_404_like_a_missing_one(stack, api, api_b, sim):
    mine = upload(api, image_file())["uploadId"]
    theirs = assert_error(api_b.submit(video(f"upload:{mine}")), 404, "UPLOAD_NOT_FOUND")
    missing = assert_error(api_b.submit(video(f"upload:upl_{'x' * 22}")), 404,
                           "UPLOAD_NOT_FOUND")
    assert theirs["error"] == missing["error"]
    # Within one client: a key bound to a user reaches only that user's uploads.
    alice = Api(stack.api_url, new_key(stack, "--client", "uploaders", "--user", "alice")[0])
    bob = Api(stack.api_url, new_key(stack, "--client", "uploaders", "--user", "bob")[0])
    unbound = Api(stack.api_url, new_key(stack, "--client", "uploaders")[0])
    alices = upload(alice, image_file())["uploadId"]
    assert_error(bob.submit(video(f"upload:{alices}", "bob")), 404, "UPLOAD_NOT_FOUND")
    assert unbound.submit(video(f"upload:{alices}", "carol")).status_code == 202
    unbound_own = upload(unbound, image_file())["uploadId"]
    assert_error(alice.submit(video(f"upload:{unbound_own}", "alice")), 404, "UPLOAD_NOT_FOUND")


def test_a_wrong_type_is_400_unsupported_upload(api, sim):
    assert_error(api.request("POST", "/uploads", json={"contentType": "image/gif", "size": 10}),
                 400, "UNSUPPORTED_UPLOAD")
    # Declared a PNG, the file is something else: refused before any prediction.
    created = upload(api, b"<html><script>alert(1)</script></html>", "image/png")
    body = assert_error(api.submit(video(f"upload:{created['uploadId']}")), 400,
                        "UNSUPPORTED_UPLOAD")
    assert "not a PNG, JPEG or WebP" in body["details"]
    jpeg = upload(api, image_file("JPEG"), "image/png")
    assert_error(api.submit(video(f"upload:{jpeg['uploadId']}")), 400, "UNSUPPORTED_UPLOAD")
    gif = "data:image/gif;base64," + base64.b64encode(image_file("GIF", (8, 8))).decode()
    assert_error(api.submit(video(gif)), 400, "UNSUPPORTED_UPLOAD")


def test_an_oversized_upload_is_413(api, sim):
    body = assert_error(api.request("POST", "/uploads", json={
        "contentType": "image/png", "size": 10 * 1024 * 1024 + 1}), 413, "UPLOAD_TOO_LARGE")
    assert str(10 * 1024 * 1024) in body["details"]
    # S3 would refuse a PUT of more than the signed length; the emulator stores it, and
    # the service refuses it when it is used.
    created = upload(api, image_file(), declared=100)
    assert_error(api.submit(video(f"upload:{created['uploadId']}")), 413, "UPLOAD_TOO_LARGE")


def test_an_upload_used_before_its_file_is_409(api):
    resp = api.request("POST", "/uploads", json={"contentType": "image/png", "size": 1000})
    assert_error(api.submit(video(f"upload:{resp.json()['uploadId']}")), 409,
                 "UPLOAD_INCOMPLETE")


def test_an_expired_upload_is_410_then_forgotten_404(api, aws):
    created = upload(api, image_file())
    table = "vsl-media-local-uploads"
    key = {"uploadId": {"S": created["uploadId"]}}
    aws("dynamodb").update_item(TableName=table, Key=key, UpdateExpression="SET expiresAt = :t",
                                ExpressionAttributeValues={":t": {"S": "2020-01-01T00:00:00Z"}})
    body = assert_error(api.submit(video(f"upload:{created['uploadId']}")), 410,
                        "UPLOAD_EXPIRED")
    assert "2020-01-01T00:00:00.000Z" in body["details"]
    aws("dynamodb").delete_item(TableName=table, Key=key)   # DynamoDB's TTL, a week later
    assert_error(api.submit(video(f"upload:{created['uploadId']}")), 404, "UPLOAD_NOT_FOUND")


def test_uploads_expire_after_a_day_by_the_buckets_lifecycle_rule(aws):
    rules = aws("s3").get_bucket_lifecycle_configuration(Bucket="vsl-media-local-media")["Rules"]
    assert [(r["Filter"]["Prefix"], r["Expiration"]["Days"]) for r in rules] == [("uploads/", 1)]


# ---- one call that returns the result ------------------------------------------------

def test_prefer_wait_answers_with_the_completed_job_in_one_request(api, sim):
    resp = api.submit(IMAGE_EXAMPLE, headers={"Prefer": "wait=10"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["Preference-Applied"] == "wait=10"
    job = resp.json()
    assert job["status"] == "completed" and job["progress"] == 1
    assert requests.get(job["result"]["originalUrl"], timeout=10).status_code == 200
    assert "X-RateLimit-Remaining" in resp.headers


def test_prefer_wait_answers_202_as_without_it_when_the_job_is_not_done(api, sim):
    sim.faults(latency_s=60)
    started = time.monotonic()
    resp = api.submit(IMAGE_EXAMPLE, headers={"Prefer": "wait=2"})
    took = time.monotonic() - started
    assert resp.status_code == 202, resp.text
    assert 2 <= took < 10
    assert resp.headers["Preference-Applied"] == "wait=2"
    assert set(resp.json()) == {"jobId", "status", "estimatedTime", "estimatedCost", "provider",
                                "replicateId", "message"}


def test_a_failed_job_within_the_wait_is_answered_200_with_its_error(api, sim):
    sim.faults(fail_predictions=1)
    resp = api.submit(IMAGE_EXAMPLE, headers={"Prefer": "wait=10"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "failed" and "CUDA" in resp.json()["error"]


@pytest.mark.parametrize("prefer", ["wait=26", "wait=0", "wait=ten"])
def test_a_wait_beyond_25_seconds_or_malformed_is_400_and_creates_nothing(api, aws, prefer):
    marker = f"prefer-{uuid.uuid4().hex[:8]}"
    assert_error(api.submit(dict(IMAGE_EXAMPLE, userId=marker), headers={"Prefer": prefer}),
                 400, "INVALID_VALUE")
    jobs = aws("dynamodb").scan(TableName="vsl-media-local-jobs", FilterExpression="userId = :u",
                                ExpressionAttributeValues={":u": {"S": marker}})["Items"]
    assert jobs == []


# ---- progress ---------------------------------------------------------------------------

def test_progress_never_decreases_during_a_video_job_and_reaches_1(api, sim):
    sim.faults(latency_s=6)
    job_id = api.submit(video(f"{sim.base_url}/samples/input.jpg")).json()["jobId"]
    views = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = api.status(job_id).json()
        views.append(view)
        if view["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.2)
    assert views[-1]["status"] == "completed" and views[-1]["progress"] == 1
    known = [v["progress"] for v in views if v["progress"] is not None]
    assert known == sorted(known)
    assert len({p for p in known if 0 < p < 0.9}) >= 2    # the bar was seen moving
    stages = [v.get("stage") for v in views]
    assert "generating" in stages and stages[-1] is None
    assert [s for s in stages if s] == sorted(
        (s for s in stages if s), key=["queued", "starting", "generating", "storing"].index)
