"""Fetching outputs over real HTTP under the output policy: redirects are
checked hop by hop, sizes are capped, and errors never echo an address."""
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.outbound import FetchFailed, fetch
from chalicelib.urls import Origin, UrlPolicy
from local.stack import free_port

pytestmark = pytest.mark.integration

PAYLOAD = b"\x89PNG" + b"x" * 1000


@pytest.fixture(scope="module")
def servers():
    """Two loopback servers: the allowed origin, and another port it redirects to."""
    other_port = free_port()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            routes = {
                "/file.png": (200, {}, PAYLOAD),
                "/redirect-in": (302, {"Location": "/file.png"}, b""),
                "/redirect-out": (302, {"Location": f"http://127.0.0.1:{other_port}/file.png"},
                                  b""),
                "/redirect-metadata": (302, {"Location": "http://169.254.169.254/latest/"}, b""),
                "/loop": (302, {"Location": "/loop"}, b""),
                "/gone": (410, {}, b""),
                "/busy": (503, {}, b""),
            }
            status, headers, body = routes.get(self.path, (404, {}, b""))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    started = []
    for port in (free_port(), other_port):
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield started[0].server_address[1]
    for server in started:
        server.shutdown()


def policy(port):
    return UrlPolicy(schemes=frozenset({"http"}), allow_private=True,
                     origins=(Origin.parse(f"http://127.0.0.1:{port}"),))


def test_a_file_on_the_allowed_origin_is_fetched_and_a_redirect_within_it_followed(servers):
    for path in ("/file.png", "/redirect-in"):
        out = io.BytesIO()
        assert fetch(policy(servers), f"http://127.0.0.1:{servers}{path}", out, 10_000) == \
            len(PAYLOAD)
        assert out.getvalue() == PAYLOAD


@pytest.mark.parametrize("path", ["/redirect-out", "/redirect-metadata"])
def test_a_redirect_leaving_the_allowed_origins_is_refused(servers, path):
    with pytest.raises(FetchFailed) as err:
        fetch(policy(servers), f"http://127.0.0.1:{servers}{path}", io.BytesIO(), 10_000)
    assert err.value.gone
    assert "127.0.0.1" not in str(err.value) and "169.254" not in str(err.value)


def test_another_port_on_the_same_host_is_another_origin(servers):
    with pytest.raises(FetchFailed, match="not on an allowed origin"):
        fetch(policy(servers), f"http://127.0.0.1:{servers + 1}/file.png", io.BytesIO(), 10_000)


def test_gone_busy_too_big_and_redirect_loops(servers):
    base = f"http://127.0.0.1:{servers}"
    with pytest.raises(FetchFailed) as gone:
        fetch(policy(servers), base + "/gone", io.BytesIO(), 10_000)
    assert gone.value.gone
    with pytest.raises(FetchFailed) as busy:
        fetch(policy(servers), base + "/busy", io.BytesIO(), 10_000)
    assert not busy.value.gone  # worth retrying
    with pytest.raises(FetchFailed, match="limit is 100"):
        fetch(policy(servers), base + "/file.png", io.BytesIO(), 100)
    with pytest.raises(FetchFailed, match="too many redirects"):
        fetch(policy(servers), base + "/loop", io.BytesIO(), 10_000)
