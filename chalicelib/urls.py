"""The one URL policy for anything fetched on someone's say-so: input images
(which Replicate fetches), Replicate's outputs (which we fetch) and client
webhook targets (which we call).

A URL passes when its scheme, host name and port are allowed and every address
its host resolves to is a public one (IPv4 embedded in IPv6 is unwrapped
first). What we fetch or post connects to an address that was checked, never
to a second resolution of the name (DNS rebinding), keeping the name for the
Host header and the TLS server name. Fetches follow no redirect that leaves the
policy, a post's whole attempt has one deadline and reads no answer body, and
errors never echo the URL.
"""
import ipaddress
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import BinaryIO, Callable, FrozenSet, List, Optional, Tuple
from urllib.parse import quote, urljoin, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
# Names that mean this machine or a private network rather than a public host.
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan", ".intranet",
                     ".corp", ".svc", ".cluster.local")
# Ranges that Python's ``is_global`` lets through but that no public host uses.
_DENIED_V4 = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "192.0.0.0/24", "198.18.0.0/15", "100.64.0.0/10", "240.0.0.0/4"))
_V4_EMBEDDING_V6 = tuple(ipaddress.ip_network(n) for n in (
    "::/96",            # IPv4-compatible (deprecated)
    "::ffff:0:0/96",    # IPv4-mapped
    "::ffff:0:0:0/96",  # IPv4-translated
    "64:ff9b::/96",     # NAT64
))
_DENIED_V6 = tuple(ipaddress.ip_network(n) for n in (
    "64:ff9b:1::/48",   # local-use NAT64
    "2001::/32",        # Teredo: the client address is the tunnel's, not the host's
))
_6TO4 = ipaddress.ip_network("2002::/16")


class UrlRejected(Exception):
    """The URL is not allowed; the message says why and never repeats the URL."""


class FetchFailed(Exception):
    """A fetch did not produce the file. ``gone``: it no longer exists (retrying cannot help)."""

    def __init__(self, message: str, gone: bool = False):
        super().__init__(message)
        self.gone = gone


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _DENIED_V6):
            return False
        if ip in _6TO4:
            return is_public_address(str(ip.sixtofour))
        if any(ip in net for net in _V4_EMBEDDING_V6) and ip != ipaddress.ip_address("::"):
            return is_public_address(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
        return ip.is_global and not ip.is_multicast
    if any(ip in net for net in _DENIED_V4):
        return False
    return ip.is_global and not ip.is_multicast


def _default_resolve(host: str, port: int) -> List[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


@dataclass(frozen=True)
class Origin:
    """``scheme://host:port``; a host starting with ``*.`` matches its subdomains."""
    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> "Origin":
        parts = urlsplit(text)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an http(s) origin: {text!r}")
        return cls(parts.scheme, parts.hostname.lower(), parts.port or DEFAULT_PORTS[parts.scheme])

    def matches(self, scheme: str, host: str, port: int) -> bool:
        if (scheme, port) != (self.scheme, self.port):
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host


@dataclass(frozen=True)
class CheckedUrl:
    """An allowed URL, with the addresses its host had when it was checked: the
    only ones a connection may use (empty: a policy that allows any address)."""
    scheme: str
    host: str
    port: int
    addresses: Tuple[str, ...]
    # The request target: path and query, percent-encoded where they need it.
    target: str


# A DNS name: labels of letters, digits, hyphens (and underscores, seen in the wild),
# 1 to 63 characters each, at most 253 in all once IDNA-encoded.
_LABEL = re.compile(r"[a-z0-9_-]{1,63}")


def _valid_host_name(host: str) -> bool:
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:  # an empty label, one over 63 characters, or no valid IDNA
        return False
    return len(ascii_host) <= 253 and all(_LABEL.fullmatch(label)
                                          for label in ascii_host.split("."))


def _request_target(path: str, query: str) -> str:
    safe = "/%!$&'()*+,;=:@-._~"
    target = quote(path or "/", safe=safe)
    return f"{target}?{quote(query, safe=safe + '?')}" if query else target


@dataclass(frozen=True)
class UrlPolicy:
    schemes: FrozenSet[str] = frozenset({"https"})
    # Loopback and private addresses, any port (only the local stage's inputs and
    # outputs, where the simulator lives).
    allow_private: bool = False
    # Only this machine: loopback addresses on unprivileged ports (the local stage's
    # webhook targets), never one of ``denied_ports`` (the stage's own services).
    loopback_only: bool = False
    denied_ports: FrozenSet[int] = frozenset()
    # Only these origins (None: any public host on a standard port).
    origins: Optional[Tuple[Origin, ...]] = None
    resolve: Callable[[str, int], List[str]] = field(default=_default_resolve, compare=False)

    def check(self, url: str) -> CheckedUrl:
        """The allowed URL with the addresses it may be reached at; UrlRejected otherwise."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise UrlRejected("is not a valid URL") from None
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
        if scheme not in self.schemes:
            raise UrlRejected(f"must use {' or '.join(sorted(self.schemes))}")
        if not host:
            raise UrlRejected("has no host")
        if parts.username is not None or parts.password is not None:
            raise UrlRejected("must not contain credentials")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is None and not _valid_host_name(host):
            raise UrlRejected("has an invalid host name")
        port = port or DEFAULT_PORTS[scheme]
        if self.origins is not None:
            if not any(o.matches(scheme, host, port) for o in self.origins):
                raise UrlRejected("is not on an allowed origin")
        elif self.loopback_only:
            if port < 1024 or port in self.denied_ports:
                raise UrlRejected("must use a port from 1024 up that is not one of the "
                                  "stage's own services")
        elif not self.allow_private and port != DEFAULT_PORTS[scheme]:
            raise UrlRejected(f"must use the standard port ({DEFAULT_PORTS[scheme]})")
        target = _request_target(parts.path, parts.query)
        if self.allow_private:
            return CheckedUrl(scheme, host, port, (), target)
        if literal is None and not self.loopback_only and (
                "." not in host or host == "localhost" or host.endswith(_PRIVATE_SUFFIXES)):
            raise UrlRejected("must name a public host")
        try:
            addresses = [str(literal)] if literal is not None else self.resolve(host, port)
        except (OSError, UnicodeError):
            raise UrlRejected("has a host that does not resolve") from None
        if not addresses:
            raise UrlRejected("has a host that does not resolve")
        if self.loopback_only:
            if not all(_is_loopback(a) for a in addresses):
                raise UrlRejected("must point at this machine (loopback) on the local stage")
        elif not all(is_public_address(a) for a in addresses):
            raise UrlRejected("must not point at a loopback, private or reserved address")
        return CheckedUrl(scheme, host, port, tuple(addresses), target)


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


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
            addresses = checked.addresses or tuple(_default_resolve(checked.host, checked.port))
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
