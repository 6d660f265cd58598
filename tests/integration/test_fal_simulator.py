"""The fal simulator answers as queue.fal.run does (checked with fal's official
Python client, fal-client, over HTTPS), signs its webhooks as fal documents,
makes real media, and its faults do what the Replicate simulator's do.

Each test runs its own simulator in this process (on a free port), so counts and
fault settings never leak between tests.
"""
import base64
import datetime
import hashlib
import io
import ipaddress
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
import pytest
import requests
import soundfile
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import NameOID
from PIL import Image

from chalicelib.catalog import CATALOG
from chalicelib.providers.fal_models import FAL_MODELS
from local.fal_sim.models import KNOWLEDGE, models_from_table
from local.fal_sim.server import serve

pytestmark = pytest.mark.integration

KEY = "sim-key-id:sim-key-secret"
USER_ID = "sim-user-42"
FLUX, SDXL = "fal-ai/flux/schnell", "fal-ai/fast-sdxl"
SVD, AUDIO = "fal-ai/stable-video", "fal-ai/stable-audio"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Sim:
    def __init__(self, tls=None):
        self.state, self.server = serve("127.0.0.1", 0, KEY, USER_ID, tls=tls)
        self.url = self.state.public_url
        self.verify = tls[0] if tls else True
        # A short poll interval: shutdown() waits for it, once per test.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()

    def api(self, method, path, key=KEY, scheme="Key", **kwargs):
        headers = kwargs.pop("headers", {})
        if key is not None:
            headers["Authorization"] = f"{scheme} {key}"
        kwargs.setdefault("timeout", 10)
        url = path if path.startswith("http") else self.url + path
        return requests.request(method, url, headers=headers, verify=self.verify, **kwargs)

    def faults(self, **changes):
        resp = requests.post(f"{self.url}/_sim/faults", json=changes, timeout=5, verify=self.verify)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def submit(self, endpoint, model_input, webhook=None, **kwargs):
        params = {"fal_webhook": webhook} if webhook else None
        resp = self.api("POST", f"/{endpoint}", json=model_input, params=params, **kwargs)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def status(self, submitted, logs=True):
        return self.api("GET", submitted["status_url"], params={"logs": 1 if logs else 0})

    def wait(self, submitted, statuses=("COMPLETED",), timeout_s=30):
        deadline = time.monotonic() + timeout_s
        while True:
            body = self.status(submitted).json()
            if body["status"] in statuses:
                return body
            assert time.monotonic() < deadline, f"{submitted['request_id']} still {body['status']}"
            time.sleep(0.03)

    def result(self, submitted, timeout_s=30):
        self.wait(submitted, timeout_s=timeout_s)
        return self.api("GET", submitted["response_url"])

    def webhook_log(self, rid, until=lambda entries: bool(entries), timeout_s=30):
        deadline = time.monotonic() + timeout_s
        while True:
            entries = [e for e in requests.get(f"{self.url}/_sim/webhooks", timeout=5,
                                               verify=self.verify).json() if e["id"] == rid]
            if until(entries):
                return entries
            assert time.monotonic() < deadline, f"webhook log of {rid}: {entries}"
            time.sleep(0.05)

    def close(self):
        self.state.reset()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sim():
    s = Sim()
    yield s
    s.close()


# ---- a webhook receiver that verifies as fal's documentation says ----------------

