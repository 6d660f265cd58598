"""The Replicate simulator answers as api.replicate.com does (checked with
Replicate's official Python client where it can be), and its faults and large
outputs do what the fault and benchmark suites rely on.

Each test runs its own simulator in this process (on a free port), so counts and
fault settings never leak between tests.
"""
import base64
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
import pytest
import replicate
import requests
from PIL import Image
from standardwebhooks.webhooks import Webhook

from chalicelib.catalog import CATALOG
from local.replicate_sim.models import KNOWLEDGE, models_from_catalog
from local.replicate_sim.server import serve

pytestmark = pytest.mark.integration

TOKEN = "sim-test-token"
FLUX = "black-forest-labs/flux-schnell"
SDXL = "stability-ai/sdxl"
SVD = "stability-ai/stable-video-diffusion"
MUSICGEN = "meta/musicgen"


class Sim:
    def __init__(self):
        self.state, self.server = serve("127.0.0.1", 0, TOKEN)
        self.url = self.state.public_url
        # A short poll interval: shutdown() waits for it, once per test.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()
        self.client = replicate.Client(api_token=TOKEN, base_url=self.url)

    def api(self, method, path, token=TOKEN, scheme="Bearer", **kwargs):
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"{scheme} {token}"
        kwargs.setdefault("timeout", 10)
        return requests.request(method, self.url + path, headers=headers, **kwargs)

    def faults(self, **changes):
        resp = requests.post(f"{self.url}/_sim/faults", json=changes, timeout=5)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def version(self, model):
        return self.api("GET", f"/v1/models/{model}").json()["latest_version"]["id"]

    def create(self, model, model_input, **body):
        resp = self.api("POST", "/v1/predictions",
                        json={"version": self.version(model), "input": model_input, **body})
        assert resp.status_code == 201, resp.text
        return resp.json()

    def wait(self, pid, statuses=("succeeded", "failed", "canceled"), timeout_s=30):
        deadline = time.monotonic() + timeout_s
        while True:
            prediction = self.api("GET", f"/v1/predictions/{pid}").json()
            if prediction["status"] in statuses:
                return prediction
            assert time.monotonic() < deadline, f"{pid} still {prediction['status']}"
            time.sleep(0.05)

    def webhook_log(self, pid, until=lambda entries: True, timeout_s=30):
        deadline = time.monotonic() + timeout_s
        while True:
            entries = [e for e in requests.get(f"{self.url}/_sim/webhooks", timeout=5).json()
                       if e["id"] == pid]
            if until(entries):
                return entries
            assert time.monotonic() < deadline, f"webhook log of {pid}: {entries}"
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


class Receiver:
    """Records the webhooks it receives, in order, after checking their signature."""

    def __init__(self, secret):
        self.received = []
        self.cond = threading.Condition()
        webhook = Webhook(secret)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = webhook.verify(body, dict(self.headers))  # raises if forged
                with receiver.cond:
                    receiver.received.append((self.headers["webhook-id"], payload))
                    receiver.cond.notify_all()
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?jobId=j1"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def wait_for(self, count, timeout_s=30):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.received) >= count, timeout_s), self.received
            return list(self.received)


@pytest.fixture
def receiver(sim):
    r = Receiver(sim.state.webhook_secret)
    yield r
    r.server.shutdown()
    r.server.server_close()


# ---- the models come from the catalog ------------------------------------------

def test_the_simulated_models_are_the_catalogs():
    models = models_from_catalog()
    assert set(models) == {e.replicate_model.owner_name for e in CATALOG.values()}
    for entry in CATALOG.values():
        model = models[entry.replicate_model.owner_name]
        assert model.official == entry.replicate_model.official
        assert model.media_type == entry.media_type


def test_a_catalog_model_the_simulator_does_not_know_is_a_clear_error():
    class Ref:
        owner_name, official = "someone/new-model", False

    class Entry:
        media_type, replicate_model = "image", Ref()

    with pytest.raises(LookupError, match="someone/new-model"):
        models_from_catalog({"new": Entry()})


