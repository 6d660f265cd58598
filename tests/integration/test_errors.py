"""Bad input of every kind gets a 4xx in the documented error format, never a 500."""
import json
import uuid

import pytest
import requests

from chalicelib.notifications.signing import signed_headers
from tests.support.api import IMAGE_EXAMPLE, assert_error
from tests.support.webhooks import signed_webhook

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("key", [None, "", "vsl_not_a_real_key"])
def test_public_routes_need_a_valid_key(api, key):
    assert_error(api.submit(IMAGE_EXAMPLE, key=key), 401, "UNAUTHORIZED")
    assert_error(api.status(str(uuid.uuid4()), key=key), 401, "UNAUTHORIZED")
    assert_error(api.request("GET", "/models", key=key), 401, "UNAUTHORIZED")


def test_malformed_json_is_400(api):
    resp = api.request("POST", "/generate-media", data=b'{"userId": "u1", "mediaType": ',
                       headers={"Content-Type": "application/json"})
    assert_error(resp, 400, "INVALID_JSON")


@pytest.mark.parametrize("raw", [b"", b"[]", b'"text"', b"\xff\xfe"])
def test_body_that_is_not_a_json_object_is_400(api, raw):
    resp = api.request("POST", "/generate-media", data=raw,
                       headers={"Content-Type": "application/json"})
    assert_error(resp, 400, "INVALID_JSON")


def test_wrong_content_type_is_415(api):
    resp = api.request("POST", "/generate-media", data=b"userId=u1",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_oversized_body_is_413(api):
    body = dict(IMAGE_EXAMPLE, parameters={"prompt": "x" * 70_000})
    assert_error(api.submit(body), 413, "PAYLOAD_TOO_LARGE")


def test_unknown_model_is_400_and_lists_the_models(api):
    body = assert_error(api.submit(dict(IMAGE_EXAMPLE, modelId="dall-e")), 400, "UNKNOWN_MODEL")
    assert "flux-schnell" in body["details"]


def test_wrong_type_names_the_field(api):
    body = dict(IMAGE_EXAMPLE, parameters={"prompt": "x", "width": "wide"})
    assert "parameters.width" in assert_error(api.submit(body), 400, "INVALID_TYPE")["details"]


def test_missing_user_id_is_400(api):
    body = {k: v for k, v in IMAGE_EXAMPLE.items() if k != "userId"}
    assert "userId" in assert_error(api.submit(body), 400, "MISSING_PARAMETER")["details"]


@pytest.mark.parametrize("job_id", ["0b7e7a52-9c3e-4a39-9d0e-3f5f3c1c2a11", "not-a-uuid", "a" * 300],
                         ids=["unknown-uuid", "not-a-uuid", "too-long"])
def test_unknown_job_id_is_404(api, job_id):
    assert_error(api.status(job_id), 404, "JOB_NOT_FOUND")


def test_wrong_method_is_405_in_our_format(api):
    assert_error(api.request("DELETE", "/generate-media"), 405, "METHOD_NOT_ALLOWED")


def test_unsigned_webhook_is_401_and_changes_nothing(api, sim):
    job = api.submit(IMAGE_EXAMPLE).json()
    sim_job = {"id": job["replicateId"], "status": "failed", "error": "forged"}
    resp = api.request("POST", f"/webhook/replicate?jobId={job['jobId']}", key=None,
                       json=sim_job)
    assert_error(resp, 401, "INVALID_SIGNATURE")
    assert api.wait_for(job["jobId"])["status"] == "completed"


def test_webhook_signed_with_another_secret_is_401(api, sim):
    job = api.submit(IMAGE_EXAMPLE).json()
    body, headers = signed_webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB",
                                   {"id": job["replicateId"], "status": "failed", "error": "x"})
    resp = api.request("POST", f"/webhook/replicate?jobId={job['jobId']}", key=None,
                       data=body, headers=headers)
    assert_error(resp, 401, "INVALID_SIGNATURE")
    assert api.wait_for(job["jobId"])["status"] == "completed"