class FalWebhookVerifier:
    """fal's documented check: fetch the JWKS, require the four X-Fal-Webhook-*
    headers, accept a timestamp within 5 minutes, and verify the hex ED25519
    signature over request id, user id, timestamp and the hex SHA-256 of the raw
    body, joined by newlines, against each public key in turn."""
    LEEWAY_S = 300

    def __init__(self, jwks_url, verify=True):
        self.jwks_url, self.verify = jwks_url, verify
        self._keys = None

    def keys(self):
        if self._keys is None:
            jwks = requests.get(self.jwks_url, timeout=10, verify=self.verify).json()
            self._keys = [Ed25519PublicKey.from_public_bytes(
                base64.urlsafe_b64decode(k["x"] + "=" * (-len(k["x"]) % 4)))
                for k in jwks["keys"] if k.get("kty") == "OKP" and k.get("crv") == "Ed25519"]
        return self._keys

    def check(self, headers, body: bytes, now=None) -> bool:
        names = ("x-fal-webhook-request-id", "x-fal-webhook-user-id",
                 "x-fal-webhook-timestamp", "x-fal-webhook-signature")
        lowered = {k.lower(): v for k, v in headers.items()}
        if not all(lowered.get(n) for n in names):
            return False
        request_id, user_id, timestamp, signature = (lowered[n] for n in names)
        try:
            if abs((time.time() if now is None else now) - int(timestamp)) > self.LEEWAY_S:
                return False
            signature = bytes.fromhex(signature)
        except ValueError:
            return False
        message = "\n".join([request_id, user_id, timestamp,
                             hashlib.sha256(body).hexdigest()]).encode()
        for key in self.keys():
            try:
                key.verify(signature, message)
                return True
            except InvalidSignature:
                continue
        return False


class Receiver:
    """Records what it receives (headers, raw body), answering ``answers`` in turn, then 204."""

    def __init__(self, answers=()):
        self.received = []
        self.answers = list(answers)
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.cond:
                    receiver.received.append((dict(self.headers), body))
                    status = receiver.answers.pop(0) if receiver.answers else 204
                    receiver.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/fal?jobId=j1"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def wait_for(self, count, timeout_s=30):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.received) >= count, timeout_s), self.received
            return list(self.received)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def verifier(sim):
    return FalWebhookVerifier(f"{sim.url}/.well-known/jwks.json")


# ---- the models come from the one table the service reads --------------------

def test_the_simulated_models_are_the_tables():
    models = models_from_table()
    assert set(models) == {m.endpoint_id for m in FAL_MODELS.values()} == set(KNOWLEDGE)
    assert set(FAL_MODELS) <= set(CATALOG)
    for model_id, spec in FAL_MODELS.items():
        assert spec.media_type == CATALOG[model_id].media_type


def test_a_table_model_the_simulator_does_not_know_is_a_clear_error():
    class Spec:
        endpoint_id = "someone/new-model"

    with pytest.raises(LookupError, match="someone/new-model"):
        models_from_table({"new": Spec()})


@pytest.mark.parametrize("model_id", sorted(FAL_MODELS))
def test_the_tables_mapping_of_each_catalog_model_runs_and_its_outputs_are_found(sim, model_id):
    entry, fal = CATALOG[model_id], FAL_MODELS[model_id]
    params = {"prompt": "a lighthouse"}
    if model_id == "stability-video":
        params = {"image": f"{sim.url}/samples/input.jpg"}
    submitted = sim.submit(fal.endpoint_id, fal.input_for(entry.parameters(**params)))
    result = sim.result(submitted, timeout_s=60)
    assert result.status_code == 200, result.text
    urls = fal.output_urls(result.json())
    assert len(urls) == entry.parameters(**params).outputs_requested()
    for url in urls:
        assert requests.get(url, timeout=10).content


# ---- submit, status, result: fal's shapes ---------------------------------------

def test_submit_answers_with_the_request_and_its_urls_on_the_app_path(sim):
    resp = sim.api("POST", f"/{FLUX}", json={"prompt": "x"})
    assert resp.status_code == 200
    body = resp.json()
    rid = body["request_id"]
    assert resp.headers["X-Fal-Request-Id"] == rid
    assert body["status"] == "IN_QUEUE" and body["queue_position"] == 0
    assert body["gateway_request_id"] == rid
    # The status, result and cancel URLs use owner/app only, without the endpoint path.
    base = f"{sim.url}/fal-ai/flux/requests/{rid}"
    assert (body["response_url"], body["status_url"], body["cancel_url"]) == (
        base, base + "/status", base + "/cancel")
    assert sim.api("GET", f"/fal-ai/flux/schnell/requests/{rid}/status").status_code == 404
    assert sim.api("GET", f"/fal-ai/fast-sdxl/requests/{rid}/status").status_code == 404