def test_only_known_models_have_knowledge_entries_in_use():
    # Knowledge for a model the catalog dropped is dead weight: keep the two in step.
    assert set(KNOWLEDGE) == {e.replicate_model.owner_name for e in CATALOG.values()}


# ---- models and versions -------------------------------------------------------

@pytest.mark.parametrize("owner_name", sorted({e.replicate_model.owner_name for e in CATALOG.values()}))
def test_models_get_with_the_official_client(sim, owner_name):
    model = sim.client.models.get(owner_name)
    assert model.url == f"https://replicate.com/{owner_name}"
    assert (model.owner, model.name) == tuple(owner_name.split("/"))
    assert model.visibility == "public" and model.run_count > 0
    version = model.latest_version
    assert len(version.id) == 64 and version.cog_version and version.created_at
    input_schema = version.openapi_schema["components"]["schemas"]["Input"]
    assert set(input_schema["properties"]) == set(KNOWLEDGE[owner_name].inputs)
    assert model.versions.get(version.id).id == version.id


def test_enum_inputs_are_published_as_cog_does(sim):
    schema = sim.client.models.get(FLUX).latest_version.openapi_schema["components"]["schemas"]
    assert schema["Input"]["required"] == ["prompt"]
    assert schema["Input"]["properties"]["aspect_ratio"]["allOf"] == [
        {"$ref": "#/components/schemas/aspect_ratio"}]
    assert "16:9" in schema["aspect_ratio"]["enum"]
    assert schema["Output"]["type"] == "array"


def test_versions_routes(sim):
    version = sim.version(SDXL)
    assert sim.api("GET", f"/v1/models/{SDXL}/versions/{version}").json()["id"] == version
    assert sim.api("GET", f"/v1/models/{SDXL}/versions").json()["results"][0]["id"] == version
    assert sim.api("GET", f"/v1/models/{SDXL}/versions/{'0' * 64}").status_code == 404
    assert sim.api("GET", "/v1/models/nobody/nothing").status_code == 404


# ---- creating: validation as Replicate does it ---------------------------------

def test_a_missing_required_input_is_422_naming_it(sim):
    resp = sim.api("POST", f"/v1/models/{FLUX}/predictions", json={"input": {}})
    assert resp.status_code == 422
    assert resp.json() == {"detail": "- input: prompt is required\n", "status": 422,
                           "title": "Input validation failed",
                           "invalid_fields": [{"type": "required", "field": "input",
                                               "description": "prompt is required"}]}


@pytest.mark.parametrize("model,bad_input,expected", [
    (FLUX, {"prompt": "x", "num_outputs": "2"},
     {"type": "invalid_type", "field": "input.num_outputs",
      "description": "Invalid type. Expected: integer, given: string"}),
    (FLUX, {"prompt": "x", "num_outputs": 5},
     {"type": "number_lte", "field": "input.num_outputs",
      "description": "Must be less than or equal to 4"}),
    (SVD, {"input_image": "http://x/y.jpg", "motion_bucket_id": 0},
     {"type": "number_gte", "field": "input.motion_bucket_id",
      "description": "Must be greater than or equal to 1"}),
    (FLUX, {"prompt": "x", "output_format": "gif"},
     {"type": "enum", "field": "input.output_format",
      "description": 'output_format must be one of the following: "webp", "jpg", "png"'}),
    (SDXL, {"prompt": "x", "guidance_scale": True},
     {"type": "invalid_type", "field": "input.guidance_scale",
      "description": "Invalid type. Expected: number, given: boolean"}),
    (SVD, {"input_image": "not a url"},
     {"type": "format", "field": "input.input_image", "description": "Does not match format 'uri'"}),
])
def test_invalid_inputs_are_422_naming_the_field(sim, model, bad_input, expected):
    resp = sim.api("POST", "/v1/predictions",
                   json={"version": sim.version(model), "input": bad_input})
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["invalid_fields"] == [expected]
    assert body["detail"] == f"- {expected['field']}: {expected['description']}\n"


def test_the_official_client_raises_replicates_error(sim):
    with pytest.raises(replicate.exceptions.ReplicateError) as e:
        sim.client.predictions.create(version=sim.version(MUSICGEN), input={"duration": "8"})
    assert e.value.status == 422 and "input.duration" in e.value.detail


