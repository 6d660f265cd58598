"""What both provider simulators share: a threaded server that takes bursts of
connections; a JSON handler base whose every method, known or not, goes through
one dispatcher, whose malformed requests get a JSON error in the provider's own
shape, whose output files are streamed in chunks, and which serves the admin API
(/_sim/faults, /_sim/reset, /_sim/webhooks); the fault switches consumed one per
use; and webhook delivery with retries.
"""
import json
import logging
import math
import socket
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence

import requests

if TYPE_CHECKING:
    from local.replicate_sim.large import OutputFile

log = logging.getLogger("simulator")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of concurrent creates must not be refused at accept


class SimulatorBase:
    """Fault switches, output files and the webhook log. Subclasses set
    ``fault_settings`` (a module with ``defaults`` and ``validate``), and say how
    their provider words an error (``problem``) and a throttle
    (``throttled_detail``), and how a file's owner expires (``_expire_owner``)."""
    fault_settings = None

    def __init__(self, output_dir_prefix: str):
        self.lock = threading.Lock()
        self.sequence = 0
        self.files: Dict[str, "OutputFile"] = {}
        self._output_dir = tempfile.TemporaryDirectory(prefix=output_dir_prefix)
        self.webhook_log: List[dict] = []
        # Set (and replaced) by reset: everything waiting on it stops.
        self.generation = threading.Event()
        self.faults = self.fault_settings.defaults()

    def problem(self, status: int, detail: str, headers: Optional[dict] = None) -> Exception:
        raise NotImplementedError

    def throttled_detail(self, retry_after: int) -> str:
        return "Too many requests (simulated)"

    def _expire_owner(self, owner_id: str) -> None:
        raise NotImplementedError

    def set_faults(self, changes) -> dict:
        try:
            checked = self.fault_settings.validate(changes)
        except ValueError as e:
            raise self.problem(400, str(e)) from None
        with self.lock:
            self.faults.update(checked)
            return dict(self.faults)

    def _take(self, name: str) -> bool:
        with self.lock:
            if self.faults[name] > 0:
                self.faults[name] -= 1
                return True
            return False

    def _pop(self, name: str):
        with self.lock:
            return self.faults[name].pop(0) if self.faults[name] else None

    def _error_status(self, name: str) -> None:
        """Raise the next status of a ``*_errors`` fault list, if any."""
        status = self._pop(name)
        if status == 429:
            retry_after = math.ceil(self.faults["retry_after_s"])  # whole seconds, as HTTP has it
            raise self.problem(429, self.throttled_detail(retry_after),
                               {"Retry-After": str(retry_after)})
        if status:
            raise self.problem(status, "Internal server error (simulated)")

    def file(self, path: str):
        """An output file (``local.replicate_sim.large.OutputFile``) still there."""
        self._error_status("file_errors")
        with self.lock:
            entry = self.files.get(path)
        if entry is not None:
            self._expire_owner(entry.prediction_id)
            with self.lock:
                entry = self.files.get(path)
        if entry is None:
            raise self.problem(404, "Not found.")
        return entry


def deliver(url: str, body: bytes, headers: Callable[[], dict], stop: threading.Event,
            retry_delays_s: Sequence[float]) -> str:
    """POST a webhook until a 2xx (retrying after each delay; ``headers()`` signs
    each attempt); "delivered", "abandoned" when ``stop`` is set, or the last failure."""
    result = "failed"
    for delay in (0, *retry_delays_s):
        if stop.wait(delay):
            return "abandoned"
        try:
            resp = requests.post(url, data=body, headers=headers(), timeout=10,
                                 allow_redirects=False)
            if 200 <= resp.status_code < 300:
                return "delivered"
            result = f"HTTP {resp.status_code}"
        except requests.RequestException as e:
            result = type(e).__name__
    return result


class JsonHandler(BaseHTTPRequestHandler):
    """Subclasses say how their provider words an error (``error_body``,
    ``error_content_type``), what to raise for one (``problem``), and route
    requests in ``dispatch(method)``."""
    protocol_version = "HTTP/1.1"
    error_content_type = "application/json"

    def error_body(self, status: int, detail: str) -> dict:
        raise NotImplementedError

    def problem(self, status: int, detail: str) -> Exception:
        raise NotImplementedError

    def dispatch(self, method: str) -> None:
        raise NotImplementedError

    def log_message(self, fmt, *args):
        log.debug(fmt, *args)

    def __getattr__(self, name):
        # Every method, known or not, goes through one dispatcher (so an
        # unknown one gets a JSON 405/404, not http.server's 501 HTML).
        if name.startswith("do_"):
            return lambda: self.dispatch(name[3:])
        raise AttributeError(name)

    def send_error(self, code, message=None, explain=None):
        # Malformed requests (bad request line, headers too long...) too.
        self.close_connection = True
        self._send(code, self.error_body(code, message or explain or "Bad request"),
                   content_type=self.error_content_type)

    def _send(self, status: int, body, headers: Optional[dict] = None,
              content_type: str = "application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self._start(status, len(data), content_type, headers)
        if self.command != "HEAD":
            self.wfile.write(data)

    def _start(self, status: int, length: int, content_type: str, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        from chalicelib.validation import loads_bounded
        try:
            return loads_bounded(raw) if raw else {}
        except (ValueError, RecursionError):  # the providers refuse deep nesting too
            raise self.problem(400, "Body is not valid JSON") from None

    def _sim_control(self, sim: SimulatorBase, path: str, method: str):
        """The admin API; ``sim.reset()`` is each simulator's own."""
        if path == "/_sim/faults":
            if method == "POST":
                return self._send(200, sim.set_faults(self._body()))
            with sim.lock:
                current = json.loads(json.dumps(sim.faults))
            return self._send(200, current)
        if path == "/_sim/reset":
            return self._send(200, sim.reset())
        if path == "/_sim/webhooks":
            with sim.lock:
                entries = list(sim.webhook_log)
            return self._send(200, entries)
        raise self.problem(404, "Not found.")

    def _disconnect(self):
        """Close the connection without answering."""
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _send_file(self, output):
        """An output file (``local.replicate_sim.large.OutputFile``), in chunks."""
        try:
            size = output.size
        except FileNotFoundError:  # expired meanwhile
            raise self.problem(404, "Not found.") from None
        self._start(200, size, output.content_type)
        if self.command == "HEAD":
            return
        try:
            for chunk in output.chunks():
                self.wfile.write(chunk)
        except OSError:  # the downloader went away, or the file expired mid-send
            self.close_connection = True
