"""The HTTP plumbing both provider simulators share: a threaded server that
takes bursts of connections, and a JSON handler base whose every method, known
or not, goes through one dispatcher, whose malformed requests get a JSON error
in the provider's own shape, and whose output files are streamed in chunks.
"""
import json
import logging
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

log = logging.getLogger("sim-http")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of concurrent creates must not be refused at accept


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
        try:
            return json.loads(raw) if raw else {}
        except (ValueError, RecursionError):
            raise self.problem(400, "Body is not valid JSON") from None

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
