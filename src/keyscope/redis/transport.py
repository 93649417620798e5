"""The socket under every node connection: the allowlist, TCP, then TLS where it is set.

Whatever stops a connection before a node has shown it is Redis (refused, no route, a name
that does not resolve, silence, a handshake a non-TLS service breaks) ends in the same
``NodeUnreachable`` with the same one-line message, ``NOT_REDIS``: the service says "not a
Redis server" and nothing more, so it cannot be used to tell closed ports from open ones or
one kind of service from another. The operator's log keeps the local reason at debug level.
"""

from __future__ import annotations

import logging
import socket
import time

from keyscope.domain.errors import NodeUnreachable
from keyscope.redis import allowlist
from keyscope.redis import tls as tls_layer
from keyscope.redis.auth import Tls

log = logging.getLogger(__name__)

NOT_REDIS = (
    "not a Redis server, or none answered in time "
    "(check the address, the port and whether it needs TLS)"
)
"""The whole message for an address where no Redis answered, whatever was there instead."""


def not_redis(node: str, why: object = None) -> NodeUnreachable:
    """The one refusal of an address that did not answer as Redis; ``why`` goes to the log."""
    if why is not None:
        log.debug("%s: no Redis answered (%s)", node, why)
    return NodeUnreachable(NOT_REDIS, node=node)


def open_socket(host: str, port: int, tls: Tls | None, deadline: float) -> socket.socket:
    """A connected socket to ``host:port``, TLS done when ``tls`` is set, by ``deadline``.

    Raises ``AddressNotAllowed`` outside the operator's networks, ``TlsRefused`` for a
    certificate problem, ``InvalidInput`` for certificates that do not load, and
    ``NodeUnreachable`` (``NOT_REDIS``) for everything else.
    """
    node = f"{host}:{port}"
    try:
        sock = allowlist.connect(host, port, max(deadline - time.monotonic(), 0.001))
    except OSError as exc:
        raise not_redis(node, exc) from None
    if tls is None:
        return sock
    try:
        return tls_layer.wrap(sock, tls, host, deadline)
    except OSError as exc:
        refused = tls_layer.refusal(exc, node, tls, handshake_done=False)
        raise (refused or not_redis(node, exc)) from None
    finally:
        sock.close()  # detached into the TLS socket when the handshake worked: a no-op then
