"""The real sender and fetcher (chalicelib.outbound.post and fetch) against real local
servers: the URL policy is applied to the address actually connected to (a second
DNS answer is never used), a post has one deadline however slowly its receiver
answers, reads no answer body, and survives any Retry-After. No fake here applies
the policy: these are the tests that would fail if the real check went away."""
import io
import socket
import time
from datetime import datetime, timezone

import pytest

from chalicelib.outbound import MAX_RETRY_AFTER_S, FetchFailed, _retry_after, fetch, post
from chalicelib.urls import Origin, UrlPolicy, UrlRejected
from tests.support.raw_server import RawServer, trickling
from tests.support.settings import settings_with

pytestmark = pytest.mark.integration

STRICT = UrlPolicy()  # a deployed stage's webhook policy: https, public addresses only
ANY_LOOPBACK = UrlPolicy(schemes=frozenset({"http", "https"}), loopback_only=True)


def answering(status_line: bytes, headers: bytes = b""):
    def answer(server, conn):
        server.send(conn, b"HTTP/1.1 " + status_line + b"\r\n" + headers +
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    return answer


@pytest.fixture
def server_factory():
    made = []

    def make(answer=answering(b"204 No Content")):
        made.append(RawServer(answer))
        return made[-1]
    yield make
    for server in made:
        server.stop()


def test_a_strict_policy_refuses_a_local_receiver_before_anything_is_sent(server_factory):
    server = server_factory()
    for url, policy in ((server.url(), STRICT),
                        (server.url().replace("http:", "https:"), STRICT),
                        # a public-looking name that resolves to this machine
                        (f"https://hooks.example.com:{server.port}/hook",
                         UrlPolicy(resolve=lambda host, port: ["127.0.0.1"]))):
        with pytest.raises(UrlRejected):
            post(policy, url, b"{}", {"Content-Type": "application/json"}, 2)
    assert server.requests == []
    # The same receiver under a policy that allows it gets the post.
    assert post(ANY_LOOPBACK, server.url(), b"{}", {}, 2).status == 204
    assert len(server.requests) == 1


@pytest.fixture
def rebinding_dns(monkeypatch):
    """A resolver that answers a public address for rebind.example.com the first time
    and this machine the next times (DNS rebinding), as the system resolver would."""
    real = socket.getaddrinfo
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "rebind.example.com":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = "93.184.215.14" if len(asked) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_post_connects_to_the_address_that_was_checked_not_a_second_answer(
        server_factory, rebinding_dns):
    server = server_factory()
    policy = UrlPolicy(schemes=frozenset({"http"}), origins=(
        Origin.parse(f"http://rebind.example.com:{server.port}"),))
    try:
        post(policy, server.url("rebind.example.com"), b"{}", {}, timeout_s=1)
    except FetchFailed:
        pass  # the checked (public) address does not answer here: that is fine
    assert server.requests == [], "the post reached the address of a second DNS answer"
    assert len(rebinding_dns) == 1


def test_a_fetch_connects_to_the_address_that_was_checked_not_a_second_answer(
        server_factory, rebinding_dns):
    server = server_factory(answering(b"200 OK"))
    policy = UrlPolicy(schemes=frozenset({"http"}), origins=(
        Origin.parse(f"http://rebind.example.com:{server.port}"),))
    with pytest.raises(FetchFailed):
        fetch(policy, server.url("rebind.example.com", "/out.png"), io.BytesIO(), 1000,
              timeout_s=1)
    assert server.requests == [] and len(rebinding_dns) == 1


def test_the_name_stays_the_host_header_when_the_address_is_pinned(server_factory):
    server = server_factory()
    policy = UrlPolicy(schemes=frozenset({"http"}), loopback_only=True,
                       resolve=lambda host, port: ["127.0.0.1"])
    assert post(policy, f"http://hooks.example.com:{server.port}/a b?x=1", b"{}", {}, 2) \
        .status == 204
    (head, body), = server.requests
    assert head.startswith("POST /a%20b?x=1 HTTP/1.1")
    assert f"Host: hooks.example.com:{server.port}" in head.split("\r\n")


def test_a_trickling_receiver_cannot_stretch_an_attempt_past_its_deadline(server_factory):
    """Each byte comes well within any per-read timeout; the attempt still ends at its
    deadline (the old sender waited for the whole trickle)."""
    server = server_factory(trickling(0.2, 30))
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="no answer within 1.5 s"):
        post(ANY_LOOPBACK, server.url(), b"{}", {}, timeout_s=1.5)
    assert time.monotonic() - started < 6


