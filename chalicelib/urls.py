"""The one URL policy for anything fetched on someone's say-so: input images
(which Replicate fetches), Replicate's outputs (which we fetch) and client
webhook targets (which we call).

A URL passes when its scheme, host and port are allowed and every address its
host resolves to is a public one (IPv4 embedded in IPv6 is unwrapped first).
Fetches follow no redirect that leaves the policy, and errors never echo the URL.
"""
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, FrozenSet, List, Optional, Tuple
from urllib.parse import urljoin, urlsplit

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
class UrlPolicy:
    schemes: FrozenSet[str] = frozenset({"https"})
    # Loopback and private addresses (only the local stage, where the simulator lives).
    allow_private: bool = False
    # Only these origins (None: any public host on a standard port).
    origins: Optional[Tuple[Origin, ...]] = None
    resolve: Callable[[str, int], List[str]] = field(default=_default_resolve, compare=False)

    def check(self, url: str) -> Tuple[str, str, int]:
        """(scheme, host, port) of an allowed URL; UrlRejected otherwise."""
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
        port = port or DEFAULT_PORTS[scheme]
        if self.origins is not None:
            if not any(o.matches(scheme, host, port) for o in self.origins):
                raise UrlRejected("is not on an allowed origin")
        elif not self.allow_private and port != DEFAULT_PORTS[scheme]:
            raise UrlRejected(f"must use the standard port ({DEFAULT_PORTS[scheme]})")
        if self.allow_private:
            return scheme, host, port
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is None and ("." not in host or host == "localhost"
                                or host.endswith(_PRIVATE_SUFFIXES)):
            raise UrlRejected("must name a public host")
        try:
            addresses = [str(literal)] if literal is not None else self.resolve(host, port)
        except (OSError, UnicodeError):
            raise UrlRejected("has a host that does not resolve") from None
        if not addresses or not all(is_public_address(a) for a in addresses):
            raise UrlRejected("must not point at a loopback, private or reserved address")
        return scheme, host, port


MAX_REDIRECTS = 3


def fetch(policy: UrlPolicy, url: str, out: BinaryIO, max_bytes: int,
          timeout_s: float = 30.0, chunk_size: int = 1 << 20) -> int:
    """Stream ``url`` into ``out`` under ``policy``; returns the byte count.

    Redirects are followed by hand so that every hop is checked."""
    import requests
    for _ in range(MAX_REDIRECTS + 1):
        try:
            policy.check(url)
        except UrlRejected as e:
            raise FetchFailed(f"the address {e}", gone=True) from None
        try:
            with requests.get(url, stream=True, timeout=(5.0, timeout_s),
                              allow_redirects=False) as resp:
                if resp.is_redirect and resp.headers.get("Location"):
                    url = urljoin(url, resp.headers["Location"])
                    continue
                if resp.status_code in (404, 410):
                    raise FetchFailed(f"the file is gone (HTTP {resp.status_code})", gone=True)
                if resp.status_code != 200:
                    raise FetchFailed(f"HTTP {resp.status_code}")
                declared = int(resp.headers.get("Content-Length") or 0)
                if declared > max_bytes:
                    raise FetchFailed(f"the file is {declared} bytes; the limit is {max_bytes}",
                                      gone=True)
                size = 0
                for chunk in resp.iter_content(chunk_size):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchFailed(f"the file is over the limit of {max_bytes} bytes",
                                          gone=True)
                    out.write(chunk)
                return size
        except requests.RequestException as e:
            raise FetchFailed(f"the download failed ({type(e).__name__})") from None
    raise FetchFailed("too many redirects", gone=True)


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: Optional[int] = None


def post(policy: UrlPolicy, url: str, body: bytes, headers: dict,
         timeout_s: float = 15.0) -> Answer:
    """POST ``body`` under ``policy`` (UrlRejected if the target is not allowed);
    redirects are not followed: a 3xx is the answer. FetchFailed when none came."""
    import requests
    policy.check(url)
    try:
        resp = requests.post(url, data=body, headers=headers, timeout=(5.0, timeout_s),
                             allow_redirects=False)
    except requests.RequestException as e:
        raise FetchFailed(f"no answer ({type(e).__name__})") from None
    return Answer(resp.status_code, _retry_after(resp.headers.get("Retry-After")))


def _retry_after(value: Optional[str]) -> Optional[int]:
    """Seconds from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0, int(float(value)))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime
    from datetime import datetime, timezone
    try:
        return max(0, int((parsedate_to_datetime(value) - datetime.now(timezone.utc))
                          .total_seconds()))
    except (TypeError, ValueError):
        return None
