"""A local stand-in for api.replicate.com: the same predictions API, signed
webhooks, output files that expire, and controllable latency and failures.

Fault controls (for tests): POST /_sim/faults with any of
  {"latency_s": 0.2, "create_errors": [429, 500], "fail_predictions": 1,
   "drop_webhooks": 1, "output_ttl_s": 3600, "retry_after_s": 2}
Counters (create_errors, fail_predictions, drop_webhooks) are consumed one per use.
"""
import argparse
import base64
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import urlparse

import requests
from standardwebhooks.webhooks import Webhook

from local.replicate_sim import media

log = logging.getLogger("replicate-sim")

MODELS = {
    "black-forest-labs/flux-schnell": {"official": True, "kind": "flux"},
    "stability-ai/sdxl": {"official": False, "kind": "sdxl"},
    "stability-ai/stable-video-diffusion": {"official": False, "kind": "svd"},
    "meta/musicgen": {"official": False, "kind": "musicgen"},
}
WEBHOOK_RETRY_DELAYS_S = (0.5, 1, 2, 4)


def version_id(model: str) -> str:
    return hashlib.sha256(f"sim:{model}".encode()).hexdigest()


VERSIONS = {version_id(m): m for m in MODELS}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class Problem(Exception):
    def __init__(self, status: int, detail: str, headers: Optional[dict] = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


class Simulator:
    def __init__(self, public_url: str, token: str, webhook_secret: Optional[str] = None):
        self.public_url = public_url.rstrip("/")
        self.token = token
        self.webhook_secret = webhook_secret or "whsec_" + base64.b64encode(
            secrets.token_bytes(32)).decode()
        self.lock = threading.Lock()
        self.predictions = {}
        self.files = {}  # path -> (bytes, content type, prediction id)
        self.webhook_log = []
        self.reset_faults()

    def reset_faults(self):
        with self.lock:
            self.faults = {"latency_s": 0.3, "create_errors": [], "fail_predictions": 0,
                           "drop_webhooks": 0, "output_ttl_s": 3600, "retry_after_s": 2}

    def _take(self, name: str) -> bool:
        with self.lock:
            if self.faults[name] > 0:
                self.faults[name] -= 1
                return True
            return False

    # ---- API -------------------------------------------------------------------

    def create(self, model: Optional[str], body: dict, prefer_wait: Optional[int],
               cancel_after: Optional[float]) -> dict:
        with self.lock:
            errors = self.faults["create_errors"]
            status = errors.pop(0) if errors else None
            retry_after = self.faults["retry_after_s"]
        if status == 429:
            raise Problem(429, f"Request was throttled. Your rate limit resets in ~{retry_after}s.",
                          {"Retry-After": str(retry_after)})
        if status:
            raise Problem(status, "Internal server error (simulated)")
        if model is None:
            model = self._model_of_version(body.get("version"))
        if not isinstance(body.get("input"), dict):
            raise Problem(422, "input is required and must be an object")
        pid = uuid.uuid4().hex[:20]
        prediction = {
            "id": pid, "model": model, "version": version_id(model), "input": body["input"],
            "output": None, "error": None, "logs": "", "status": "starting", "source": "api",
            "data_removed": False, "created_at": now_iso(), "started_at": None,
            "completed_at": None, "metrics": {},
            "urls": {"get": f"{self.public_url}/v1/predictions/{pid}",
                     "cancel": f"{self.public_url}/v1/predictions/{pid}/cancel",
                     "web": f"{self.public_url}/p/{pid}"},
            "_webhook": body.get("webhook"),
            "_events": set(body.get("webhook_events_filter") or ["start", "output", "logs", "completed"]),
        }
        with self.lock:
            self.predictions[pid] = prediction
        threading.Thread(target=self._run, args=(pid,), daemon=True).start()
        if cancel_after:
            threading.Timer(cancel_after, self.cancel, args=(pid,)).start()
        if prefer_wait:
            deadline = time.monotonic() + prefer_wait
            while time.monotonic() < deadline and prediction["status"] not in (
                    "succeeded", "failed", "canceled"):
                time.sleep(0.05)
        return self.public_view(prediction)

    def _model_of_version(self, version) -> str:
        if not isinstance(version, str) or not version:
            raise Problem(422, "version is required")
        ref = version
        if ":" in version:
            ref, version = version.split(":", 1)
            if version not in VERSIONS or VERSIONS[version] != ref:
                raise Problem(422, f"Invalid version: {version}")
            return ref
        if ref in VERSIONS:
            return VERSIONS[ref]
        if ref in MODELS and MODELS[ref]["official"]:
            return ref
        raise Problem(422, f"Invalid version or model: {version}")

    def get(self, pid: str) -> dict:
        with self.lock:
            prediction = self.predictions.get(pid)
        if prediction is None:
            raise Problem(404, "Not found.")
        self._expire(prediction)
        return self.public_view(prediction)

    def cancel(self, pid: str) -> dict:
        with self.lock:
            prediction = self.predictions.get(pid)
            if prediction is None:
                raise Problem(404, "Not found.")
            if prediction["status"] in ("succeeded", "failed", "canceled"):
                return self.public_view(prediction)
            prediction.update(status="canceled", completed_at=now_iso())
        self._send_webhook(prediction, "completed")
        return self.public_view(prediction)

    def public_view(self, prediction: dict) -> dict:
        return {k: v for k, v in prediction.items() if not k.startswith("_")}

    def _expire(self, prediction: dict) -> None:
        done = prediction.get("_done_at")
        if done and time.time() - done > self.faults["output_ttl_s"] and not prediction["data_removed"]:
            with self.lock:
                for path in [p for p, f in self.files.items() if f[2] == prediction["id"]]:
                    del self.files[path]
                prediction.update(output=None, data_removed=True)

    def file(self, path: str):
        with self.lock:
            entry = self.files.get(path)
        if entry is not None:
            self._expire(self.predictions[entry[2]])
            with self.lock:
                entry = self.files.get(path)
        if entry is None:
            raise Problem(404, "Not found.")
        return entry

    # ---- the model run ---------------------------------------------------------

    def _run(self, pid: str) -> None:
        prediction = self.predictions[pid]
        latency = self.faults["latency_s"]
        time.sleep(latency / 2)
        with self.lock:
            if prediction["status"] != "starting":
                return
            prediction.update(status="processing", started_at=now_iso())
        self._send_webhook(prediction, "start")
        started = time.monotonic()
        try:
            if self._take("fail_predictions"):
                raise RuntimeError("CUDA out of memory (simulated failure)")
            outputs = self._generate(prediction)
            error = None
        except Exception as e:  # any model error becomes a failed prediction, as on Replicate
            outputs, error = None, str(e)
        time.sleep(max(0.0, latency / 2 - (time.monotonic() - started)))
        with self.lock:
            if prediction["status"] != "processing":
                return  # cancelled meanwhile: no output
            urls = []
            for name, data, content_type in outputs or []:
                path = f"/files/{pid}/{name}"
                self.files[path] = (data, content_type, pid)
                urls.append(self.public_url + path)
            kind = MODELS[prediction["model"]]["kind"]
            prediction.update(
                status="failed" if error else "succeeded", error=error,
                output=None if error else (urls if kind in ("flux", "sdxl") else urls[0]),
                completed_at=now_iso(), _done_at=time.time(),
                metrics={"predict_time": round(time.monotonic() - started, 3)})
        self._send_webhook(prediction, "completed")

    def _generate(self, prediction: dict):
        inp, kind = prediction["input"], MODELS[prediction["model"]]["kind"]
        seed = inp.get("seed", 42)
        if kind in ("flux", "sdxl"):
            if kind == "flux":
                width, height = media.flux_size(inp.get("aspect_ratio", "1:1"),
                                                str(inp.get("megapixels", "1")))
                fmt = inp.get("output_format", "webp")
            else:
                width, height, fmt = int(inp.get("width", 1024)), int(inp.get("height", 1024)), "png"
            count = int(inp.get("num_outputs", 1))
            if not 1 <= count <= 4:
                raise ValueError("num_outputs must be between 1 and 4")
            return [(f"out-{i}.{fmt}", media.image_bytes(inp.get("prompt", ""), seed + i, width,
                                                         height, fmt), f"image/{fmt}")
                    for i in range(count)]
        if kind == "svd":
            frames = 14 if inp.get("video_length") == "14_frames_with_svd" else 25
            source = requests.get(inp["input_image"], timeout=10)
            source.raise_for_status()
            data = media.video_bytes(source.content, frames, int(inp.get("frames_per_second", 6)),
                                     int(inp.get("motion_bucket_id", 127)), seed)
            return [("output.mp4", data, "video/mp4")]
        fmt = inp.get("output_format", "wav")
        data = media.audio_bytes(inp.get("prompt", ""), seed, float(inp.get("duration", 8)), fmt,
                                 float(inp.get("temperature", 1.0)))
        return [(f"out.{fmt}", data, "audio/mpeg" if fmt == "mp3" else "audio/wav")]

    # ---- webhooks --------------------------------------------------------------

    def _send_webhook(self, prediction: dict, event: str) -> None:
        url = prediction.get("_webhook")
        if not url or (event not in prediction["_events"] and event != "completed"):
            return
        if self._take("drop_webhooks"):
            self.webhook_log.append({"id": prediction["id"], "event": event, "result": "dropped"})
            return
        body = json.dumps(self.public_view(prediction))
        threading.Thread(target=self._deliver, args=(url, body, prediction["id"], event),
                         daemon=True).start()

    def _deliver(self, url: str, body: str, pid: str, event: str) -> None:
        msg_id = f"msg_{uuid.uuid4().hex}"
        result = "failed"
        for delay in (0,) + WEBHOOK_RETRY_DELAYS_S:
            time.sleep(delay)
            ts = datetime.now(timezone.utc)
            headers = {"Content-Type": "application/json", "webhook-id": msg_id,
                       "webhook-timestamp": str(int(ts.timestamp())),
                       "webhook-signature": Webhook(self.webhook_secret).sign(msg_id, ts, body)}
            try:
                resp = requests.post(url, data=body.encode(), headers=headers, timeout=10,
                                     allow_redirects=False)
                if 200 <= resp.status_code < 300:
                    result = "delivered"
                    break
                result = f"HTTP {resp.status_code}"
            except requests.RequestException as e:
                result = type(e).__name__
        self.webhook_log.append({"id": pid, "event": event, "result": result})


def make_handler(sim: Simulator):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            log.debug(fmt, *args)

        def _send(self, status: int, body, headers: Optional[dict] = None,
                  content_type: str = "application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw) if raw else {}
            except ValueError:
                raise Problem(400, "Body is not valid JSON") from None

        def _authorize(self):
            if self.headers.get("Authorization") != f"Bearer {sim.token}":
                raise Problem(401, "You did not pass a valid authentication token")

        def _dispatch(self, method: str):
            path = urlparse(self.path).path
            try:
                if path.startswith("/files/"):
                    data, content_type, _ = sim.file(path)
                    return self._send(200, data, content_type=content_type)
                if path == "/samples/input.jpg":
                    return self._send(200, media.image_bytes("sample input", 7, 1024, 576, "jpg"),
                                      content_type="image/jpeg")
                if path.startswith("/_sim/"):
                    return self._control(method, path)
                self._authorize()
                return self._api(method, path)
            except Problem as p:
                self._send(p.status, {"type": "about:blank", "title": p.detail, "status": p.status,
                                      "detail": p.detail}, p.headers,
                           content_type="application/problem+json")

        def _api(self, method: str, path: str):
            m = re.fullmatch(r"/v1/models/([^/]+/[^/]+)(/predictions)?", path)
            if m and m.group(1) not in MODELS:
                raise Problem(404, "Model not found.")
            if m and method == "GET" and not m.group(2):
                owner, name = m.group(1).split("/")
                return self._send(200, {"owner": owner, "name": name,
                                        "latest_version": {"id": version_id(m.group(1))}})
            if (m and m.group(2) and method == "POST") or (path == "/v1/predictions" and method == "POST"):
                model = m.group(1) if m else None
                if model and not MODELS[model]["official"]:
                    raise Problem(404, "This model requires a version.")
                wait = self.headers.get("Prefer", "")
                wait_s = None
                if wait.startswith("wait"):
                    wait_s = min(60, int(wait.split("=")[1])) if "=" in wait else 60
                cancel_after = _duration_s(self.headers.get("Cancel-After"))
                pred = sim.create(model, self._body(), wait_s, cancel_after)
                return self._send(201, pred)
            if path == "/v1/predictions" and method == "GET":
                with sim.lock:
                    preds = [sim.public_view(p) for p in sim.predictions.values()]
                return self._send(200, {"results": preds[::-1][:100], "next": None,
                                        "previous": None})
            m = re.fullmatch(r"/v1/predictions/([^/]+)(/cancel)?", path)
            if m and method == "GET" and not m.group(2):
                return self._send(200, sim.get(m.group(1)))
            if m and method == "POST" and m.group(2):
                return self._send(200, sim.cancel(m.group(1)))
            if path == "/v1/webhooks/default/secret" and method == "GET":
                return self._send(200, {"key": sim.webhook_secret})
            raise Problem(404, "Not found.")

        def _control(self, method: str, path: str):
            if path == "/_sim/faults" and method == "POST":
                changes = self._body()
                with sim.lock:
                    unknown = set(changes) - set(sim.faults)
                    if unknown:
                        raise Problem(400, f"unknown faults: {sorted(unknown)}")
                    sim.faults.update(changes)
                return self._send(200, sim.faults)
            if path == "/_sim/faults" and method == "GET":
                return self._send(200, sim.faults)
            if path == "/_sim/reset" and method == "POST":
                sim.reset_faults()
                return self._send(200, sim.faults)
            if path == "/_sim/webhooks" and method == "GET":
                return self._send(200, sim.webhook_log)
            raise Problem(404, "Not found.")

        def do_GET(self):
            self._dispatch("GET")

        def do_POST(self):
            self._dispatch("POST")

    return Handler


def _duration_s(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", value.strip())
    if not m:
        raise Problem(400, f"Invalid Cancel-After: {value}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    return max(5.0, float(m.group(1)) * scale)


def serve(host: str, port: int, token: str, webhook_secret: Optional[str] = None):
    sim = Simulator(f"http://{host}:{port}", token, webhook_secret)
    server = ThreadingHTTPServer((host, port), make_handler(sim))
    server.daemon_threads = True
    return sim, server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5060)
    parser.add_argument("--token", required=True)
    parser.add_argument("--webhook-secret")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="replicate-sim: %(message)s")
    _, server = serve(args.host, args.port, args.token, args.webhook_secret)
    log.info("listening on http://%s:%d", args.host, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