def test_requests_wait_in_the_queue_with_positions_then_run_with_logs(sim):
    sim.faults(runners=1, queue_s=0.3, latency_s=600)
    first, second, third = (sim.submit(SDXL, {"prompt": f"p{i}"}) for i in range(3))
    assert [s["queue_position"] for s in (first, second, third)] == [0, 1, 2]
    queued = sim.status(third)
    assert queued.status_code == 202
    assert queued.json()["status"] == "IN_QUEUE" and queued.json()["queue_position"] == 2
    assert "logs" not in queued.json()

    running = sim.wait(first, ("IN_PROGRESS",))
    assert running["logs"][0]["message"] == "Running on a runner of fal-ai/fast-sdxl"
    assert {"message", "level", "source", "timestamp"} <= set(running["logs"][0])
    assert sim.status(first).status_code == 202
    assert sim.status(first, logs=False).json()["logs"] is None
    # One runner: the others wait, and move up.
    assert sim.status(second).json()["queue_position"] == 0
    assert sim.status(third).json()["queue_position"] == 1

    sim.faults(latency_s=0.3)  # for the requests that start from now on
    sim.api("PUT", first["cancel_url"]).raise_for_status()
    done = sim.wait(second)
    assert sim.status(second).status_code == 200
    assert done["metrics"]["inference_time"] >= 0.25
    assert "error" not in done and any("Generated 1" in e["message"] for e in done["logs"])
    assert "error" not in sim.wait(third)


def test_the_result_before_completion_is_400(sim):
    sim.faults(queue_s=600)
    submitted = sim.submit(FLUX, {"prompt": "x"})
    resp = sim.api("GET", submitted["response_url"])
    assert resp.status_code == 400 and resp.json() == {"detail": "Request is still in progress"}


def test_unknown_requests_models_and_paths(sim):
    assert sim.api("GET", "/fal-ai/flux/requests/nope/status").status_code == 404
    assert sim.api("GET", "/fal-ai/flux/requests/nope").status_code == 404
    resp = sim.api("POST", "/fal-ai/no-such-model", json={"prompt": "x"})
    assert resp.status_code == 404 and "fal-ai/no-such-model" in resp.json()["detail"]
    assert sim.api("GET", "/nothing").status_code == 404


@pytest.mark.parametrize("scheme,key", [("Key", "wrong"), ("Bearer", KEY), ("Key", None)])
def test_a_bad_key_is_401(sim, scheme, key):
    resp = sim.api("POST", f"/{FLUX}", json={"prompt": "x"}, scheme=scheme, key=key)
    assert resp.status_code == 401 and "detail" in resp.json()


@pytest.mark.parametrize("method,path", [("GET", f"/{FLUX}"), ("DELETE", f"/{FLUX}"),
                                         ("POST", "/fal-ai/flux/requests/x/status"),
                                         ("GET", "/fal-ai/flux/requests/x/cancel")])
def test_other_methods_get_a_json_405(sim, method, path):
    resp = sim.api(method, path)
    assert resp.status_code == 405 and resp.json() == {"detail": "Method Not Allowed"}


def test_a_malformed_body_is_a_json_400(sim):
    resp = sim.api("POST", f"/{FLUX}", data="{not json")
    assert resp.status_code == 400 and resp.json()["detail"]


# ---- results: fal's output fields, real media -----------------------------------

def test_flux_images_are_real_in_the_asked_size_and_format(sim):
    body = sim.result(sim.submit(FLUX, {"prompt": "x", "num_images": 2, "seed": 7,
                                        "image_size": {"width": 640, "height": 480},
                                        "output_format": "png"})).json()
    assert set(body) == {"images", "seed", "prompt", "has_nsfw_concepts", "timings"}
    assert body["seed"] == 7 and body["has_nsfw_concepts"] == [False, False]
    for image in body["images"]:
        data = requests.get(image["url"], timeout=10).content
        decoded = Image.open(io.BytesIO(data))
        assert decoded.format == "PNG" and decoded.size == (640, 480)
        assert image["width"] == 640 and image["height"] == 480
        assert image["content_type"] == "image/png" and image["file_size"] == len(data)


def test_sdxl_defaults_to_square_hd_jpeg(sim):
    body = sim.result(sim.submit(SDXL, {"prompt": "x"})).json()
    (image,) = body["images"]
    decoded = Image.open(io.BytesIO(requests.get(image["url"], timeout=10).content))
    assert decoded.format == "JPEG" and decoded.size == (1024, 1024)


