"""A local stand-in for api.replicate.com: the same predictions API, signed
webhooks, output files that expire, and controllable latency and failures.

    python -m local.replicate_sim.server --port 5060 --token TOKEN

Replicate's API (``Authorization: Bearer TOKEN`` or ``Token TOKEN``):
  POST /v1/predictions                       by version id, owner/name:version, or
                                             owner/name of an official model
  POST /v1/models/{owner}/{name}/predictions official models
  GET  /v1/predictions                       newest first, 100 a page, next/previous cursors
  GET  /v1/predictions/{id}
  POST /v1/predictions/{id}/cancel
  GET  /v1/models/{owner}/{name}             with latest_version and its openapi_schema
  GET  /v1/models/{owner}/{name}/versions[/{id}]
  GET  /v1/webhooks/default/secret
Creates honour ``Prefer: wait[=1..60]`` and ``Cancel-After`` (e.g. ``30s``, ``5m``;
at least 5 s), validate the body and the input against the model's schema
(422 with ``invalid_fields`` as Replicate answers), and send the webhooks
``webhook_events_filter`` asks for (default all four), signed per Standard
Webhooks and retried. HEAD works wherever GET does; any other method gets a JSON
405 (or 404 for an unknown path).

Without a token: ``GET /files/...`` (the outputs; they expire),
``GET /samples/input.jpg`` (an input image), and the controls:
  POST /_sim/faults   set faults (see local/replicate_sim/faults.py):
    latency_s, create_errors [429, 500...], retry_after_s, create_hang_s,
    create_disconnects, get_errors, file_errors, fail_predictions,
    broken_outputs ["empty" | "corrupt" | "truncated"], drop_webhooks,
    duplicate_webhooks, reorder_webhooks, webhook_delay_s, output_ttl_s,
    large_output {"kind": "video", "seconds", "width", "height", "fps", "bytes"},
    create_limit_per_minute (Replicate's 429 with Retry-After over it)
  GET  /_sim/faults   the current faults
  GET  /_sim/creates  what the create limit did: creates accepted (and when), throttled
  POST /_sim/reset    faults back to defaults; every prediction still running is
                      canceled without a webhook, and every webhook not yet
                      delivered is abandoned, so nothing from an earlier test
                      reaches a later one
  GET  /_sim/webhooks the delivery log
"""
import argparse
import base64
import binascii
import json
import logging
import math
import os
import re
import secrets
import threading
import time
import uuid
from collections import deque
from datetime import datetime, timezone
from typing import Deque, Dict, List, Optional
from urllib.parse import parse_qs, urlparse


from chalicelib.notifications.signing import signed_headers
from local.replicate_sim import faults as fault_settings
from local.replicate_sim import large, media
from local.replicate_sim.models import ModelError, SimModel, models_from_catalog
from local.replicate_sim.progress import bar_line
from local.replicate_sim.schema import (WEBHOOK_EVENTS, InvalidFields, check_create_body,
                                        check_input, with_defaults)
from local.simulator_base import JsonHandler, Server, SimulatorBase, deliver

log = logging.getLogger("replicate-sim")

WEBHOOK_RETRY_DELAYS_S = (0.5, 1, 2, 4)
# Replicate sends "logs" (and "output") webhooks at most this often.
LOGS_WEBHOOK_INTERVAL_S = 0.5
PAGE_SIZE = 100
TERMINAL = ("succeeded", "failed", "canceled")
INVALID_VERSION = ("Invalid version or not permitted",
                   "The specified version does not exist (or perhaps you don't have "
                   "permission to use it?)")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class Problem(Exception):
    """An HTTP error answer: RFC 7807 problem details, as Replicate sends them."""

    def __init__(self, status: int, detail: str, headers: Optional[dict] = None,
                 title: Optional[str] = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}
        self.title = title or detail

    def body(self) -> dict:
        return {"title": self.title, "detail": self.detail, "status": self.status}


class Disconnect(Exception):
    """Close the connection without answering (the request's effect stays)."""