def test_body_errors(sim):
    resp = sim.api("POST", "/v1/predictions", json={"inptu": {"prompt": "x"}})
    assert resp.status_code == 422
    assert resp.json()["invalid_fields"] == [
        {"type": "required", "field": "", "description": "version is required"},
        {"type": "required", "field": "", "description": "input is required"},
        {"type": "additional_property_not_allowed", "field": "",
         "description": "Additional property inptu is not allowed"}]
    assert sim.api("POST", "/v1/predictions", json=[1]).status_code == 422
    resp = sim.api("POST", "/v1/predictions", json={"version": "f" * 64, "input": {}})
    assert resp.status_code == 422 and resp.json()["title"] == "Invalid version or not permitted"
    resp = sim.api("POST", "/v1/predictions", data="[" * 50000 + "]" * 50000)  # too deep to parse
    assert resp.status_code == 400
    # A versioned model cannot be run by name alone.
    resp = sim.api("POST", "/v1/predictions", json={"version": SDXL, "input": {}})
    assert resp.status_code == 422


def test_unknown_input_properties_are_ignored_as_replicate_does(sim):
    prediction = sim.create(FLUX, {"prompt": "x", "no_such_input": 1})
    assert sim.wait(prediction["id"])["status"] == "succeeded"


def test_the_model_itself_can_fail_on_inputs_the_schema_allows(sim):
    prediction = sim.create(MUSICGEN, {"duration": 2})  # musicgen's schema requires nothing
    done = sim.wait(prediction["id"])
    assert done["status"] == "failed" and "prompt" in done["error"]


@pytest.mark.parametrize("prefer", ["wait=abc", "wait=0", "wait=61", "wait=1.5"])
def test_a_bad_prefer_wait_is_400(sim, prefer):
    resp = sim.api("POST", "/v1/predictions", headers={"Prefer": prefer},
                   json={"version": sim.version(FLUX), "input": {"prompt": "x"}})
    assert resp.status_code == 400 and "wait" in resp.json()["detail"]


def test_prefer_wait_answers_with_the_result(sim):
    resp = sim.api("POST", "/v1/predictions", headers={"Prefer": "wait=30"},
                   json={"version": sim.version(FLUX), "input": {"prompt": "x"}})
    assert resp.status_code == 201 and resp.json()["status"] == "succeeded"


def test_a_bad_cancel_after_is_400(sim):
    resp = sim.api("POST", "/v1/predictions", headers={"Cancel-After": "soon"},
                   json={"version": sim.version(FLUX), "input": {"prompt": "x"}})
    assert resp.status_code == 400


# ---- authentication and methods ------------------------------------------------

@pytest.mark.parametrize("scheme", ["Bearer", "Token", "token"])
def test_bearer_and_token_schemes_are_accepted(sim, scheme):
    assert sim.api("GET", "/v1/predictions", scheme=scheme).status_code == 200


@pytest.mark.parametrize("scheme,token", [("Bearer", "wrong"), ("Basic", TOKEN), ("Bearer", None)])
def test_a_bad_token_is_401(sim, scheme, token):
    resp = sim.api("GET", "/v1/predictions", token=token, scheme=scheme)
    assert resp.status_code == 401 and resp.json()["status"] == 401


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "PROPFIND"])
def test_other_methods_get_a_json_405(sim, method):
    resp = sim.api(method, "/v1/predictions")
    assert resp.status_code == 405
    assert resp.json()["status"] == 405 and resp.headers["Allow"] == "GET, POST, HEAD"


@pytest.mark.parametrize("method", ["GET", "TRACE", "DELETE"])
def test_an_unknown_path_is_a_json_404(sim, method):
    resp = sim.api(method, "/v2/nothing")
    assert resp.status_code == 404 and resp.json()["status"] == 404