def test_a_huge_answer_is_not_read(server_factory):
    size = 300 * 1024 * 1024

    def huge(server, conn):
        server.send(conn, b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n" % size)
        chunk = b"x" * (1 << 20)
        for _ in range(size // len(chunk)):
            server.send(conn, chunk)
    server = server_factory(huge)
    assert post(ANY_LOOPBACK, server.url(), b"{}", {}, timeout_s=10).status == 500
    deadline = time.monotonic() + 10
    while server.stopped.is_set() is False and time.monotonic() < deadline:
        before = server.sent
        time.sleep(0.3)
        if server.sent == before:
            break  # the connection is gone: the server stopped sending
    assert server.sent < 64 * 1024 * 1024, "the sender read the receiver's whole answer"


@pytest.mark.parametrize("value,expected", [
    ("inf", None), ("nan", None), ("1e20", None), ("-5", None), ("soon", None), ("", None),
    (" 30 ", 30), ("0", 0), ("9" * 5000, MAX_RETRY_AFTER_S),
    ("Fri, 31 Dec 2099 23:59:59 GMT", MAX_RETRY_AFTER_S),
    ("Wed, 01 Jan 2030 00:01:00 GMT", 60), ("Wed, 01 Jan 2030 00:01:00 -0000", 60),
    ("Tue, 01 Jan 2029 00:00:00 GMT", 0), ("Fri, 31 Dec 99999 23:59:59 GMT", None)])
def test_retry_after_is_parsed_defensively(value, expected):
    assert _retry_after(value, now=datetime(2030, 1, 1, tzinfo=timezone.utc)) == expected


@pytest.mark.parametrize("header", [b"inf", b"1e20", b"Fri, 31 Dec 2099 23:59:59 GMT"])
def test_any_retry_after_from_a_real_receiver_gives_an_answer(server_factory, header):
    server = server_factory(answering(b"429 Slow Down", b"Retry-After: " + header + b"\r\n"))
    answer = post(ANY_LOOPBACK, server.url(), b"{}", {}, timeout_s=5)
    assert answer.status == 429
    assert answer.retry_after is None or 0 <= answer.retry_after <= MAX_RETRY_AFTER_S


@pytest.fixture
def local_webhook_policy(monkeypatch):
    """The local stage's, with the emulator on port 5050."""
    return settings_with(monkeypatch, {"VSL_ALLOW_PRIVATE_INPUTS": "true",
                                       "AWS_ENDPOINT_URL": "http://127.0.0.1:5050"}).webhook_policy


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3:8080/hook",
    "http://192.168.1.10:9000/hook", "http://172.16.0.1:9000/hook",
    "http://127.0.0.1:22/", "http://127.0.0.1:5050/", "http://localhost:5050/",
    "http://127.0.0.1/hook", "http://[::ffff:169.254.169.254]:9000/", "ftp://127.0.0.1:9000/"])
def test_the_local_stage_sends_webhooks_to_this_machine_only(url, local_webhook_policy):
    with pytest.raises(UrlRejected):
        local_webhook_policy.check(url)


def test_the_local_stage_still_reaches_a_receiver_on_this_machine(server_factory,
                                                                 local_webhook_policy):
    server = server_factory()
    assert post(local_webhook_policy, server.url(), b"{}", {}, 2).status == 204
    assert post(local_webhook_policy, server.url("localhost"), b"{}", {}, 2).status == 204