def test_stable_video_is_a_real_mp4(sim, tmp_path):
    body = sim.result(sim.submit(SVD, {"image_url": f"{sim.url}/samples/input.jpg", "fps": 12}),
                      timeout_s=60).json()
    video = body["video"]
    assert video["content_type"] == "video/mp4" and isinstance(body["seed"], int)
    (tmp_path / "out.mp4").write_bytes(requests.get(video["url"], timeout=10).content)
    with av.open(str(tmp_path / "out.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.frames == 25 and stream.average_rate == 12
        next(container.decode(stream))


def test_stable_audio_is_a_real_wav_of_the_asked_length(sim):
    body = sim.result(sim.submit(AUDIO, {"prompt": "drums", "seconds_total": 2})).json()
    audio = body["audio_file"]
    assert audio["content_type"] == "audio/wav" and audio["file_name"].endswith(".wav")
    data, rate = soundfile.read(io.BytesIO(requests.get(audio["url"], timeout=10).content))
    assert rate == 44100 and len(data) / rate == pytest.approx(2, abs=0.01)


def test_an_input_image_may_be_a_data_url(sim):
    jpeg = requests.get(f"{sim.url}/samples/input.jpg", timeout=10).content
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    assert sim.result(sim.submit(SVD, {"image_url": data_url}), timeout_s=60).status_code == 200


def test_invalid_input_is_accepted_then_fails_with_fastapis_422(sim):
    submitted = sim.submit(SDXL, {"num_inference_steps": 99})  # the queue takes any JSON
    result = sim.result(submitted)
    assert result.status_code == 422
    assert result.json() == {"detail": [
        {"type": "missing", "loc": ["body", "prompt"], "msg": "Field required",
         "input": {"num_inference_steps": 99}},
        {"type": "less_than_equal", "loc": ["body", "num_inference_steps"],
         "msg": "Input should be less than or equal to 65", "input": 99, "ctx": {"le": 65}}]}
    status = sim.status(submitted).json()
    assert status["status"] == "COMPLETED" and status["error"] == "Invalid status code: 422"


# ---- cancel -----------------------------------------------------------------------

def test_cancelling_a_queued_request_means_it_never_runs(sim):
    sim.faults(queue_s=600)
    submitted = sim.submit(FLUX, {"prompt": "x"})
    resp = sim.api("PUT", submitted["cancel_url"])
    assert resp.status_code == 202 and resp.json() == {"status": "CANCELLATION_REQUESTED"}
    status = sim.status(submitted).json()
    assert status["status"] == "COMPLETED" and status["error"] == "Request was cancelled"
    assert not any("Running" in e["message"] for e in status["logs"])
    result = sim.api("GET", submitted["response_url"])
    assert result.status_code == 400 and result.json() == {"detail": "Request was cancelled"}
    again = sim.api("PUT", submitted["cancel_url"])
    assert again.status_code == 400 and again.json() == {"status": "ALREADY_COMPLETED"}
    unknown = sim.api("PUT", "/fal-ai/flux/requests/nope/cancel")
    assert unknown.status_code == 404 and unknown.json() == {"status": "NOT_FOUND"}


def test_cancelling_a_running_request_stops_the_app(sim, receiver):
    sim.faults(latency_s=600)
    submitted = sim.submit(FLUX, {"prompt": "x"}, webhook=receiver.url)
    sim.wait(submitted, ("IN_PROGRESS",))
    assert sim.api("PUT", submitted["cancel_url"]).status_code == 202
    status = sim.wait(submitted)
    assert status["error"] == "Request was cancelled"
    assert sim.webhook_log(submitted["request_id"], lambda e: True) == []  # no webhook


def test_cancel_ignored_the_running_app_completes_anyway(sim):
    sim.faults(latency_s=1.5, cancel_ignored=1)
    submitted = sim.submit(FLUX, {"prompt": "x"})
    sim.wait(submitted, ("IN_PROGRESS",))
    assert sim.api("PUT", submitted["cancel_url"]).status_code == 202
    result = sim.result(submitted)
    assert result.status_code == 200 and result.json()["images"]


# ---- webhooks ---------------------------------------------------------------------

def test_the_webhook_is_signed_as_fal_documents(sim, receiver, verifier):
    submitted = sim.submit(FLUX, {"prompt": "x"}, webhook=receiver.url)
    (headers, body), = receiver.wait_for(1)
    assert verifier.check(headers, body)
    assert headers["X-Fal-Webhook-User-Id"] == USER_ID
    assert headers["X-Fal-Webhook-Request-Id"] == submitted["request_id"]
    payload = json.loads(body)
    assert payload == {"request_id": submitted["request_id"],
                       "gateway_request_id": submitted["request_id"], "status": "OK",
                       "error": None, "payload": sim.api("GET", submitted["response_url"]).json()}


def test_the_verifier_refuses_what_fal_would_not_have_signed(sim, receiver, verifier):
    sim.submit(FLUX, {"prompt": "x"}, webhook=receiver.url)
    (headers, body), = receiver.wait_for(1)
    assert verifier.check(headers, body)
    assert not verifier.check(headers, body + b" ")
    assert not verifier.check({**headers, "X-Fal-Webhook-User-Id": "someone-else"}, body)
    assert not verifier.check(headers, body, now=int(headers["X-Fal-Webhook-Timestamp"]) + 301)
    assert not verifier.check({k: v for k, v in headers.items()
                               if k != "X-Fal-Webhook-Signature"}, body)
    # The JWKS lists a retired key first: a receiver that tries only one key fails.
    first_only = FalWebhookVerifier(verifier.jwks_url)
    first_only._keys = verifier.keys()[:1]
    assert not first_only.check(headers, body)


def test_a_failed_request_sends_an_error_webhook(sim, receiver, verifier):
    submitted = sim.submit(SDXL, {"negative_prompt": "x"}, webhook=receiver.url)
    (headers, body), = receiver.wait_for(1)
    assert verifier.check(headers, body)
    payload = json.loads(body)
    assert payload["status"] == "ERROR" and payload["error"] == "Invalid status code: 422"
    assert payload["payload"]["detail"][0]["loc"] == ["body", "prompt"]
    assert payload["request_id"] == submitted["request_id"]


def test_a_refused_webhook_is_retried_and_signed_anew(sim, verifier):
    receiver = Receiver(answers=[500])
    try:
        submitted = sim.submit(FLUX, {"prompt": "x"}, webhook=receiver.url)
        (h1, b1), (h2, b2) = receiver.wait_for(2)
        assert b1 == b2 and verifier.check(h1, b1) and verifier.check(h2, b2)
        assert sim.webhook_log(submitted["request_id"]) == [
            {"id": submitted["request_id"], "event": "completed", "result": "delivered"}]
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_dropped_and_duplicated_webhooks(sim, receiver, verifier):
    sim.faults(drop_webhooks=1, duplicate_webhooks=1)
    dropped = sim.submit(FLUX, {"prompt": "dropped"}, webhook=receiver.url)
    assert [e["result"] for e in sim.webhook_log(dropped["request_id"])] == ["dropped"]
    doubled = sim.submit(FLUX, {"prompt": "doubled"}, webhook=receiver.url)
    (h1, b1), (h2, b2) = receiver.wait_for(2)
    assert b1 == b2 and json.loads(b1)["request_id"] == doubled["request_id"]
    assert verifier.check(h1, b1) and verifier.check(h2, b2)


def test_reset_cancels_requests_and_abandons_webhooks(sim, receiver):
    sim.faults(webhook_delay_s=600)
    delivered_late = sim.submit(FLUX, {"prompt": "x"}, webhook=receiver.url)
    sim.wait(delivered_late)
    sim.faults(queue_s=600)
    queued = sim.submit(FLUX, {"prompt": "y"}, webhook=receiver.url)
    requests.post(f"{sim.url}/_sim/reset", timeout=5).raise_for_status()
    assert sim.status(queued).json()["error"] == "Request was cancelled"
    assert [e["result"] for e in sim.webhook_log(delivered_late["request_id"])] == ["abandoned"]
    assert receiver.received == []
    assert requests.get(f"{sim.url}/_sim/faults", timeout=5).json()["queue_s"] == 0.15


# ---- faults ---------------------------------------------------------------------

def test_fault_settings_are_checked(sim):
    for bad in ({"no_such_fault": 1}, {"latency_s": -1}, {"create_errors": [200]},
                {"runners": 0}, {"reorder_webhooks": 1}, {"broken_outputs": ["weird"]},
                {"large_output": {"kind": "hologram"}}, {"cancel_ignored": -1}):
        resp = requests.post(f"{sim.url}/_sim/faults", json=bad, timeout=5)
        assert resp.status_code == 400 and resp.json()["detail"], bad
    assert sim.faults(runners=2, get_errors=[503])["get_errors"] == [503]


def test_create_errors_and_retry_after(sim):
    sim.faults(create_errors=[429, 500], retry_after_s=7)
    throttled = sim.api("POST", f"/{FLUX}", json={"prompt": "x"})
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert sim.api("POST", f"/{FLUX}", json={"prompt": "x"}).status_code == 500
    assert sim.api("POST", f"/{FLUX}", json={"prompt": "x"}).status_code == 200
    assert len(sim.state.requests) == 1  # the refused ones were never queued


def test_a_hanging_create_still_queues_and_runs_the_request(sim, receiver):
    sim.faults(create_hang_s=600)
    with pytest.raises(requests.Timeout):
        sim.api("POST", f"/{FLUX}", json={"prompt": "x"}, params={"fal_webhook": receiver.url},
                timeout=1)
    (_, body), = receiver.wait_for(1)
    assert json.loads(body)["status"] == "OK"  # it ran, though the caller never heard


def test_a_disconnected_create_still_queues_and_runs_the_request(sim, receiver):
    sim.faults(create_disconnects=1)
    with pytest.raises(requests.ConnectionError):
        sim.api("POST", f"/{FLUX}", json={"prompt": "x"}, params={"fal_webhook": receiver.url})
    (_, body), = receiver.wait_for(1)
    assert json.loads(body)["status"] == "OK"


def test_get_errors_apply_to_status_and_result(sim):
    submitted = sim.submit(FLUX, {"prompt": "x"})
    sim.wait(submitted)
    sim.faults(get_errors=[503, 429], retry_after_s=3)
    assert sim.status(submitted).status_code == 503
    throttled = sim.api("GET", submitted["response_url"])
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert sim.api("GET", submitted["response_url"]).status_code == 200


def test_failing_requests(sim, receiver):
    sim.faults(fail_predictions=1)
    failed = sim.submit(FLUX, {"prompt": "x"}, webhook=receiver.url)
    result = sim.result(failed)
    assert result.status_code == 500 and "CUDA" in result.json()["detail"]
    assert "CUDA" in sim.status(failed).json()["error"]
    (_, body), = receiver.wait_for(1)
    assert json.loads(body)["status"] == "ERROR"
    assert sim.result(sim.submit(FLUX, {"prompt": "y"})).status_code == 200


def test_file_errors_and_expiry(sim):
    url = sim.result(sim.submit(FLUX, {"prompt": "x"})).json()["images"][0]["url"]
    sim.faults(file_errors=[500])
    assert requests.get(url, timeout=10).status_code == 500
    assert requests.get(url, timeout=10).status_code == 200
    sim.faults(output_ttl_s=0)
    assert requests.get(url, timeout=10).status_code == 404


def test_broken_outputs(sim):
    sim.faults(broken_outputs=["empty", "truncated", "corrupt"])
    outputs = [requests.get(sim.result(sim.submit(FLUX, {"prompt": "x", "output_format": "png",
                                                         "seed": 1})).json()["images"][0]["url"],
                            timeout=10).content for _ in range(4)]
    empty, truncated, corrupt, intact = outputs
    assert empty == b"" and len(truncated) < len(intact)
    assert intact.startswith(b"\x89PNG") and not corrupt.startswith(b"\x89PNG")


def test_a_large_video_output(sim, tmp_path):
    sim.faults(large_output={"kind": "video", "seconds": 3, "width": 320, "height": 180,
                             "fps": 10, "bytes": 3_000_000})
    video = sim.result(sim.submit(SVD, {"image_url": f"{sim.url}/samples/input.jpg"}),
                       timeout_s=120).json()["video"]
    assert video["file_size"] == 3_000_000
    (tmp_path / "big.mp4").write_bytes(requests.get(video["url"], timeout=30).content)
    with av.open(str(tmp_path / "big.mp4")) as container:
        assert container.duration / 1e6 == pytest.approx(3, abs=0.1)
        next(container.decode(container.streams.video[0]))


def test_hard_down_is_a_closed_port(sim):
    url = sim.url
    sim.server.shutdown()
    sim.server.server_close()
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{url}/{FLUX}", json={"prompt": "x"}, timeout=5)


# ---- fal's official client ---------------------------------------------------------

def self_signed(tmp_path):
    """A certificate for 127.0.0.1 the client is told to trust (fal-client speaks https only)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fal-sim")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


CLIENT_SCRIPT = textwrap.dedent("""
    import json, sys
    import fal_client

    out = {}
    handle = fal_client.submit("fal-ai/flux/schnell",
                               arguments={"prompt": "a cat", "num_images": 2},
                               webhook_url=sys.argv[1])
    out["request_id"] = handle.request_id
    events = list(handle.iter_events(with_logs=True, interval=0.05))
    out["events"] = [type(e).__name__ for e in events]
    out["positions"] = [e.position for e in events if isinstance(e, fal_client.Queued)]
    out["logs"] = [log["message"] for log in events[-1].logs]
    out["metrics"] = events[-1].metrics
    out["result"] = handle.get()
    out["subscribed"] = fal_client.subscribe("fal-ai/fast-sdxl", arguments={"prompt": "x"})
    out["status_by_id"] = type(fal_client.status("fal-ai/flux/schnell", handle.request_id)).__name__
    out["result_by_id"] = fal_client.result("fal-ai/flux/schnell", handle.request_id)
    queued = fal_client.submit("fal-ai/stable-audio", arguments={"prompt": "x"})
    queued.cancel()
    out["after_cancel"] = queued.status().error
    try:
        fal_client.submit("fal-ai/flux/schnell", arguments={"prompt": "x", "num_images": 9}).get()
    except fal_client.client.FalClientHTTPError as e:
        out["failed"] = [e.status_code, e.args[0]]
    print(json.dumps(out))
""")


def test_fals_official_client_works_against_the_simulator(tmp_path):
    cert, key = self_signed(tmp_path)
    sim = Sim(tls=(cert, key))
    receiver = Receiver()
    try:
        # The first submit is throttled once: the client retries 429s by itself.
        # The audio request is cancelled while still in its 0.6 s in the queue.
        sim.faults(create_errors=[429], retry_after_s=0, runners=1, queue_s=0.6, latency_s=0.3)
        port = sim.server.server_address[1]
        # fal-client reads its queue host from FAL_QUEUE_RUN_HOST when imported and always
        # speaks https; SSL_CERT_FILE makes httpx trust the simulator's certificate.
        env = dict(os.environ, FAL_KEY=KEY, FAL_QUEUE_RUN_HOST=f"127.0.0.1:{port}",
                   SSL_CERT_FILE=cert, PYTHONPATH=ROOT)
        run = subprocess.run([sys.executable, "-c", CLIENT_SCRIPT, receiver.url], env=env,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-3000:]
        out = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        sim.close()
    assert out["events"][0] == "Queued" and out["events"][-1] == "Completed"
    assert "InProgress" in out["events"] and out["positions"][0] == 0
    assert "Running on a runner of fal-ai/flux" in out["logs"]
    assert out["metrics"]["inference_time"] > 0
    assert len(out["result"]["images"]) == 2 and out["result"] == out["result_by_id"]
    assert out["result"]["images"][0]["url"].startswith(f"https://127.0.0.1:{port}/files/")
    assert len(out["subscribed"]["images"]) == 1
    assert out["status_by_id"] == "Completed"
    assert out["after_cancel"] == "Request was cancelled"
    # A 422's detail list comes through as the error's message.
    assert out["failed"][0] == 422 and out["failed"][1][0]["loc"] == ["body", "num_images"]
    (_, body), = receiver.wait_for(1)
    assert json.loads(body)["request_id"] == out["request_id"]