class Simulator(SimulatorBase):
    fault_settings = fault_settings

    def __init__(self, public_url: str, token: str, webhook_secret: Optional[str] = None,
                 models: Optional[Dict[str, SimModel]] = None):
        self.public_url = public_url.rstrip("/")
        self.token = token
        self.webhook_secret = webhook_secret or "whsec_" + base64.b64encode(
            secrets.token_bytes(32)).decode()
        self.models = models if models is not None else models_from_catalog()
        self.versions = {m.version: m for m in self.models.values()}
        super().__init__("vsl-replicate-sim-")
        self.predictions: Dict[str, dict] = {}
        # The create limit's window (monotonic times of the last minute's creates), and
        # what the limit did: every create let through (Unix times) and every one refused.
        self._recent_creates: Deque[float] = deque()
        self.creates_accepted: List[float] = []
        self.creates_throttled = 0

    # ---- controls ----------------------------------------------------------------

    def reset(self) -> dict:
        """Faults back to defaults; predictions still running end canceled, with no
        webhook, and undelivered webhooks are abandoned."""
        with self.lock:
            finished_generation, self.generation = self.generation, threading.Event()
            for prediction in self.predictions.values():
                if prediction["status"] not in TERMINAL:
                    self._finish(prediction, "canceled")
                    prediction["_held"] = []
            self.faults = fault_settings.defaults()
            self._recent_creates.clear()
            self.creates_accepted, self.creates_throttled = [], 0
            current = dict(self.faults)
        finished_generation.set()
        return current

    def problem(self, status: int, detail: str, headers: Optional[dict] = None) -> Exception:
        return Problem(status, detail, headers)

    def throttled_detail(self, retry_after: int) -> str:
        return f"Request was throttled. Your rate limit resets in ~{retry_after}s."

    # ---- API -------------------------------------------------------------------

    def _admit_create(self) -> None:
        """Replicate's create limit: at most ``create_limit_per_minute`` creates in any
        60 s (stricter than Replicate, which lets short bursts through), else 429 with
        Retry-After: when the oldest create in the window leaves it."""
        with self.lock:
            limit, now = self.faults["create_limit_per_minute"], time.monotonic()
            while self._recent_creates and self._recent_creates[0] <= now - 60:
                self._recent_creates.popleft()
            if limit and len(self._recent_creates) >= limit:
                self.creates_throttled += 1
                retry_after = max(1, math.ceil(self._recent_creates[0] + 60 - now))
                raise Problem(429, self.throttled_detail(retry_after),
                              {"Retry-After": str(retry_after)})
            self._recent_creates.append(now)
            self.creates_accepted.append(time.time())

    def create_stats(self) -> dict:
        with self.lock:
            return {"accepted": len(self.creates_accepted), "throttled": self.creates_throttled,
                    "acceptedAt": list(self.creates_accepted)}

    def create(self, model_name: Optional[str], body, prefer_wait: Optional[int],
               cancel_after: Optional[float]) -> dict:
        self._admit_create()
        self._error_status("create_errors")
        model_input, version = check_create_body(body, by_model=model_name is not None)
        model = self.models[model_name] if model_name else self._model_of_version(version)
        check_input(model.knowledge.inputs, model.knowledge.required, model_input)
        with self.lock:
            self.sequence += 1
            pid = uuid.uuid4().hex[:20]
            prediction = {
                "id": pid, "model": model.owner_name, "version": model.version,
                "input": model_input, "output": None, "error": None, "logs": "",
                "status": "starting", "source": "api", "data_removed": False,
                "created_at": now_iso(), "started_at": None, "completed_at": None,
                "metrics": {},
                "urls": {"get": f"{self.public_url}/v1/predictions/{pid}",
                         "cancel": f"{self.public_url}/v1/predictions/{pid}/cancel",
                         "web": f"{self.public_url}/p/{pid}"},
                "_seq": self.sequence, "_created": time.monotonic(),
                "_webhook": body.get("webhook"),
                "_events": set(body.get("webhook_events_filter") or WEBHOOK_EVENTS),
                "_stop": threading.Event(), "_generation": self.generation,
                "_hold_start": self.faults["reorder_webhooks"] > 0, "_held": [],
            }
            if prediction["_hold_start"]:
                self.faults["reorder_webhooks"] -= 1
            self.predictions[pid] = prediction
        threading.Thread(target=self._run, args=(pid,), daemon=True).start()
        if cancel_after:
            threading.Thread(target=self._cancel_after, args=(prediction, cancel_after),
                             daemon=True).start()
        if prefer_wait:
            prediction["_stop"].wait(prefer_wait)
        view = self.public_view(prediction)
        hang = self.faults["create_hang_s"]
        if hang:
            prediction["_generation"].wait(hang)
        if self._take("create_disconnects"):
            raise Disconnect()
        return view

    def _model_of_version(self, version: str) -> SimModel:
        ref = version
        if ":" in version:
            ref, version = version.split(":", 1)
            model = self.versions.get(version)
            if model is None or model.owner_name != ref:
                raise Problem(422, INVALID_VERSION[1], title=INVALID_VERSION[0])
            return model
        if ref in self.versions:
            return self.versions[ref]
        if ref in self.models and self.models[ref].official:
            return self.models[ref]
        raise Problem(422, INVALID_VERSION[1], title=INVALID_VERSION[0])

    def _cancel_after(self, prediction: dict, seconds: float) -> None:
        if not prediction["_stop"].wait(seconds):
            self.cancel(prediction["id"])

    def get(self, pid: str) -> dict:
        self._error_status("get_errors")
        prediction = self._prediction(pid)
        self._expire(prediction)
        return self.public_view(prediction)

    def _prediction(self, pid: str) -> dict:
        with self.lock:
            prediction = self.predictions.get(pid)
        if prediction is None:
            raise Problem(404, "Not found.")
        return prediction

    def cancel(self, pid: str) -> dict:
        prediction = self._prediction(pid)
        with self.lock:
            if prediction["status"] in TERMINAL:
                return self.public_view(prediction)
            self._finish(prediction, "canceled")
        self._send_webhook(prediction, "completed")
        return self.public_view(prediction)

    def list_predictions(self, cursor: Optional[str]) -> dict:
        """Newest first, PAGE_SIZE a page; cursors are opaque, as Replicate's are."""
        older_than, newer_than = None, None
        if cursor:
            try:
                direction, seq = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
                seq = int(seq)
            except (ValueError, binascii.Error, UnicodeDecodeError):
                raise Problem(400, "Invalid cursor.") from None
            if direction == "o":
                older_than = seq
            elif direction == "n":
                newer_than = seq
            else:
                raise Problem(400, "Invalid cursor.")
        with self.lock:
            ordered = sorted(self.predictions.values(), key=lambda p: -p["_seq"])
            if older_than is not None:
                page = [p for p in ordered if p["_seq"] < older_than][:PAGE_SIZE]
            elif newer_than is not None:
                page = [p for p in ordered if p["_seq"] > newer_than][-PAGE_SIZE:]
            else:
                page = ordered[:PAGE_SIZE]
            results = [self.public_view(p) for p in page]
            has_older = bool(page) and ordered[-1]["_seq"] < page[-1]["_seq"]
            has_newer = bool(page) and ordered[0]["_seq"] > page[0]["_seq"]

        def link(direction: str, seq: int) -> str:
            token = base64.urlsafe_b64encode(f"{direction}:{seq}".encode()).decode()
            return f"{self.public_url}/v1/predictions?cursor={token}"
        return {"results": results,
                "next": link("o", page[-1]["_seq"]) if has_older else None,
                "previous": link("n", page[0]["_seq"]) if has_newer else None}

    def model(self, owner_name: str) -> SimModel:
        model = self.models.get(owner_name)
        if model is None:
            raise Problem(404, "Not found.")
        return model

    def public_view(self, prediction: dict) -> dict:
        return {k: v for k, v in prediction.items() if not k.startswith("_")}

    def _finish(self, prediction: dict, status: str, predict_time: Optional[float] = None,
                **fields) -> None:
        """Make a prediction terminal (the lock is held)."""
        metrics = dict(prediction["metrics"])
        if predict_time is not None:
            metrics["predict_time"] = predict_time
        metrics["total_time"] = round(time.monotonic() - prediction["_created"], 3)
        prediction.update(status=status, completed_at=now_iso(), metrics=metrics,
                          _done_at=time.time(), **fields)
        prediction["_stop"].set()

    def _expire(self, prediction: dict) -> None:
        with self.lock:
            done = prediction.get("_done_at")
            if (done and not prediction["data_removed"]
                    and time.time() - done > self.faults["output_ttl_s"]):
                for path in [p for p, f in self.files.items() if f.prediction_id == prediction["id"]]:
                    self.files.pop(path).remove()
                prediction.update(output=None, data_removed=True)

    def _expire_owner(self, owner_id: str) -> None:
        self._expire(self.predictions[owner_id])

    # ---- the model run ---------------------------------------------------------

    def _run(self, pid: str) -> None:
        prediction = self.predictions[pid]
        stop, model = prediction["_stop"], self.models[prediction["model"]]
        latency = self.faults["latency_s"]
        if stop.wait(latency / 2):
            return  # canceled, or the simulator was reset
        with self.lock:
            if prediction["status"] != "starting":
                return
            seed = prediction["input"].get("seed", 42)
            prediction.update(status="processing", started_at=now_iso(),
                              logs=f"Using seed: {seed}\n")
        self._send_webhook(prediction, "start")
        self._send_webhook(prediction, "logs")
        started = time.monotonic()
        try:
            if self._take("fail_predictions"):
                raise ModelError("CUDA out of memory (simulated failure)")
            files = self._outputs(prediction, model)
            error = None
        except ModelError as e:
            files, error = [], str(e)
        except Exception as e:  # any other model error also fails the prediction, as on Replicate
            files, error = [], f"{type(e).__name__}: {e}"
        if not error and self._print_progress(prediction, model, started, started + latency / 2):
            return
        if stop.wait(max(0.0, latency / 2 - (time.monotonic() - started))):
            return
        predict_time = round(time.monotonic() - started, 3)
        with self.lock:
            if prediction["status"] != "processing":
                return
            if error:
                self._finish(prediction, "failed", predict_time, error=error)
            else:
                urls = []
                for name, output in files:
                    path = f"/files/{pid}/{name}"
                    self.files[path] = output
                    urls.append(self.public_url + path)
                prediction["output"] = urls if model.knowledge.output_is_list else urls[0]
        if not error:
            self._send_webhook(prediction, "output")
            with self.lock:
                if prediction["status"] != "processing":
                    return
                self._finish(prediction, "succeeded", predict_time)
        self._send_webhook(prediction, "completed")

    def _print_progress(self, prediction: dict, model: SimModel, started: float,
                        until: float) -> bool:
        """The model's progress bar, one step at a time until ``until``, in the logs as
        tqdm prints it; a logs webhook at most every LOGS_WEBHOOK_INTERVAL_S, as Replicate
        sends them. True when the prediction was stopped meanwhile."""
        steps_of = model.knowledge.progress_steps
        if steps_of is None:
            return False
        total = max(1, int(steps_of(with_defaults(model.knowledge.inputs, prediction["input"]))))
        stop, last_sent = prediction["_stop"], float("-inf")
        for n in range(total + 1):
            if n and stop.wait(max(0.0, (until - time.monotonic()) / (total + 1 - n))):
                return True
            with self.lock:
                if prediction["status"] != "processing":
                    return True
                prediction["logs"] += bar_line(n, total, time.monotonic() - started) + "\n"
            if n == total or time.monotonic() - last_sent >= LOGS_WEBHOOK_INTERVAL_S:
                last_sent = time.monotonic()
                self._send_webhook(prediction, "logs")
        return False

    def _outputs(self, prediction: dict, model: SimModel):
        spec = self.faults["large_output"]
        if spec and spec["kind"] == model.media_type:
            return [("output.mp4", large.large_video(prediction["id"], spec))]
        knowledge = model.knowledge
        made = knowledge.generate(with_defaults(knowledge.inputs, prediction["input"]),
                                  media.fetch_input)
        broken = self._pop("broken_outputs")
        outputs = []
        for name, data, content_type in made:
            if broken == "empty":
                data = b""
            elif broken == "corrupt":
                data = bytes(secrets.token_bytes(len(data)))
            elif broken == "truncated":
                data = data[:len(data) // 2]
            path = os.path.join(self._output_dir.name, f"{prediction['id']}-{name}")
            with open(path, "wb") as f:
                f.write(data)
            outputs.append((name, large.OutputFile(prediction["id"], content_type, path)))
        return outputs

    # ---- webhooks --------------------------------------------------------------

    def _send_webhook(self, prediction: dict, event: str) -> None:
        url = prediction.get("_webhook")
        if not url:
            return
        if event not in prediction["_events"]:
            self._log(prediction["id"], event, "filtered")
            return
        if self._take("drop_webhooks"):
            self._log(prediction["id"], event, "dropped")
            return
        copies = 2 if self._take("duplicate_webhooks") else 1
        delivery = (url, json.dumps(self.public_view(prediction)), prediction["id"], event, copies)
        with self.lock:
            if event == "start" and prediction["_hold_start"]:
                prediction["_held"].append(delivery)  # sent after "completed"
                return
            then = prediction["_held"] if event == "completed" else []
            prediction["_held"] = []
            generation = prediction["_generation"]
        threading.Thread(target=self._deliver_all, args=([delivery] + then, generation),
                         daemon=True).start()

    def _deliver_all(self, deliveries: list, generation: threading.Event) -> None:
        if generation.wait(self.faults["webhook_delay_s"]):
            for _, _, pid, event, _ in deliveries:
                self._log(pid, event, "abandoned")
            return
        for url, body, pid, event, copies in deliveries:
            for _ in range(copies):
                self._deliver(url, body, pid, event, generation)

    def _deliver(self, url: str, body: str, pid: str, event: str,
                 generation: threading.Event) -> None:
        msg_id = f"msg_{uuid.uuid4().hex}"  # the same across retries, as Replicate's
        result = deliver(url, body.encode(),
                         lambda: signed_headers(self.webhook_secret, body, msg_id),
                         generation, WEBHOOK_RETRY_DELAYS_S)
        self._log(pid, event, result, msg_id)

    def _log(self, pid: str, event: str, result: str, msg_id: Optional[str] = None) -> None:
        with self.lock:
            self.webhook_log.append({"id": pid, "event": event, "result": result,
                                     "webhook_id": msg_id})


def _prefer_wait(value: Optional[str]) -> Optional[int]:
    """``Prefer: wait`` (60 s) or ``wait=N`` with N from 1 to 60."""
    for preference in (value or "").split(","):
        name, _, arg = preference.strip().partition("=")
        if name.strip().lower() != "wait":
            continue
        if not arg:
            return 60
        if not re.fullmatch(r"\d{1,2}", arg.strip()) or not 1 <= int(arg) <= 60:
            raise Problem(400, f"Invalid Prefer header: wait must be an integer from 1 to 60; got {arg!r}")
        return int(arg)
    return None


def _duration_s(value: Optional[str]) -> Optional[float]:
    """``Cancel-After``: a Go-style duration (``90s``, ``5m``, ``1h30m``; bare
    numbers are seconds), at least 5 s."""
    if not value:
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        text += "s"
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise Problem(400, f"Invalid Cancel-After: {value}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return max(5.0, sum(float(n) * scale[u] for n, u in parts))


MODEL = r"/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)"
ROUTES = [  # (pattern, needs the token, methods)
    (r"/v1/predictions", True, ("GET", "POST")),
    (r"/v1/predictions/(?P<id>[^/]+)", True, ("GET",)),
    (r"/v1/predictions/(?P<id>[^/]+)/cancel", True, ("POST",)),
    (MODEL, True, ("GET",)),
    (MODEL + r"/predictions", True, ("POST",)),
    (MODEL + r"/versions", True, ("GET",)),
    (MODEL + r"/versions/(?P<version>[^/]+)", True, ("GET",)),
    (r"/v1/webhooks/default/secret", True, ("GET",)),
    (r"/files/.+", False, ("GET",)),
    (r"/samples/input\.jpg", False, ("GET",)),
    (r"/_sim/faults", False, ("GET", "POST")),
    (r"/_sim/reset", False, ("POST",)),
    (r"/_sim/webhooks", False, ("GET",)),
    (r"/_sim/creates", False, ("GET",)),
]


def make_handler(sim: Simulator):
    class Handler(JsonHandler):
        error_content_type = "application/problem+json"

        def error_body(self, status: int, detail: str) -> dict:
            return Problem(status, detail).body()

        def problem(self, status: int, detail: str) -> Exception:
            return Problem(status, detail)

        def _authorize(self):
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() not in ("bearer", "token") or not secrets.compare_digest(
                    token.strip().encode(), sim.token.encode()):
                raise Problem(401, "You did not pass a valid authentication token",
                              title="Unauthenticated")

        def dispatch(self, method: str):
            url = urlparse(self.path)
            try:
                for pattern, needs_token, methods in ROUTES:
                    match = re.fullmatch(pattern, url.path)
                    if match:
                        break
                else:
                    raise Problem(404, "Not found.")
                if needs_token:
                    self._authorize()
                allowed = methods + (("HEAD",) if "GET" in methods else ())
                if method not in allowed:
                    raise Problem(405, f"Method \"{method}\" not allowed.",
                                  {"Allow": ", ".join(allowed)})
                return self._route(pattern, "GET" if method == "HEAD" else method,
                                   match.groupdict(), parse_qs(url.query))
            except Problem as p:
                self._send(p.status, p.body(), p.headers, content_type="application/problem+json")
            except InvalidFields as e:
                self._send(422, e.body(), content_type="application/problem+json")
            except Disconnect:
                self._disconnect()

        def _route(self, pattern: str, method: str, args: dict, query: dict):
            if pattern == r"/v1/predictions" and method == "POST":
                pred = sim.create(None, self._body(), _prefer_wait(self.headers.get("Prefer")),
                                  _duration_s(self.headers.get("Cancel-After")))
                return self._send(201, pred)
            if pattern == r"/v1/predictions":
                return self._send(200, sim.list_predictions((query.get("cursor") or [None])[0]))
            if pattern.endswith("/cancel"):
                return self._send(200, sim.cancel(args["id"]))
            if "id" in args:
                return self._send(200, sim.get(args["id"]))
            if "owner" in args:
                model = sim.model(f"{args['owner']}/{args['name']}")
                if pattern.endswith("/predictions"):
                    if not model.official:
                        raise Problem(404, "This model requires a version.")
                    pred = sim.create(model.owner_name, self._body(),
                                      _prefer_wait(self.headers.get("Prefer")),
                                      _duration_s(self.headers.get("Cancel-After")))
                    return self._send(201, pred)
                if pattern.endswith("/versions"):
                    return self._send(200, {"next": None, "previous": None,
                                            "results": [model.version_json()]})
                if "version" in args:
                    if args["version"] != model.version:
                        raise Problem(404, "Not found.")
                    return self._send(200, model.version_json())
                return self._send(200, model.model_json())
            if pattern == r"/v1/webhooks/default/secret":
                return self._send(200, {"key": sim.webhook_secret})
            if pattern == r"/files/.+":
                return self._send_file(sim.file(urlparse(self.path).path))
            if pattern == r"/samples/input\.jpg":
                return self._send(200, media.image_bytes("sample input", 7, 1024, 576, "jpg"),
                                  content_type="image/jpeg")
            if pattern == r"/_sim/creates":
                return self._send(200, sim.create_stats())
            if pattern.startswith("/_sim/"):
                return self._sim_control(sim, pattern, method)
            raise Problem(404, "Not found.")

    return Handler


def serve(host: str, port: int, token: str, webhook_secret: Optional[str] = None,
          public_url: Optional[str] = None):
    server = Server((host, port), None)
    sim = Simulator(public_url or f"http://{host}:{server.server_address[1]}", token,
                    webhook_secret)
    server.RequestHandlerClass = make_handler(sim)
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
    log.info("listening on http://%s:%d", args.host, server.server_address[1])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
