"""The crawler's connections, beneath httpx: where they may go and how long a request may take.

Every host is resolved once per crawl and the connection is made to the address that was
checked, so a name cannot pass the check and then resolve elsewhere. An address on a loopback,
link-local, private, multicast or otherwise reserved network is refused unless a start address
resolves to that very address (a crawl of an intranet site, or of the tests' site on 127.0.0.1):
a public page must not lead the crawler to an internal service. Every request also has a total
deadline over connect, headers and body, which an idle timeout alone is not: a server that sends
a byte every few seconds never sits idle long enough to trip one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import httpcore
import httpx


class Refused(Exception):
    """The fetch was not made or not finished; the message says why."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
T = TypeVar("T")


def non_public(address: IPAddress) -> str | None:
    """What kind of internal address this is, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for kind in ("loopback", "link_local", "multicast", "private", "reserved", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"  # shared (100.64/10), documentation…


class Addresses:
    """Each host's addresses, resolved once, and the internal ones a start address allows."""

    def __init__(self) -> None:
        self._resolved: dict[str, list[IPAddress]] = {}
        self._allowed: set[IPAddress] = set()

    def resolve(self, host: str) -> list[IPAddress]:
        if host not in self._resolved:
            try:
                found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as error:
                raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from None
            addresses = dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found)
            self._resolved[host] = list(addresses)
        return self._resolved[host]

    def allow_start(self, host: str) -> None:
        """A start address's own internal addresses may be crawled (a host that does not
        resolve is left to fail when it is fetched)."""
        with contextlib.suppress(httpcore.ConnectError):
            self._allowed.update(a for a in self.resolve(host) if non_public(a))

    def checked(self, host: str) -> IPAddress:
        """The address to connect to; Refused when any address of the host is internal."""
        addresses = self.resolve(host)
        for address in addresses:
            if (kind := non_public(address)) and address not in self._allowed:
                raise Refused(f"{host} is a {kind} address ({address}), and no start address is")
        return addresses[0]


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sockets, connected to checked addresses and held to the request's deadline."""

    def __init__(self, addresses: Addresses, total_s: float) -> None:
        self.addresses, self.total_s = addresses, total_s
        self.deadline = math.inf  # time.monotonic() by which the request in flight must end
        self._sockets = httpcore.SyncBackend()

    def within_deadline(self, timeout: float | None) -> float:
        """The time one socket operation may take, or Refused once the deadline has passed."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Refused(f"no complete answer within {self.total_s:g} s")
        return left if timeout is None else min(timeout, left)

    def bounded(self, operation: Callable[[float], T], timeout: float | None) -> T:
        """One socket operation, given what is left of the deadline; one that times out because
        the deadline passed is Refused (not retried), an idle timeout stays a timeout."""
        try:
            return operation(self.within_deadline(timeout))
        except httpcore.TimeoutException:
            self.within_deadline(None)
            raise

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        address = str(self.addresses.checked(host))
        connect = self._sockets.connect_tcp
        stream = self.bounded(
            lambda wait: connect(address, port, wait, local_address, socket_options), timeout
        )
        return DeadlineStream(stream, self)

    def connect_unix_socket(self, *args: object, **kwargs: object) -> httpcore.NetworkStream:
        raise Refused("not a network address")


class DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, backend: GuardedBackend) -> None:
        self.stream, self.backend = stream, backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.backend.bounded(lambda wait: self.stream.read(max_bytes, wait), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.backend.bounded(lambda wait: self.stream.write(buffer, wait), timeout)

    def close(self) -> None:
        self.stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        secured = self.backend.bounded(
            lambda wait: self.stream.start_tls(ssl_context, server_hostname, wait), timeout
        )
        return DeadlineStream(secured, self.backend)

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that connects through ``backend``; httpx takes no
    network backend, so its pool is made again with one."""

    def __init__(self, backend: GuardedBackend) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=backend
        )