def test_tampered_and_stale_webhooks_are_401(api, sim):
    from datetime import datetime, timedelta, timezone
    secret = sim.secret()
    payload = {"id": "p1", "status": "failed", "error": "x"}
    body, headers = signed_webhook(secret, payload)
    tampered = body.replace("failed", "succeeded")
    assert_error(api.request("POST", "/webhook/replicate?jobId=x", key=None, data=tampered,
                             headers=headers), 401, "INVALID_SIGNATURE")
    old = datetime.now(timezone.utc) - timedelta(minutes=6)
    body, headers = signed_webhook(secret, payload, timestamp=old)
    assert_error(api.request("POST", "/webhook/replicate?jobId=x", key=None, data=body,
                             headers=headers), 401, "INVALID_SIGNATURE")
    body, headers = signed_webhook(secret, payload)
    headers["webhook-signature"] = "garbage-without-version"
    assert_error(api.request("POST", "/webhook/replicate?jobId=x", key=None, data=body,
                             headers=headers), 401, "INVALID_SIGNATURE")


def test_an_input_url_with_credentials_is_400_invalid_value(api):
    body = {"userId": "user123", "mediaType": "video", "modelId": "stability-video",
            "parameters": {"image": "https://user:secret@example.com/in.jpg"}}
    details = assert_error(api.submit(body), 400, "INVALID_VALUE")["details"]
    assert "parameters.image" in details and "secret" not in details


def test_body_size_boundary_is_exactly_the_limit(api):
    limit = 65536
    envelope = json.dumps(dict(IMAGE_EXAMPLE, parameters={"prompt": ""}))
    padding = limit - len(envelope.encode())
    at_limit = envelope.replace('"prompt": ""', '"prompt": "' + "x" * padding + '"')
    assert len(at_limit.encode()) == limit
    headers = {"Content-Type": "application/json"}
    resp = api.request("POST", "/generate-media", data=at_limit.encode(), headers=headers)
    assert resp.status_code != 413, resp.text  # 400 (prompt over 4000 characters), not 413
    over = at_limit.replace('"x', '"xx', 1)
    assert_error(api.request("POST", "/generate-media", data=over.encode(), headers=headers),
                 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("depth,code", [
    (2000, "INVALID_JSON"),   # deeper than any request nests (chalicelib.validation)
    (30000, "INVALID_JSON"),
    (40000, "PAYLOAD_TOO_LARGE")])
def test_deeply_nested_json_is_4xx_not_500(api, depth, code):
    raw = b'{"userId": ' + b"[" * depth + b"]" * depth + b"}"
    resp = api.request("POST", "/generate-media", data=raw,
                       headers={"Content-Type": "application/json"})
    assert_error(resp, 413 if code == "PAYLOAD_TOO_LARGE" else 400, code)


def test_a_signed_but_deeply_nested_webhook_is_400(api, sim):
    body = "[" * 50000 + "]" * 50000  # deeper than Python 3.13's parser goes
    headers = signed_headers(sim.secret(), body)
    assert_error(api.request("POST", "/webhook/replicate?jobId=x", key=None, data=body,
                             headers=headers), 400, "INVALID_JSON")


def test_a_signed_webhook_whose_body_is_not_a_prediction_is_400_not_401(api, sim):
    body, headers = signed_webhook(sim.secret(), [1, 2])
    assert_error(api.request("POST", "/webhook/replicate?jobId=x", key=None, data=body,
                             headers=headers), 400, "VALIDATION_ERROR")


def test_a_webhook_without_its_job_id_is_400(api, sim):
    body, headers = signed_webhook(sim.secret(), {"id": "p1", "status": "processing"})
    details = assert_error(api.request("POST", "/webhook/replicate", key=None, data=body,
                                       headers=headers), 400, "VALIDATION_ERROR")["details"]
    assert "jobId" in details


def test_a_post_without_content_type_is_415(api):
    resp = requests.post(api.base_url + "/generate-media", data=json.dumps(IMAGE_EXAMPLE),
                         headers={"X-API-Key": api.key}, timeout=10)
    assert "content-type" not in {k.lower() for k in resp.request.headers}
    assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_unknown_routes_are_404_in_our_format(api):
    for method in ("GET", "POST", "DELETE"):
        assert_error(api.request(method, "/no-such-route"), 404, "NOT_FOUND")


def test_trace_and_unknown_methods_are_405_in_our_format(api):
    for method in ("TRACE", "BREW"):
        assert_error(api.request(method, "/health"), 405, "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize("path", ["/health", "/models", "/status/0b7e7a52-9c3e-4a39-9d0e-3f5f3c1c2a11"])
def test_head_answers_wherever_get_does_with_no_body(api, path):
    get, head = api.request("GET", path), api.request("HEAD", path)
    assert head.status_code == get.status_code
    assert head.content == b""
    assert head.headers["Content-Type"] == "application/json"
