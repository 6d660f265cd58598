"""The API on one machine: Chalice's local gateway, as `chalice local` runs it,
with what API Gateway does for the deployed API (gateway responses, HEAD) and a
listen backlog that survives a burst of simultaneous clients (the standard
library's default of 5 resets connections under a 150-request burst)."""
import argparse
import json
import os
import re

from chalice.cli.factory import CLIFactory
from chalice.local import (ChaliceRequestHandler, CustomLocalChalice, LocalChalice,
                           LocalDevServer, ThreadedHTTPServer)

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _error_body(error: str, details: str, code: str) -> bytes:
    return json.dumps({"error": error, "details": details, "code": code}).encode()


def _gateway_headers() -> dict:
    """The headers of the gateway's own answers: JSON, readable by browsers on the
    stage's CORS origin (Terraform gives the deployed gateway responses the same)."""
    from chalicelib.config import get_settings
    origin = get_settings().cors_origin
    return {"Content-Type": "application/json",
            **({"Access-Control-Allow-Origin": origin} if origin else {})}


class GatewayRequestHandler(ChaliceRequestHandler):
    """Answers as the deployed gateway does: an unknown route is 404 NOT_FOUND (API
    Gateway's MISSING_AUTHENTICATION_TOKEN response is mapped so in Terraform), an
    unknown method is 405 in the documented format, both with the stage's CORS
    origin, and HEAD carries no body."""

    def _send_error_response(self, error) -> None:
        if error.CODE == 403 and b"Missing Authentication Token" in (error.body or b""):
            body = _error_body("Not found", f"No route {self.command} {self.path.split('?')[0]}.",
                               "NOT_FOUND")
            return self._send_http_response(404, _gateway_headers(), body)
        return super()._send_error_response(error)

    def _allowed_methods(self) -> str:
        """The methods of the route the path names (for a 405's Allow header)."""
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        for route, methods in self.local_gateway._app_object.routes.items():
            pattern = "^" + re.sub(r"{[^/]+}", "[^/]+", route.rstrip("/") or "/") + "$"
            if re.match(pattern, path):
                return ", ".join(sorted(methods))
        return ""

    def send_error(self, code, message=None, explain=None):
        # The standard library's HTML errors (501 for TRACE and unknown methods, 400 for
        # a malformed request line) in the documented format instead.
        allow = ""
        if code == 501:
            code, error, error_code = 405, "Method not allowed", "METHOD_NOT_ALLOWED"
            allow = self._allowed_methods()
        else:
            error, error_code = "Bad request", "VALIDATION_ERROR"
        body = _error_body(error, message or f"{self.command} is not supported.", error_code)
        self.send_response(code)
        if allow:
            self.send_header("Allow", allow)
        for name, value in _gateway_headers().items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_http_response_with_body(self, code, headers, body) -> None:
        if self.command == "HEAD":
            if not isinstance(body, bytes):
                body = body.encode("utf-8")
            headers = dict(headers)
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            return self._send_headers(headers)
        return super()._send_http_response_with_body(code, headers, body)


class BurstTolerantServer(ThreadedHTTPServer):
    request_queue_size = 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args()
    from local.iam import install_audit_from_env
    install_audit_from_env()  # the API function's calls, checked and recorded (local/iam.py)
    # environ=os.environ: the stage's environment_variables apply to this process.
    factory = CLIFactory(PROJECT_DIR, environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=args.stage)
    app = config.chalice_app
    # What chalice.local.create_local_server does to make the app serve locally.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    server = LocalDevServer(app, config, args.host, args.port,
                            handler_cls=GatewayRequestHandler, server_cls=BurstTolerantServer)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
