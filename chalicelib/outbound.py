"""Outbound HTTP under the URL policy (chalicelib.urls): what we fetch (Replicate's
outputs) and post (client webhooks) connects to an address that was checked, never
to a second resolution of the name (DNS rebinding), keeping the name for the Host
header and the TLS server name. Fetches follow no redirect that leaves the policy,
a post's whole attempt has one deadline and reads no answer body, and errors never
echo the URL.
"""
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import BinaryIO, Optional
from urllib.parse import urljoin

from chalicelib.urls import DEFAULT_PORTS, CheckedUrl, UrlPolicy, UrlRejected, default_resolve


class FetchFailed(Exception):
    """A fetch did not produce the file. ``gone``: it no longer exists (retrying cannot help)."""

    def __init__(self, message: str, gone: bool = False):
        super().__init__(message)
        self.gone = gone


# ---- connections to checked addresses -------------------------------------------

CONNECT_TIMEOUT_S = 5.0


@lru_cache(maxsize=1)
def _default_tls():
    import ssl
    try:
        import certifi  # requests' bundle: the same roots as before on every platform
        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        return ssl.create_default_context()


def _pinned_connection(checked: CheckedUrl, timeout_s: float, tls=None):
    """An HTTP(S) connection to one of the checked addresses, named by the host:
    the Host header and the TLS server name (and certificate check) use the name,
    which is never resolved again (unless the policy allows any address)."""
    return _connection_class()(checked, timeout_s, tls)


@lru_cache(maxsize=1)
def _connection_class():
    import http.client  # here, not at import: the API's cold start never needs it

    class PinnedConnection(http.client.HTTPConnection):
        def __init__(self, checked: CheckedUrl, timeout_s: float, tls):
            super().__init__(checked.host, checked.port, timeout=timeout_s)
            self.checked, self.tls = checked, tls
            self.default_port = DEFAULT_PORTS[checked.scheme]  # no ":443" in Host
            self.connected = None  # the socket, kept for abort()
            self.aborted = False

        def connect(self):
            checked = self.checked
            addresses = checked.addresses or tuple(default_resolve(checked.host, checked.port))
            sock, error = None, None
            for address in addresses:
                ip = address.split("%", 1)[0]
                candidate = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET,
                                          socket.SOCK_STREAM)
                try:
                    candidate.settimeout(self.timeout)
                    candidate.connect((ip, checked.port))
                    sock = candidate
                    break
                except OSError as e:
                    candidate.close()
                    error = e
            if sock is None:
                raise error or OSError("no address to connect to")
            if checked.scheme == "https":
                sock = (self.tls or _default_tls()).wrap_socket(sock,
                                                                server_hostname=checked.host)
            self.sock = self.connected = sock

        def abort(self):
            """Unblock whatever waits on the socket (called from another thread)."""
            self.aborted = True
            if self.connected is not None:
                try:
                    socket.socket.shutdown(self.connected, socket.SHUT_RDWR)
                except OSError:
                    pass  # closed already

    return PinnedConnection


MAX_REDIRECTS = 3
REDIRECTS = (301, 302, 303, 307, 308)


def fetch(policy: UrlPolicy, url: str, out: BinaryIO, max_bytes: int,
          timeout_s: float = 30.0, chunk_size: int = 1 << 20, tls=None) -> int:
    """Stream ``url`` into ``out`` under ``policy``; returns the byte count.

    Redirects are followed by hand so that every hop is checked."""
    import http.client
    for _ in range(MAX_REDIRECTS + 1):
        try:
            checked = policy.check(url)
        except UrlRejected as e:
            raise FetchFailed(f"the address {e}", gone=True) from None
        conn = _pinned_connection(checked, CONNECT_TIMEOUT_S, tls)
        try:
            conn.request("GET", checked.target, headers={"User-Agent": "vsl-media/1"})
            conn.sock.settimeout(timeout_s)
            resp = conn.getresponse()
            location = resp.getheader("Location")
            if resp.status in REDIRECTS and location:
                url = urljoin(url, location)
                continue
            if resp.status in (404, 410):
                raise FetchFailed(f"the file is gone (HTTP {resp.status})", gone=True)
            if resp.status != 200:
                raise FetchFailed(f"HTTP {resp.status}")
            try:
                declared = int(resp.getheader("Content-Length") or 0)
            except ValueError:
                declared = 0
            if declared > max_bytes:
                raise FetchFailed(f"the file is {declared} bytes; the limit is {max_bytes}",
                                  gone=True)
            size = 0
            while chunk := resp.read(chunk_size):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchFailed(f"the file is over the limit of {max_bytes} bytes",
                                      gone=True)
                out.write(chunk)
            return size
        except (OSError, http.client.HTTPException) as e:
            raise FetchFailed(f"the download failed ({type(e).__name__})") from None
        finally:
            conn.close()
    raise FetchFailed("too many redirects", gone=True)


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: Optional[int] = None


def post(policy: UrlPolicy, url: str, body: bytes, headers: dict,
         timeout_s: float = 15.0, tls=None) -> Answer:
    """POST ``body`` under ``policy`` (UrlRejected if the target is not allowed);
    redirects are not followed: a 3xx is the answer. The whole attempt, from the
    connection to the answer's headers, ends after ``timeout_s`` however slowly
    the receiver trickles; the answer's body is never read (a receiver's huge
    answer costs nothing). FetchFailed when no answer came."""
    import http.client
    checked = policy.check(url)
    deadline = time.monotonic() + timeout_s
    conn = _pinned_connection(checked, min(CONNECT_TIMEOUT_S, timeout_s), tls)
    watchdog = threading.Timer(timeout_s, conn.abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("POST", checked.target, body=body, headers=headers)
        conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
        resp = conn.getresponse()
        if conn.aborted:  # cut at the deadline: what was read may look like an answer
            raise TimeoutError()
        return Answer(resp.status, _retry_after(resp.getheader("Retry-After")))
    except (OSError, http.client.HTTPException) as e:
        if conn.aborted or time.monotonic() >= deadline:
            raise FetchFailed(f"no answer within {timeout_s:g} s") from None
        raise FetchFailed(f"no answer ({type(e).__name__})") from None
    finally:
        watchdog.cancel()
        conn.close()


# Retry-After values past this are taken as this (the caller caps them further).
MAX_RETRY_AFTER_S = 7 * 86400


def _retry_after(value: Optional[str], now: Optional[datetime] = None) -> Optional[int]:
    """Whole seconds from a Retry-After header, delay-seconds or an HTTP date, from 0
    to MAX_RETRY_AFTER_S; None when it is neither (``inf``, ``1e20``, garbage)."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return MAX_RETRY_AFTER_S if len(value) > 7 else min(int(value), MAX_RETRY_AFTER_S)
    from email.utils import parsedate_to_datetime
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": the standard's way of saying UTC
        when = when.replace(tzinfo=timezone.utc)
    seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return int(min(max(seconds, 0), MAX_RETRY_AFTER_S))
