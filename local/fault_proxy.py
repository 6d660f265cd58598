"""An HTTP proxy between the service and the AWS emulator that makes DynamoDB
and S3 misbehave as they do on AWS under load: throttling and 500s.

    python -m local.fault_proxy --target http://127.0.0.1:5050 --port 5055 \\
        --every dynamodb=5 --every s3=5
    # then the service's AWS_ENDPOINT_URL=http://127.0.0.1:5055

Every Nth request of a service (counted per service, so the faults are
deterministic in number; ``--burst B``: and its next B - 1 retries) is answered
by the proxy itself, never forwarded, with the next fault of that service's
cycle:
- DynamoDB (told by its ``X-Amz-Target``): HTTP 400
  ``ProvisionedThroughputExceededException`` or ``ThrottlingException``, or
  HTTP 500 ``InternalServerError``, as JSON bodies botocore parses;
- S3 (told by the signing scope in its Authorization header): HTTP 503
  ``SlowDown`` or HTTP 500 ``InternalError``, as S3's XML.
botocore retries all of these (standard mode). Everything else is forwarded
unchanged: SQS, and presigned links (clients fetch those, not the service). The
Host header is kept too, so URLs the emulator hands out point at the proxy.
"""
import argparse
import hashlib
import http.client
import itertools
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Optional, Set, Tuple
from urllib.parse import urlsplit

DYNAMODB_FAULTS = (
    (400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
     "The level of configured provisioned throughput for the table was exceeded."),
    (400, "com.amazon.coral.availability#ThrottlingException", "Rate of requests exceeds the "
                                                               "allowed throughput."),
    (500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error"),
)
S3_FAULTS = (
    (503, "SlowDown", "Please reduce your request rate."),
    (500, "InternalError", "We encountered an internal error. Please try again."),
)
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "content-length"}
_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")


def service_of(headers) -> Optional[str]:
    """``dynamodb``, ``s3``, ``sqs``... as the request says, or None."""
    target = headers.get("X-Amz-Target") or ""
    if target.startswith("DynamoDB_"):
        return "dynamodb"
    if target.startswith("AmazonSQS"):
        return "sqs"
    scope = _SCOPE.search(headers.get("Authorization") or "")
    return scope.group(1) if scope else None


class FaultPlan:
    """Which requests fail: every ``every[service]``th request of a service, cycling
    through the service's faults, and its next ``burst - 1`` retries (the same
    method, path and body) too. A burst as long as botocore's attempts (5 with
    ``max_attempts: 4``, which counts retries after the first) makes that call fail
    through to its caller; the default, 1, lets botocore absorb it."""

    def __init__(self, every: Optional[Dict[str, int]] = None, burst: int = 1,
                 operations: Optional[Set[str]] = None):
        self._lock = threading.Lock()
        self.burst = burst
        # Only these DynamoDB operations (X-Amz-Target's, e.g. "PutItem"); None: all.
        self.operations = operations
        self.every: Dict[str, int] = {}
        self.seen: Dict[str, int] = {}
        self.injected: Dict[str, int] = {}
        self._retries_to_fail: Dict[bytes, int] = {}
        self._cycles = {"dynamodb": itertools.cycle(DYNAMODB_FAULTS),
                        "s3": itertools.cycle(S3_FAULTS)}
        self.set(every or {})

    def set(self, every: Dict[str, int], burst: Optional[int] = None,
            operations: Optional[Set[str]] = None) -> None:
        """Change the rates (0 or absent: no faults for that service)."""
        unknown = set(every) - set(self._cycles)
        if unknown:
            raise ValueError(f"no faults known for {sorted(unknown)}; known: dynamodb, s3")
        burst = self.burst if burst is None else burst
        if burst < 1:
            raise ValueError("burst must be at least 1")
        with self._lock:
            self.every = {s: n for s, n in every.items() if n}
            self.burst = burst
            self.operations = operations

    def fault_for(self, service: Optional[str], request: bytes = b"",
                  operation: Optional[str] = None) -> Optional[Tuple[int, str, str]]:
        """The fault to answer ``request`` (method, path and body) with, or None."""
        with self._lock:
            if service is None or service not in self.every:
                return None
            if service == "dynamodb" and self.operations is not None and \
                    operation not in self.operations:
                return None
            digest = hashlib.sha256(request).digest()
            if self._retries_to_fail.get(digest):
                self._retries_to_fail[digest] -= 1
            else:
                self.seen[service] = count = self.seen.get(service, 0) + 1
                if count % self.every[service]:
                    return None
                self._retries_to_fail[digest] = self.burst - 1
            self.injected[service] = self.injected.get(service, 0) + 1
            return next(self._cycles[service])


