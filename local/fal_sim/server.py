"""A local stand-in for fal.ai's queue (queue.fal.run): the same queue API,
requests that wait in a queue with positions and run with logs, results whose
media are real files served here, webhooks signed with ED25519 and a JWKS, and
the Replicate simulator's fault switches.

    python -m local.fal_sim.server --port 5070 --key KEY

fal's queue API (``Authorization: Key KEY``), with ``{endpoint}`` a model's full
id (``fal-ai/flux/schnell``) and ``{app}`` its owner/app part (``fal-ai/flux``):
  POST {endpoint}[?fal_webhook=URL]   submit: 200 {status: IN_QUEUE, request_id,
                                      response_url, status_url, cancel_url, queue_position}
  GET  {app}/requests/{id}/status[?logs=1]
                                      202 IN_QUEUE (queue_position) | 202 IN_PROGRESS
                                      (logs) | 200 COMPLETED (logs, metrics; error on failure)
  GET  {app}/requests/{id}            the model's result (400 while not completed; the
                                      model's error status and body when it failed)
  PUT  {app}/requests/{id}/cancel     202 CANCELLATION_REQUESTED | 400 ALREADY_COMPLETED
                                      | 404 NOT_FOUND
Inputs are checked when the request runs, not at submit (FastAPI's 422 list
then comes back from the result URL and in the webhook), as fal's queue does.
With ``fal_webhook`` the result is POSTed there once the request completes:
``{request_id, gateway_request_id, status: OK | ERROR, payload, error}``, signed
as local/fal_sim/signing.py says, retried with backoff.

Without a key: ``GET /.well-known/jwks.json`` (the webhook keys), ``GET /files/...``
(the outputs; they expire), ``GET /samples/input.jpg`` (an input image), and the
same controls as the Replicate simulator's:
  POST /_sim/faults   set faults (see local/fal_sim/faults.py)
  GET  /_sim/faults   the current faults
  POST /_sim/reset    faults back to defaults; every request not completed ends
                      canceled without a webhook, and every webhook not yet
                      delivered is abandoned
  GET  /_sim/webhooks the delivery log
``--tls-cert``/``--tls-key`` serve HTTPS (fal's official client only speaks https).
"""
import argparse
import json
import logging
import os
import secrets
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlparse

from local.fal_sim import faults as fault_settings
from local.fal_sim.models import InvalidInput, Made, Served, SimModel, models_from_table
from local.fal_sim.signing import WebhookSigner
from local.replicate_sim import large, media
from local.replicate_sim.models import ModelError
from local.simulator_base import JsonHandler, Server, SimulatorBase, deliver

log = logging.getLogger("fal-sim")

WEBHOOK_RETRY_DELAYS_S = (0.5, 1, 2, 4)
IN_QUEUE, IN_PROGRESS, COMPLETED = "IN_QUEUE", "IN_PROGRESS", "COMPLETED"
CANCELED_DETAIL = "Request was cancelled"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class Problem(Exception):
    """An HTTP error answer; fal words them ``{"detail": ...}``."""

    def __init__(self, status: int, detail, headers: Optional[dict] = None,
                 body: Optional[dict] = None):
        super().__init__(str(detail))
        self.status, self.headers = status, headers or {}
        self._body = body if body is not None else {"detail": detail}

    def body(self) -> dict:
        return self._body


class Disconnect(Exception):
    """Close the connection without answering (the request's effect stays)."""


@dataclass
class QueuedRequest:
    id: str
    model: SimModel
    body: object
    webhook: Optional[str]
    seq: int
    generation: threading.Event
    status: str = IN_QUEUE
    logs: List[dict] = field(default_factory=list)
    inference_time: Optional[float] = None
    result: Optional[dict] = None
    error: Optional[Tuple[int, dict]] = None  # the model's error answer: status, body
    canceled: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    done_at: Optional[float] = None
    files_removed: bool = False

    def log(self, message: str, level: str = "INFO") -> None:
        self.logs.append({"message": message, "level": level, "source": "USER",
                          "timestamp": now_iso()})


