"""Which networks a Redis address may point at, checked where every node connection is opened.

keyscope connects to whatever ``host:port`` a caller registers; without a limit, a caller
could use it to probe the service's own network (a port scanner with a DCS front end). The
operator sets the allowed networks once (``KEYSCOPE_ALLOWED_NETWORKS``, a comma-separated
list of CIDRs; unset means every address is allowed). ``connect`` resolves the host, refuses
the connection if any resolved address lies outside those networks, and connects to the
address it checked, so a name cannot resolve to one address for the check and another for
the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from keyscope.domain import codes
from keyscope.domain.errors import InvalidInput

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class _Policy:
    """The process-wide list; None allows every address."""

    networks: tuple[Network, ...] | None = None


class AddressNotAllowed(InvalidInput):
    """The address resolves outside the networks the operator allowed."""

    default_code = codes.ADDRESS_NOT_ALLOWED


def parse_networks(text: str | Iterable[str]) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1/32"`` (or a list of CIDRs) as networks; ValueError if malformed."""
    items = text.split(",") if isinstance(text, str) else list(text)
    networks = []
    for item in items:
        if item.strip():
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
    return tuple(networks)


def configure(networks: Iterable[Network] | None) -> None:
    """Allow only ``networks`` from now on in this process; None allows every address."""
    _Policy.networks = None if networks is None else tuple(networks)


def allowed_networks() -> tuple[Network, ...] | None:
    return _Policy.networks


def is_allowed(ip: str) -> bool:
    allowed = _Policy.networks
    if allowed is None:
        return True
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in allowed)


def connect(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to ``host:port``, refused with ``AddressNotAllowed`` outside the list."""
    if _Policy.networks is None:
        return socket.create_connection((host, port), timeout=timeout)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    outside = sorted({str(info[4][0]) for info in infos if not is_allowed(str(info[4][0]))})
    if outside:
        raise AddressNotAllowed(
            f"{host}:{port} resolves to {', '.join(outside)}, outside the networks this "
            "keyscope may connect to (KEYSCOPE_ALLOWED_NETWORKS)"
        )
    error: OSError | None = None
    for family, kind, proto, _name, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError(f"{host} has no address")
