"""The fal adapter (chalicelib/providers/fal.py) against the fal simulator: start,
status, result, cancel, failures read as definite or not, and webhooks verified
with the JWKS as fal signs them."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from chalicelib.catalog import CATALOG
from chalicelib.providers.fal import FalProvider, FalUnavailable
from chalicelib.providers.port import WebhookRejected
from chalicelib.urls import UrlPolicy
from local.fal_sim.server import serve

pytestmark = pytest.mark.integration

KEY = "sim-key-id:sim-key-secret"


class Receiver:
    """Records the webhooks it is sent (body and headers)."""

    def __init__(self):
        self.received = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append((self.path, body, dict(self.headers)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def wait(self, timeout_s=20):
        deadline = time.monotonic() + timeout_s
        while not self.received:
            assert time.monotonic() < deadline, "no webhook"
            time.sleep(0.05)
        return self.received[0]


@pytest.fixture
def sim():
    state, server = serve("127.0.0.1", 0, KEY)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def provider_for(url: str, timeout_s: float = 5.0) -> FalProvider:
    return FalProvider(url, lambda: KEY, timeout_s=timeout_s,
                       jwks_url=f"{url}/.well-known/jwks.json",
                       jwks_policy=UrlPolicy(schemes=frozenset({"http"}), allow_private=True))


def faults(sim, **changes):
    requests.post(f"{sim.public_url}/_sim/faults", json=changes, timeout=5).raise_for_status()


def flux(prompt="a lighthouse"):
    return CATALOG["flux-schnell"].parameters.model_validate({"prompt": prompt})


def wait_until_ended(fal, run_id, timeout_s=20):
    deadline = time.monotonic() + timeout_s
    while True:
        run = fal.get("flux-schnell", run_id)
        if run.is_terminal:
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.1)


def test_a_run_starts_completes_and_its_signed_webhook_reads_as_the_same_outputs(sim, receiver):
    fal = provider_for(sim.public_url)
    started = fal.create("flux-schnell", flux(), "job-1", receiver.url)
    assert started.status == "starting" and started.model == "fal-ai/flux/schnell"
    done = wait_until_ended(fal, started.id)
    assert done.status == "succeeded" and done.output_urls
    assert all(u.startswith(sim.public_url) for u in done.output_urls)
    path, body, headers = receiver.wait()
    assert path == "/webhook/fal?jobId=job-1"
    fal.verify_callback(body, headers)
    from_webhook = fal.read_callback("flux-schnell", json.loads(body), headers)
    assert (from_webhook.id, from_webhook.status) == (started.id, "succeeded")
    assert from_webhook.output_urls == done.output_urls


def test_a_tampered_or_stale_webhook_is_rejected(sim, receiver):
    fal = provider_for(sim.public_url)
    fal.create("flux-schnell", flux(), "job-1", receiver.url)
    _, body, headers = receiver.wait()
    with pytest.raises(WebhookRejected):
        fal.verify_callback(body.replace(b"OK", b"KO"), headers)
    with pytest.raises(WebhookRejected):
        fal.verify_callback(body, {**headers, "X-Fal-Webhook-Timestamp":
                                   str(int(time.time()) - 3600)})
    with pytest.raises(WebhookRejected):
        fal.verify_callback(body, {k: v for k, v in headers.items()
                                   if k.lower() != "x-fal-webhook-signature"})
    fal.verify_callback(body, headers)


def test_a_failed_run_reads_as_failed_with_the_models_error(sim, receiver):
    faults(sim, fail_predictions=1)
    fal = provider_for(sim.public_url)
    done = wait_until_ended(fal, fal.create("flux-schnell", flux(), "j", receiver.url).id)
    assert done.status == "failed" and "CUDA out of memory" in done.error


def test_a_queued_run_cancelled_reads_as_canceled(sim, receiver):
    faults(sim, queue_s=5)
    fal = provider_for(sim.public_url)
    run = fal.create("flux-schnell", flux(), "j", receiver.url)
    fal.cancel("flux-schnell", run.id)
    assert wait_until_ended(fal, run.id).status == "canceled"


@pytest.mark.parametrize("status", [500, 429])
def test_an_error_answer_to_create_is_definite(sim, status):
    faults(sim, create_errors=[status], retry_after_s=3)
    with pytest.raises(FalUnavailable) as raised:
        provider_for(sim.public_url).create("flux-schnell", flux(), "j", "http://127.0.0.1:9")
    assert raised.value.definite and raised.value.outage and raised.value.status == status


def test_a_closed_port_is_definite_and_a_hang_is_not():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(FalUnavailable) as raised:
        provider_for(closed).create("flux-schnell", flux(), "j", "http://127.0.0.1:9")
    assert raised.value.definite and not raised.value.sent


def test_a_create_that_hangs_past_the_timeout_is_ambiguous(sim):
    faults(sim, create_hang_s=3)
    with pytest.raises(FalUnavailable) as raised:
        provider_for(sim.public_url, timeout_s=0.5).create("flux-schnell", flux(), "j",
                                                           "http://127.0.0.1:9")
    assert not raised.value.definite


def test_a_model_fal_cannot_serve_as_asked_is_not_served(sim):
    fal = provider_for(sim.public_url)
    music = CATALOG["musicgen"].parameters.model_validate({"prompt": "x", "output_format": "mp3"})
    assert not fal.serves("musicgen", music) and fal.serves("flux-schnell", flux())


def test_health_check_passes_against_the_simulator(sim):
    provider_for(sim.public_url).check()
