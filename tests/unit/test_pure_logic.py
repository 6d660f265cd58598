"""Pure logic: no network, no emulator."""
import json
from datetime import datetime, timezone

import pytest

from chalicelib.catalog import nearest_aspect_ratio
from chalicelib.config import REPLICATE_PUBLIC_URL
from chalicelib.jobs.model import Prediction
from chalicelib.notifications.signing import signed_headers
from chalicelib.replicate import WebhookRejected, verify_webhook
from chalicelib.resources import load_spec, resource_names
from chalicelib.storage import job_prefix, output_name, parse_original_key
from tests.support.settings import settings_with

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.parametrize("w,h,ratio", [(1024, 1024, "1:1"), (1920, 1080, "16:9"),
                                       (1080, 1920, "9:16"), (1200, 1000, "5:4"),
                                       (2100, 900, "21:9"), (2048, 256, "21:9")])
def test_nearest_aspect_ratio(w, h, ratio):
    assert nearest_aspect_ratio(w, h) == ratio


def test_job_prefix_and_original_key_round_trip():
    created = datetime(2025, 10, 8, 10, 30, tzinfo=timezone.utc)
    prefix = job_prefix("video", "acme", "user123", created, "job-1")
    assert prefix == "videos/acme/user123/2025/10/08/job-1"
    assert parse_original_key(f"{prefix}/{output_name(0, 'mp4')}") == "job-1"
    assert parse_original_key(f"{prefix}/{output_name(1, 'mp4')}") is None
    assert parse_original_key(f"{prefix}/thumbnail.jpg") is None
    assert parse_original_key("uploads/original.png") is None


def test_output_urls_accepts_replicates_shapes():
    def urls(output):
        return Prediction(id="p", status="succeeded", output=output).output_urls
    assert urls("https://x/a.mp4") == ["https://x/a.mp4"]
    assert urls(["https://x/1.png", "https://x/2.png"]) == ["https://x/1.png", "https://x/2.png"]
    assert urls(None) == [] and urls({"odd": 1}) == []


def _signed(body: str, ts: datetime, msg_id="msg_1"):
    return signed_headers(SECRET, body, msg_id, ts)


def test_verify_webhook_accepts_a_valid_signature_among_several():
    body = json.dumps({"id": "p1", "status": "succeeded"})
    headers = _signed(body, datetime.now(timezone.utc))
    headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"]
    verify_webhook(SECRET, body.encode(), headers)


@pytest.mark.parametrize("mangle", [
    lambda b, h: (b + " ", h),
    lambda b, h: (b, {**h, "webhook-id": "msg_2"}),
    lambda b, h: (b, {k: v for k, v in h.items() if k != "webhook-signature"}),
    lambda b, h: (b, {**h, "webhook-signature": "v1"}),
    lambda b, h: (b, {**h, "webhook-timestamp": "yesterday"}),
])
def test_verify_webhook_rejects_tampering(mangle):
    body = json.dumps({"id": "p1", "status": "succeeded"})
    b, h = mangle(body, _signed(body, datetime.now(timezone.utc)))
    with pytest.raises(WebhookRejected):
        verify_webhook(SECRET, b.encode(), h)


def test_settings_token_without_base_url_means_the_real_service(monkeypatch):
    s = settings_with(monkeypatch, {"REPLICATE_API_TOKEN": "r8_x"})
    assert s.replicate_base_url == REPLICATE_PUBLIC_URL
    assert settings_with(monkeypatch, {}).replicate_base_url is None
    sim = settings_with(monkeypatch, {"REPLICATE_API_TOKEN": "t", "REPLICATE_BASE_URL": "http://sim/"})
    assert sim.replicate_base_url == "http://sim"


def test_resource_names_come_from_the_shared_spec():
    names = resource_names("homolog")
    spec = load_spec()
    assert names.jobs_table == f"{spec['service']}-homolog-jobs"
    assert set(spec["stages"]) >= {"local", "homolog"}
    assert resource_names("homolog", "my-bucket").media_bucket == "my-bucket"