class Simulator(SimulatorBase):
    fault_settings = fault_settings

    def __init__(self, public_url: str, key: str, user_id: str = "sim-user",
                 models: Optional[Dict[str, SimModel]] = None):
        self.public_url = public_url.rstrip("/")
        self.key = key
        self.signer = WebhookSigner(user_id)
        self.models = models if models is not None else models_from_table()
        super().__init__("vsl-fal-sim-")
        self.queue_changed = threading.Condition(self.lock)
        self.requests: Dict[str, QueuedRequest] = {}

    # ---- controls ----------------------------------------------------------------

    def set_faults(self, changes) -> dict:
        current = super().set_faults(changes)
        with self.queue_changed:
            self.queue_changed.notify_all()  # more runners may start waiting requests
        return current

    def reset(self) -> dict:
        """Faults back to defaults; requests not completed end canceled, with no
        webhook, and undelivered webhooks are abandoned."""
        with self.queue_changed:
            finished_generation, self.generation = self.generation, threading.Event()
            for request in self.requests.values():
                if request.status != COMPLETED:
                    self._finish(request, canceled=True)
            self.faults = fault_settings.defaults()
            current = dict(self.faults)
            self.queue_changed.notify_all()
        finished_generation.set()
        return current

    def problem(self, status: int, detail: str, headers: Optional[dict] = None) -> Exception:
        return Problem(status, detail, headers)

    # ---- the queue API ---------------------------------------------------------

    def submit(self, endpoint_id: str, body, webhook: Optional[str]) -> dict:
        self._error_status("create_errors")
        model = self.models.get(endpoint_id)
        if model is None:
            raise Problem(404, f"Application '{endpoint_id}' not found")
        with self.lock:
            self.sequence += 1
            request = QueuedRequest(str(uuid.uuid4()), model, body, webhook, self.sequence,
                                    self.generation)
            self.requests[request.id] = request
            view = dict(self._urls(request), status=IN_QUEUE, request_id=request.id,
                        gateway_request_id=request.id,
                        queue_position=self._queue_position(request))
        threading.Thread(target=self._run, args=(request,), daemon=True).start()
        hang = self.faults["create_hang_s"]
        if hang:
            request.generation.wait(hang)
        if self._take("create_disconnects"):
            raise Disconnect()
        return view

    def _urls(self, request: QueuedRequest) -> dict:
        base = f"{self.public_url}/{request.model.app_id}/requests/{request.id}"
        return {"response_url": base, "status_url": base + "/status",
                "cancel_url": base + "/cancel"}

    def _request(self, app_id: str, rid: str) -> QueuedRequest:
        with self.lock:
            request = self.requests.get(rid)
        if request is None or request.model.app_id != app_id:
            raise Problem(404, "Request not found")
        return request

    def _queue_position(self, request: QueuedRequest) -> int:
        """How many requests of the same app wait ahead of this one (the lock is held)."""
        return sum(1 for r in self.requests.values()
                   if r.status == IN_QUEUE and r.model.app_id == request.model.app_id
                   and r.seq < request.seq)

    def status(self, app_id: str, rid: str, with_logs: bool) -> Tuple[int, dict]:
        self._error_status("get_errors")
        request = self._request(app_id, rid)
        with self.lock:
            view = dict(self._urls(request), status=request.status, request_id=request.id)
            if request.status == IN_QUEUE:
                view["queue_position"] = self._queue_position(request)
                return 202, view
            view["logs"] = [dict(entry) for entry in request.logs] if with_logs else None
            if request.status == IN_PROGRESS:
                return 202, view
            view["metrics"] = {"inference_time": request.inference_time}
            if request.error:
                view["error"], view["error_type"] = self._error_text(request), None
            return 200, view

    def result(self, app_id: str, rid: str) -> Tuple[int, dict]:
        self._error_status("get_errors")
        request = self._request(app_id, rid)
        self._expire(request)
        with self.lock:
            if request.status != COMPLETED:
                raise Problem(400, "Request is still in progress")
            if request.error:
                return request.error
            return 200, request.result

    def cancel(self, app_id: str, rid: str) -> Tuple[int, dict]:
        with self.lock:
            request = self.requests.get(rid)
        if request is None or request.model.app_id != app_id:
            raise Problem(404, "Request not found", body={"status": "NOT_FOUND"})
        with self.queue_changed:
            if request.status == COMPLETED:
                return 400, {"status": "ALREADY_COMPLETED"}
            if request.status == IN_QUEUE:
                self._finish(request, canceled=True)  # removed from the queue: it never runs
                self.queue_changed.notify_all()
            elif self.faults["cancel_ignored"] > 0:
                self.faults["cancel_ignored"] -= 1  # the app goes on and completes
                request.log("Cancellation requested; the app did not stop", "WARN")
            else:
                request.log("Cancellation requested; stopping", "WARN")
                request.stop.set()  # the running app stops at its next step
        return 202, {"status": "CANCELLATION_REQUESTED"}

    @staticmethod
    def _error_text(request: QueuedRequest) -> str:
        status, body = request.error
        if request.canceled:
            return CANCELED_DETAIL
        if isinstance(body.get("detail"), str):
            return body["detail"]
        return f"Invalid status code: {status}"  # as fal words a validation failure

    def _finish(self, request: QueuedRequest, result: Optional[dict] = None,
                error: Optional[Tuple[int, dict]] = None, canceled: bool = False) -> None:
        """Make a request COMPLETED (the lock is held)."""
        if canceled:
            error = (400, {"detail": CANCELED_DETAIL})
        request.status, request.result, request.error = COMPLETED, result, error
        request.canceled, request.done_at = canceled, time.time()
        request.stop.set()

    def _expire(self, request: QueuedRequest) -> None:
        with self.lock:
            if (request.done_at and not request.files_removed
                    and time.time() - request.done_at > self.faults["output_ttl_s"]):
                for path in [p for p, f in self.files.items() if f.prediction_id == request.id]:
                    self.files.pop(path).remove()
                request.files_removed = True

    def _expire_owner(self, owner_id: str) -> None:
        self._expire(self.requests[owner_id])

    # ---- the model run ---------------------------------------------------------

    def _run(self, request: QueuedRequest) -> None:
        if request.stop.wait(self.faults["queue_s"]) or not self._start(request):
            return  # canceled, or the simulator was reset
        latency = self.faults["latency_s"]
        started = time.monotonic()
        error, result = None, None
        try:
            inp = request.model.parse(request.body)
            seed = request.model.seed_of(inp)
            request.log(f"Seed: {seed}")
            if self._take("fail_predictions"):
                raise ModelError("CUDA out of memory (simulated failure)")
            made = self._outputs(request, inp, seed)
            request.log(f"Generated {len(made)} output(s)")
        except InvalidInput as e:
            error = (422, {"detail": e.detail})
        except ModelError as e:
            error = (500, {"detail": str(e)})
        except Exception as e:  # any other model error also fails the request, as on fal
            error = (500, {"detail": f"{type(e).__name__}: {e}"})
        if not error and request.stop.wait(max(0.0, latency - (time.monotonic() - started))):
            self._stopped(request)
            return
        elapsed = round(time.monotonic() - started, 3)
        if not error:
            served = self._store(request, made)
            result = request.model.knowledge.result(inp, seed, served, elapsed)
        with self.queue_changed:
            if request.status != IN_PROGRESS:
                return
            request.inference_time = elapsed
            self._finish(request, result, error)
            self.queue_changed.notify_all()
        self._send_webhook(request)

    def _start(self, request: QueuedRequest) -> bool:
        """Wait for a free runner, first come first served; False if canceled meanwhile."""
        with self.queue_changed:
            while True:
                if request.status != IN_QUEUE or request.generation.is_set():
                    return False
                running = sum(1 for r in self.requests.values()
                              if r.status == IN_PROGRESS and r.model.app_id == request.model.app_id)
                if self._queue_position(request) == 0 and running < self.faults["runners"]:
                    request.status = IN_PROGRESS
                    request.log(f"Running on a runner of {request.model.app_id}")
                    return True
                self.queue_changed.wait(0.5)

    def _stopped(self, request: QueuedRequest) -> None:
        """The app stopped on a cancellation (or the simulator was reset)."""
        with self.queue_changed:
            if request.status == IN_PROGRESS:
                self._finish(request, canceled=True)
            self.queue_changed.notify_all()

    def _outputs(self, request: QueuedRequest, inp, seed: int) -> List[Made]:
        spec = self.faults["large_output"]
        if spec and spec["kind"] == request.model.spec.media_type:
            return [Made("output.mp4", b"", "video/mp4", spec["width"], spec["height"])]
        return request.model.knowledge.generate(inp, seed, media.fetch_input)

    def _store(self, request: QueuedRequest, made: List[Made]) -> List[Served]:
        spec = self.faults["large_output"]
        served = []
        for item in made:
            if spec and spec["kind"] == request.model.spec.media_type:
                output = large.large_video(request.id, spec)
            else:
                data = self._break(item.data)
                path = os.path.join(self._output_dir.name, f"{request.id}-{item.name}")
                with open(path, "wb") as f:
                    f.write(data)
                output = large.OutputFile(request.id, item.content_type, path)
            url_path = f"/files/{request.id}/{item.name}"
            with self.lock:
                self.files[url_path] = output
            served.append(Served(self.public_url + url_path, item.name, item.content_type,
                                 output.size, item.width, item.height))
        return served

    def _break(self, data: bytes) -> bytes:
        broken = self._pop("broken_outputs")
        if broken == "empty":
            return b""
        if broken == "corrupt":
            return secrets.token_bytes(len(data))
        if broken == "truncated":
            return data[:len(data) // 2]
        return data

    # ---- the webhook -----------------------------------------------------------

    def _send_webhook(self, request: QueuedRequest) -> None:
        if not request.webhook:
            return
        if self._take("drop_webhooks"):
            self._log(request.id, "dropped")
            return
        copies = 2 if self._take("duplicate_webhooks") else 1
        with self.lock:
            payload = {"request_id": request.id, "gateway_request_id": request.id,
                       "status": "ERROR" if request.error else "OK",
                       "payload": request.error[1] if request.error else request.result,
                       "error": self._error_text(request) if request.error else None}
        body = json.dumps(payload, sort_keys=True).encode()
        threading.Thread(target=self._deliver, args=(request, body, copies),
                         daemon=True).start()

    def _deliver(self, request: QueuedRequest, body: bytes, copies: int) -> None:
        if request.generation.wait(self.faults["webhook_delay_s"]):
            self._log(request.id, "abandoned")
            return
        for _ in range(copies):
            # Signed anew each attempt: the timestamp must stay within the receiver's window.
            result = deliver(request.webhook, body, lambda: {
                "Content-Type": "application/json", **self.signer.headers(request.id, body)},
                request.generation, WEBHOOK_RETRY_DELAYS_S)
            self._log(request.id, result)

    def _log(self, rid: str, result: str) -> None:
        with self.lock:
            self.webhook_log.append({"id": rid, "event": "completed", "result": result})


def _wants_logs(query: dict) -> bool:
    """``logs=1`` as fal documents it; fal's Python client sends ``logs=true``."""
    return (query.get("logs") or ["0"])[0].strip().lower() in ("1", "true")


CONTROL = {"/_sim/faults": ("GET", "POST"), "/_sim/reset": ("POST",),
           "/_sim/webhooks": ("GET",), "/.well-known/jwks.json": ("GET",),
           "/samples/input.jpg": ("GET",)}


def make_handler(sim: Simulator):
    class Handler(JsonHandler):
        def error_body(self, status: int, detail: str) -> dict:
            return {"detail": detail}

        def problem(self, status: int, detail: str) -> Exception:
            return Problem(status, detail)

        def _authorize(self):
            scheme, _, key = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() != "key" or not secrets.compare_digest(
                    key.strip().encode(), sim.key.encode()):
                raise Problem(401, "Authentication is required to access this application.")

        def _allow(self, method: str, methods: tuple) -> str:
            allowed = methods + (("HEAD",) if "GET" in methods else ())
            if method not in allowed:
                raise Problem(405, "Method Not Allowed", {"Allow": ", ".join(allowed)})
            return "GET" if method == "HEAD" else method

        def dispatch(self, method: str):
            url = urlparse(self.path)
            try:
                if url.path in CONTROL:
                    return self._control(url.path, self._allow(method, CONTROL[url.path]))
                if url.path.startswith("/files/"):
                    self._allow(method, ("GET",))
                    return self._send_file(sim.file(url.path))
                return self._queue(method, url.path.strip("/").split("/"), parse_qs(url.query))
            except Problem as p:
                self._send(p.status, p.body(), p.headers)
            except Disconnect:
                self._disconnect()

        def _queue(self, method: str, parts: List[str], query: dict):
            if len(parts) < 2 or not all(parts):
                raise Problem(404, "Not Found")
            self._authorize()
            at = parts.index("requests", 2) if "requests" in parts[2:-1] else None
            if at is not None:
                # Only owner/app before "requests" names a request (the checks say 404 else).
                app_id, rid, rest = "/".join(parts[:at]), parts[at + 1], parts[at + 2:]
                if rest == ["cancel"]:
                    self._allow(method, ("PUT",))
                    status, body = sim.cancel(app_id, rid)
                    return self._send(status, body)
                if rest == ["status"]:
                    self._allow(method, ("GET",))
                    status, body = sim.status(app_id, rid, _wants_logs(query))
                    return self._send(status, body, {"X-Fal-Request-Id": rid})
                if rest == []:
                    self._allow(method, ("GET",))
                    status, body = sim.result(app_id, rid)
                    return self._send(status, body, {"X-Fal-Request-Id": rid})
                raise Problem(404, "Not Found")  # e.g. status/stream: not simulated
            self._allow(method, ("POST",))
            webhook = (query.get("fal_webhook") or [None])[0]
            view = sim.submit("/".join(parts), self._body(), webhook)
            return self._send(200, view, {"X-Fal-Request-Id": view["request_id"]})

        def _control(self, path: str, method: str):
            if path.startswith("/_sim/"):
                return self._sim_control(sim, path, method)
            if path == "/.well-known/jwks.json":
                return self._send(200, sim.signer.jwks())
            return self._send(200, media.image_bytes("sample input", 7, 1024, 576, "jpg"),
                              content_type="image/jpeg")

    return Handler


def serve(host: str, port: int, key: str, user_id: str = "sim-user",
          public_url: Optional[str] = None,
          tls: Optional[Tuple[str, str]] = None) -> Tuple[Simulator, Server]:
    """The simulator and its (not yet serving) server; ``tls`` = (cert file, key file)."""
    server = Server((host, port), None)
    scheme = "http"
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        # The handshake happens in the request's own thread, not in accept().
        server.socket = context.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
        scheme = "https"
    sim = Simulator(public_url or f"{scheme}://{host}:{server.server_address[1]}", key, user_id)
    server.RequestHandlerClass = make_handler(sim)
    return sim, server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5070)
    parser.add_argument("--key", required=True, help="the FAL_KEY clients must send")
    parser.add_argument("--user-id", default="sim-user",
                        help="sent in X-Fal-Webhook-User-Id and signed")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    logging.basicConfig(level=logging.INFO, format="fal-sim: %(message)s")
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    sim, server = serve(args.host, args.port, args.key, args.user_id, tls=tls)
    log.info("listening on %s", sim.public_url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
