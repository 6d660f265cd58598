"""The seed's image example through the whole pipeline, over HTTP."""
import io
import re
import uuid

import pytest
import requests
from PIL import Image

from tests.support.api import IMAGE_EXAMPLE

pytestmark = pytest.mark.integration


def test_health_reports_every_part_ready(api):
    resp = api.request("GET", "/health", key=None)
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "checks": {"dynamodb": "ok", "s3": "ok", "sqs": "ok",
                                                      "replicate": "ok", "fal": "ok"}}


def test_image_example_completes_with_fetchable_original_and_thumbnail(api, sim):
    resp = api.submit(IMAGE_EXAMPLE)
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    assert set(accepted) == {"jobId", "status", "estimatedTime", "estimatedCost",
                             "replicateId", "provider", "message"}
    assert uuid.UUID(accepted["jobId"]).version == 4
    assert accepted["status"] == "pending"
    assert accepted["estimatedTime"] == 5 and accepted["estimatedCost"] == 0.003
    assert accepted["replicateId"] and accepted["provider"] == "replicate"

    job = api.wait_for(accepted["jobId"])
    assert job["status"] == "completed", job
    assert job["userId"] == "user123" and job["modelId"] == "flux-schnell"
    assert job["mediaType"] == "image"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", job["completedAt"])
    assert isinstance(job["processingTime"], int) and job["processingTime"] >= 0
    result = job["result"]
    assert re.fullmatch(rf"images/[^/]+/user123/\d{{4}}/\d\d/\d\d/{accepted['jobId']}",
                        result["s3Path"])
    assert f"/{result['s3Path']}/original.png" in result["originalUrl"]
    assert f"/{result['s3Path']}/thumbnail.jpg" in result["thumbnailUrl"]

    original = requests.get(result["originalUrl"], timeout=10)
    assert original.status_code == 200
    image = Image.open(io.BytesIO(original.content))
    assert image.format == "PNG"
    assert (image.width, image.height) == (result["width"], result["height"]) == (1024, 1024)
    assert len(original.content) == result["fileSize"]

    thumbnail = requests.get(result["thumbnailUrl"], timeout=10)
    assert thumbnail.status_code == 200
    thumb = Image.open(io.BytesIO(thumbnail.content))
    assert thumb.format == "JPEG" and max(thumb.size) <= 512


def test_result_is_stored_in_our_bucket_not_replicates(api, aws, stack):
    job = api.wait_for(api.submit(IMAGE_EXAMPLE).json()["jobId"])
    keys = {o["Key"] for o in aws("s3").list_objects_v2(
        Bucket="vsl-media-local-media", Prefix=job["result"]["s3Path"])["Contents"]}
    assert keys == {f"{job['result']['s3Path']}/original.png",
                    f"{job['result']['s3Path']}/thumbnail.jpg"}
    assert stack.simulator_url not in job["result"]["originalUrl"]


def test_the_document_and_its_reference_are_served_without_a_key(api):
    from openapi_spec_validator import validate
    doc = api.request("GET", "/openapi.json", key=None)
    assert doc.status_code == 200 and doc.headers["Content-Type"].startswith("application/json")
    validate(doc.json())
    page = api.request("GET", "/docs", key=None)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "/generate-media" in page.text and "openapi.json" in page.text