class FaultProxy:
    def __init__(self, target: str, plan: Optional[FaultPlan] = None, host: str = "127.0.0.1",
                 port: int = 0):
        parts = urlsplit(target)
        self.target_host, self.target_port = parts.hostname, parts.port or 80
        self.plan = plan or FaultPlan()
        self.upstream_errors = 0  # requests the emulator closed unanswered
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects

            def log_message(self, *args):
                pass

            def _body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def handle_one(self):
                body = self._body()
                service = service_of(self.headers)
                operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
                fault = proxy.plan.fault_for(
                    service, f"{self.command} {self.path}\n".encode() + body, operation)
                if fault:
                    self._answer_fault(service, *fault)
                else:
                    self._forward(body)

            def _answer_fault(self, service: str, status: int, code: str, message: str):
                request_id = uuid.uuid4().hex
                if service == "dynamodb":
                    payload = json.dumps({"__type": code, "message": message}).encode()
                    headers = {"Content-Type": "application/x-amz-json-1.0",
                               "x-amzn-RequestId": request_id}
                else:
                    payload = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}'
                               f'</Code><Message>{message}</Message><RequestId>{request_id}'
                               f'</RequestId></Error>').encode()
                    headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
                if self.command == "HEAD":
                    payload = b""  # S3 answers HEAD errors with the status alone
                self._send(status, list(headers.items()), payload)

            def _forward(self, body: bytes):
                conn = http.client.HTTPConnection(proxy.target_host, proxy.target_port,
                                                  timeout=120)
                try:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in HOP_BY_HOP}
                    headers["Content-Length"] = str(len(body))
                    try:
                        conn.request(self.command, self.path, body=body, headers=headers)
                        resp = conn.getresponse()
                        payload = resp.read()
                    except (OSError, http.client.HTTPException) as e:
                        # The emulator hung up: a 502, which the caller's botocore retries.
                        proxy.upstream_errors += 1
                        self._send(502, [("Content-Type", "text/plain")],
                                   f"the emulator did not answer: {e!r}".encode())
                        return
                    kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
                    length = resp.getheader("Content-Length") if self.command == "HEAD" else None
                    self._send(resp.status, kept, payload, length)
                finally:
                    conn.close()

            def _send(self, status: int, headers, payload: bytes, length: str = None):
                self.send_response_only(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", length or str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = \
                handle_one

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FaultProxy":
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="fault-proxy")
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _every(text: str) -> Tuple[str, int]:
    service, _, n = text.partition("=")
    return service, int(n)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="the emulator, http://HOST:PORT")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--every", type=_every, action="append", default=[],
                        metavar="SERVICE=N", help="fail every Nth request of dynamodb or s3")
    parser.add_argument("--burst", type=int, default=1,
                        help="fail each chosen request's next B - 1 retries too")
    args = parser.parse_args(argv)
    proxy = FaultProxy(args.target, FaultPlan(dict(args.every), args.burst), args.host,
                       args.port)
    print(f"forwarding {proxy.url} -> {args.target}; faults: {proxy.plan.every}", flush=True)
    try:
        proxy.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