def test_head_is_get_without_a_body(sim):
    get = sim.api("GET", f"/v1/models/{SDXL}")
    head = sim.api("HEAD", f"/v1/models/{SDXL}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(get.content))


def test_a_malformed_request_is_a_json_400(sim):
    with socket.create_connection(sim.server.server_address, timeout=5) as s:
        s.sendall(b"GET / extra HTTP/1.1\r\n\r\n")
        answer = b""
        while chunk := s.recv(65536):  # the server closes after a bad request
            answer += chunk
    answer = answer.decode()
    assert answer.startswith("HTTP/1.1 400") and '"status": 400' in answer


# ---- predictions: the official client, metrics, pagination ---------------------

def test_create_get_cancel_and_list_with_the_official_client(sim):
    sim.faults(latency_s=600)
    prediction = sim.client.predictions.create(version=sim.version(SDXL), input={"prompt": "x"})
    assert prediction.status == "starting"
    assert sim.client.predictions.get(prediction.id).id == prediction.id
    assert [p.id for p in sim.client.predictions.list()] == [prediction.id]
    prediction.cancel()
    prediction.reload()
    assert prediction.status == "canceled" and prediction.metrics["total_time"] >= 0


def test_finished_predictions_have_total_time(sim):
    sim.faults(fail_predictions=1)
    failed = sim.wait(sim.create(FLUX, {"prompt": "x"})["id"])
    succeeded = sim.wait(sim.create(FLUX, {"prompt": "x", "num_outputs": 2})["id"])
    assert failed["status"] == "failed" and "total_time" in failed["metrics"]
    assert succeeded["status"] == "succeeded"
    assert {"predict_time", "total_time"} <= set(succeeded["metrics"])
    assert isinstance(succeeded["output"], list) and len(succeeded["output"]) == 2
    assert sim.create(FLUX, {"prompt": "x"})["metrics"] == {}


def test_list_pages_by_cursor_100_at_a_time(sim):
    sim.faults(latency_s=600)
    version = sim.version(FLUX)
    ids = [sim.api("POST", "/v1/predictions", json={"version": version, "input": {"prompt": "x"}})
           .json()["id"] for _ in range(103)]
    first = sim.client.predictions.list()
    assert [p.id for p in first] == ids[::-1][:100]
    assert first.previous is None and first.next
    second = sim.client.predictions.list(first.next)
    assert [p.id for p in second] == ids[::-1][100:] and second.next is None
    back = sim.client.predictions.list(second.previous)
    assert [p.id for p in back] == [p.id for p in first]
    assert sim.api("GET", "/v1/predictions?cursor=garbage").status_code == 400


# ---- webhooks ------------------------------------------------------------------

def test_webhooks_are_signed_and_follow_the_filter(sim, receiver):
    prediction = sim.create(FLUX, {"prompt": "x"}, webhook=receiver.url,
                            webhook_events_filter=["completed"])
    received = receiver.wait_for(1)
    assert received[0][1]["status"] == "succeeded"
    entries = sim.webhook_log(prediction["id"], lambda e: len(e) >= 4)
    assert {(e["event"], e["result"]) for e in entries} == {
        ("start", "filtered"), ("logs", "filtered"), ("output", "filtered"),
        ("completed", "delivered")}


def test_the_logs_show_a_progress_bar_filling_as_the_model_runs(sim, receiver):
    from chalicelib.jobs.progress import model_fraction
    sim.faults(latency_s=3)
    prediction = sim.create(FLUX, {"prompt": "x", "num_inference_steps": 4}, webhook=receiver.url,
                            webhook_events_filter=["logs"])
    seen = []
    while True:
        current = sim.api("GET", f"/v1/predictions/{prediction['id']}").json()
        seen.append(model_fraction(current["logs"]))
        if current["status"] == "succeeded":
            break
        time.sleep(0.05)
    assert current["logs"].startswith("Using seed: 42\n  0%|          | 0/4 [00:00<?, ?it/s]\n")
    assert re.search(r"\n100%\|██████████\| 4/4 \[00:0\d<00:00, +[\d.]+it/s\]\n$",
                     current["logs"])
    known = [f for f in seen if f is not None]
    assert known == sorted(known) and {0.25, 0.5, 0.75, 1.0} <= set(known)
    # logs webhooks: at most one every half second, the last with the whole bar
    entries = sim.webhook_log(prediction["id"], lambda e: any(x["event"] == "completed"
                                                             for x in e))
    sent = [body for _, body in receiver.wait_for(len([e for e in entries
                                                        if e["event"] == "logs"]))]
    assert 2 <= len(sent) <= 5 and model_fraction(sent[-1]["logs"]) == 1.0


def test_a_model_without_a_progress_bar_logs_none(sim):
    from chalicelib.jobs.progress import model_fraction
    done = sim.wait(sim.create(MUSICGEN, {"prompt": "x", "duration": 1})["id"])
    assert done["status"] == "succeeded" and model_fraction(done["logs"]) is None


def test_completed_is_not_sent_when_filtered_out(sim, receiver):
    # Replicate's docs: "completed" is sent when requested (and then never
    # throttled); a filter without it gets no completion webhook.
    prediction = sim.create(FLUX, {"prompt": "x"}, webhook=receiver.url,
                            webhook_events_filter=["start"])
    entries = sim.webhook_log(prediction["id"], lambda e: any(x["event"] == "completed" for x in e))
    assert [e["result"] for e in entries if e["event"] == "completed"] == ["filtered"]
    assert [p["status"] for _, p in receiver.wait_for(1)] == ["processing"]


def test_an_unknown_webhook_event_is_422(sim):
    resp = sim.api("POST", "/v1/predictions", json={
        "version": sim.version(FLUX), "input": {"prompt": "x"}, "webhook": "http://127.0.0.1:9/h",
        "webhook_events_filter": ["completed", "finished"]})
    assert resp.status_code == 422
    assert resp.json()["invalid_fields"] == [{
        "type": "enum", "field": "webhook_events_filter.1",
        "description": 'webhook_events_filter.1 must be one of the following: '
                       '"start", "output", "logs", "completed"'}]


def test_duplicate_webhooks_are_separately_signed_copies(sim, receiver):
    sim.faults(duplicate_webhooks=1)
    sim.create(FLUX, {"prompt": "x"}, webhook=receiver.url, webhook_events_filter=["completed"])
    (id1, body1), (id2, body2) = receiver.wait_for(2)
    assert body1 == body2 and body1["status"] == "succeeded" and id1 != id2


def test_reordered_webhooks_send_start_after_completed(sim, receiver):
    sim.faults(reorder_webhooks=1)
    sim.create(FLUX, {"prompt": "x"}, webhook=receiver.url,
               webhook_events_filter=["start", "completed"])
    assert [p["status"] for _, p in receiver.wait_for(2)] == ["succeeded", "processing"]


def test_dropped_webhooks_are_never_sent(sim, receiver):
    sim.faults(drop_webhooks=1)
    first = sim.create(FLUX, {"prompt": "x"}, webhook=receiver.url,
                       webhook_events_filter=["completed"])
    entries = sim.webhook_log(first["id"], lambda e: any(x["event"] == "completed" for x in e))
    assert [e["result"] for e in entries if e["event"] == "completed"] == ["dropped"]
    sim.create(FLUX, {"prompt": "y"}, webhook=receiver.url, webhook_events_filter=["completed"])
    assert [p["input"]["prompt"] for _, p in receiver.wait_for(1)] == ["y"]


# ---- reset ---------------------------------------------------------------------

def test_reset_cancels_running_predictions_without_webhooks(sim, receiver):
    sim.faults(latency_s=600)
    old = sim.create(SDXL, {"prompt": "x"}, webhook=receiver.url)
    sim.state.reset()
    done = sim.api("GET", f"/v1/predictions/{old['id']}").json()
    assert done["status"] == "canceled" and done["completed_at"]
    # A fault set after the reset is consumed by the next prediction, not the old one.
    sim.faults(fail_predictions=1)
    new = sim.create(FLUX, {"prompt": "x"}, webhook=receiver.url,
                     webhook_events_filter=["completed"])
    assert sim.wait(new["id"])["status"] == "failed"
    assert [p["id"] for _, p in receiver.wait_for(1)] == [new["id"]]
    assert sim.webhook_log(old["id"]) == []


def test_reset_abandons_webhooks_not_yet_delivered(sim, receiver):
    sim.faults(webhook_delay_s=600)
    prediction = sim.create(FLUX, {"prompt": "x"}, webhook=receiver.url,
                            webhook_events_filter=["completed"])
    sim.wait(prediction["id"])
    requests.post(f"{sim.url}/_sim/reset", timeout=5).raise_for_status()
    entries = sim.webhook_log(prediction["id"], lambda e: any(x["event"] == "completed" for x in e))
    assert [e["result"] for e in entries if e["event"] == "completed"] == ["abandoned"]
    assert receiver.received == []


# ---- faults --------------------------------------------------------------------

def test_fault_settings_are_checked(sim):
    for bad in ({"no_such_fault": 1}, {"latency_s": -1}, {"create_errors": [200]},
                {"broken_outputs": ["weird"]}, {"large_output": {"kind": "video", "seconds": 0}},
                {"large_output": {"kind": "hologram"}}):
        resp = requests.post(f"{sim.url}/_sim/faults", json=bad, timeout=5)
        assert resp.status_code == 400, bad
    assert sim.faults(create_hang_s=0, get_errors=[503])["get_errors"] == [503]


def test_create_errors_and_retry_after(sim):
    sim.faults(create_errors=[429, 500], retry_after_s=7)
    body = {"version": sim.version(FLUX), "input": {"prompt": "x"}}
    throttled = sim.api("POST", "/v1/predictions", json=body)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert sim.api("POST", "/v1/predictions", json=body).status_code == 500
    assert sim.api("POST", "/v1/predictions", json=body).status_code == 201
    assert len(sim.api("GET", "/v1/predictions").json()["results"]) == 1


def test_creates_over_the_limit_in_any_minute_are_throttled_as_replicate_does(sim):
    sim.faults(create_limit_per_minute=3, latency_s=0)
    body = {"version": sim.version(SDXL), "input": {"prompt": "x"}}
    assert [sim.api("POST", "/v1/predictions", json=body).status_code
            for _ in range(3)] == [201] * 3
    throttled = sim.api("POST", f"/v1/models/{FLUX}/predictions", json={"input": {"prompt": "x"}})
    assert throttled.status_code == 429
    assert 58 <= int(throttled.headers["Retry-After"]) <= 60
    assert throttled.json()["detail"].startswith("Request was throttled. Your rate limit resets in ~")
    stats = sim.api("GET", "/_sim/creates").json()
    assert stats["accepted"] == 3 and stats["throttled"] == 1 and len(stats["acceptedAt"]) == 3
    # A minute later (the window's times moved back, not waited for) there is room again.
    with sim.state.lock:
        sim.state._recent_creates = type(sim.state._recent_creates)(
            t - 61 for t in sim.state._recent_creates)
    assert sim.api("POST", "/v1/predictions", json=body).status_code == 201
    sim.api("POST", "/_sim/reset")
    assert sim.api("GET", "/_sim/creates").json() == {"accepted": 0, "throttled": 0,
                                                       "acceptedAt": []}


def test_a_hanging_create_still_creates_and_runs_the_prediction(sim):
    sim.faults(create_hang_s=600)
    with pytest.raises(requests.Timeout):
        sim.api("POST", "/v1/predictions", timeout=1,
                json={"version": sim.version(FLUX), "input": {"prompt": "x"}})
    (prediction,) = sim.api("GET", "/v1/predictions").json()["results"]
    assert sim.wait(prediction["id"])["status"] == "succeeded"


def test_a_disconnected_create_still_creates_the_prediction(sim):
    sim.faults(create_disconnects=1)
    with pytest.raises(requests.ConnectionError):
        sim.api("POST", "/v1/predictions",
                json={"version": sim.version(FLUX), "input": {"prompt": "x"}})
    assert len(sim.api("GET", "/v1/predictions").json()["results"]) == 1


def test_get_errors_are_consumed_one_per_get(sim):
    prediction = sim.create(FLUX, {"prompt": "x"})
    sim.faults(get_errors=[503, 429], retry_after_s=3)
    path = f"/v1/predictions/{prediction['id']}"
    assert sim.api("GET", path).status_code == 503
    throttled = sim.api("GET", path)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert sim.api("GET", path).status_code == 200


def test_file_errors_and_expiry(sim):
    done = sim.wait(sim.create(FLUX, {"prompt": "x"})["id"])
    sim.faults(file_errors=[500])
    assert requests.get(done["output"][0], timeout=10).status_code == 500
    assert requests.get(done["output"][0], timeout=10).status_code == 200
    sim.faults(output_ttl_s=0)
    assert requests.get(done["output"][0], timeout=10).status_code == 404
    expired = sim.api("GET", f"/v1/predictions/{done['id']}").json()
    assert expired["output"] is None and expired["data_removed"] is True


def test_broken_outputs(sim):
    sim.faults(broken_outputs=["empty", "truncated", "corrupt"])
    outputs = [requests.get(sim.wait(sim.create(FLUX, {"prompt": "x", "output_format": "png"})["id"])
                            ["output"][0], timeout=10).content for _ in range(4)]
    empty, truncated, corrupt, intact = outputs
    assert empty == b"" and len(truncated) < len(intact)
    assert intact.startswith(b"\x89PNG") and not corrupt.startswith(b"\x89PNG")


# ---- large and long outputs ----------------------------------------------------

def download(url, path):
    with requests.get(url, stream=True, timeout=60) as resp:
        assert resp.status_code == 200
        length = int(resp.headers["Content-Length"])
        with open(path, "wb") as f:
            for chunk in resp.iter_content(1 << 20):
                f.write(chunk)
    return length


def video_output(sim, **spec):
    sim.faults(large_output={"kind": "video", **spec})
    sample = f"{sim.url}/samples/input.jpg"
    return sim.wait(sim.create(SVD, {"input_image": sample})["id"], timeout_s=120)["output"]


def test_a_long_video_is_real_media(sim, tmp_path):
    url = video_output(sim, seconds=600, width=320, height=180, fps=10)
    download(url, tmp_path / "long.mp4")
    with av.open(str(tmp_path / "long.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 180)
        assert stream.frames == 6000 and container.duration / 1e6 == pytest.approx(600, abs=0.2)
        container.seek(int(599 / stream.time_base), stream=stream)
        assert sum(1 for _ in container.decode(stream)) == 10  # the last second decodes


def test_a_video_padded_to_a_size_is_still_valid(sim, tmp_path):
    url = video_output(sim, seconds=2, bytes=5_000_000)
    assert int(requests.head(url, timeout=10).headers["Content-Length"]) == 5_000_000
    assert download(url, tmp_path / "big.mp4") == 5_000_000
    assert (tmp_path / "big.mp4").stat().st_size == 5_000_000
    with av.open(str(tmp_path / "big.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1920, 1080)
        assert container.duration / 1e6 == pytest.approx(2, abs=0.1)
        next(container.decode(stream))


def test_large_output_applies_to_its_media_type_only(sim):
    sim.faults(large_output={"kind": "video", "seconds": 2})
    done = sim.wait(sim.create(FLUX, {"prompt": "x", "output_format": "png"})["id"])
    image = Image.open(requests.get(done["output"][0], stream=True, timeout=10).raw)
    assert image.format == "PNG"


def test_the_sample_and_ordinary_outputs_still_work(sim):
    sample = f"{sim.url}/samples/input.jpg"
    video = sim.wait(sim.create(SVD, {"input_image": sample, "video_length": "25_frames_with_svd_xt"})["id"])
    assert isinstance(video["output"], str) and video["output"].endswith(".mp4")
    audio = sim.wait(sim.create(MUSICGEN, {"prompt": "drums", "duration": 1, "output_format": "mp3"})["id"])
    assert audio["status"] == "succeeded" and audio["output"].endswith(".mp3")
    assert json.loads(json.dumps(audio))["model"] == MUSICGEN


def test_an_input_image_may_be_a_data_url(sim):
    jpeg = requests.get(f"{sim.url}/samples/input.jpg", timeout=10).content
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    video = sim.wait(sim.create(SVD, {"input_image": data_url})["id"])
    assert video["status"] == "succeeded", video["error"]
