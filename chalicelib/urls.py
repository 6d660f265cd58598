"""The one URL policy for anything fetched on someone's say-so: input images
(which Replicate fetches), Replicate's outputs (which we fetch) and client
webhook targets (which we call).

A URL passes when its scheme, host name and port are allowed and every address
its host resolves to is a public one (IPv4 embedded in IPv6 is unwrapped
first); a checked URL keeps the addresses that were checked, which is all
chalicelib.outbound ever connects to. Errors never echo the URL.
"""
import ipaddress
import re
import socket
from dataclasses import dataclass, field
from typing import Callable, FrozenSet, List, Optional, Tuple
from urllib.parse import quote, urlsplit

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


def default_resolve(host: str, port: int) -> List[str]:
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
    resolve: Callable[[str, int], List[str]] = field(default=default_resolve, compare=False)

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
