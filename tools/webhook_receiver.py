"""A local receiver for VSL Media's webhooks: prints each event whose signature
verifies (Standard Webhooks), so a developer can watch their webhooks.

    .venv/bin/python -m tools.webhook_receiver --port 9000 --secret whsec_...
    # then: curl -X POST $API/webhooks -d '{"url": "http://127.0.0.1:9000/hook"}' ...

Without --secret it reads the client's secret from GET /webhooks/secret with
VSL_CLIENT_KEY (the client's own key: a key bound to a user may not read it) or
else VSL_API_KEY, at VSL_BASE_URL (default http://127.0.0.1:8000); `source
.local/env` sets them for `make run`'s stack. It needs the project's packages (.venv).
Answers 200 to verified events and 401 otherwise; tests script other answers per
path.
"""
import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional


class WebhookReceiver:
    """An HTTP server that verifies, records and answers webhooks."""

    def __init__(self, secrets: List[str], host: str = "127.0.0.1", port: int = 0,
                 echo=None):
        self.secrets = list(secrets)
        # {"path", "id", "payload", "verified", "body", "headers"}
        self.events: List[dict] = []
        self.answers: Dict[str, List[int]] = {}  # path -> statuses to answer, in order
        self.echo = echo
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                payload = receiver.verify(body, dict(self.headers))
                with receiver.lock:
                    receiver.events.append({"path": self.path, "id": self.headers.get("webhook-id"),
                                            "payload": payload, "verified": payload is not None,
                                            "body": body, "headers": dict(self.headers)})
                    scripted = receiver.answers.get(self.path)
                    status = scripted.pop(0) if scripted else (200 if payload else 401)
                if receiver.echo and payload is not None:
                    receiver.echo(payload)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def verify(self, body: bytes, headers: dict) -> Optional[dict]:
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError
        for secret in self.secrets:
            try:
                return Webhook(secret).verify(body, headers)
            except (WebhookVerificationError, ValueError):
                continue
        return None

    def start(self) -> "WebhookReceiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def received(self, path: str = None, job_id: str = None) -> List[dict]:
        with self.lock:
            return [e for e in self.events if (path is None or e["path"] == path) and
                    (job_id is None or (e["payload"] or {}).get("jobId") == job_id)]


class SetupError(Exception):
    """The receiver cannot start; the message says what to do."""


def _client_secret(env=os.environ) -> str:
    """The client's signing secret from GET /webhooks/secret, or SetupError saying why not."""
    import urllib.error
    import urllib.request
    key = env.get("VSL_CLIENT_KEY") or env.get("VSL_API_KEY")
    if not key:
        raise SetupError("no signing secret: pass --secret whsec_..., or export VSL_CLIENT_KEY "
                         "(the client's key; and VSL_BASE_URL) to read yours from GET "
                         "/webhooks/secret; `source .local/env` sets them for make run's stack")
    base = (env.get("VSL_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    where = base if env.get("VSL_BASE_URL") else f"{base} (VSL_BASE_URL is not set)"
    request = urllib.request.Request(f"{base}/webhooks/secret", headers={"X-API-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())["key"]
    except urllib.error.HTTPError as e:
        raise SetupError(f"the API at {where} refused to give the secret: HTTP {e.code} "
                         f"(it takes the client's own key, VSL_CLIENT_KEY: a key bound to "
                         f"a user is refused)") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise SetupError(f"could not reach the API at {where}: {reason}; is `make run` "
                         f"running, or is VSL_BASE_URL wrong?") from None
    except (ValueError, KeyError):
        raise SetupError(f"{where} did not answer GET /webhooks/secret with a secret: is "
                         f"VSL_BASE_URL the API's address?") from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", action="append",
                        help="whsec_... (repeatable); default: GET /webhooks/secret")
    args = parser.parse_args(argv)
    try:
        import standardwebhooks  # noqa: F401  (verifies every event)
    except ImportError:
        print("webhook_receiver: the project's packages are missing from this Python; run it "
              "from the repository with .venv/bin/python -m tools.webhook_receiver (make run "
              "or make install creates .venv)", file=sys.stderr)
        return 2
    try:
        secrets = args.secret or [_client_secret()]
    except SetupError as e:
        print(f"webhook_receiver: {e}", file=sys.stderr)
        return 2
    receiver = WebhookReceiver(secrets, args.host, args.port,
                               echo=lambda p: print(json.dumps(p), flush=True))
    print(f"listening on {receiver.url}; verified events are printed, one per line",
          file=sys.stderr, flush=True)
    try:
        receiver.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
