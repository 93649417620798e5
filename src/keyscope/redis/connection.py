"""Addresses, URLs and connections to one Redis node; redis-py errors become keyscope errors here.

Every connection opens with ``[AUTH ...] PING`` (see ``opening``): until the node has
answered both as Redis, whatever happens is ``transport.NOT_REDIS`` and nothing the other
end sent is repeated. After that, errors are translated here:

- refused, reset, closed, timed out                → ``NodeUnreachable(node=ip:port)``
- wrong or missing password (NOAUTH, WRONGPASS)   → ``NodeAuthFailed(node=ip:port)``
- a command the user's ACL denies (NOPERM)        → ``NodePermissionDenied``, naming the rule
- any other error reply, a garbled reply          → ``NodeError(node=ip:port)``

Messages never contain the password: the text of a foreign exception is scrubbed before it
is kept.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis

from keyscope import defaults
from keyscope.domain.errors import (
    InvalidInput,
    KeyscopeError,
    NodeAuthFailed,
    NodeError,
    NodePermissionDenied,
    NodeUnreachable,
)
from keyscope.redis import acl, opening, transport
from keyscope.redis import tls as tls_layer
from keyscope.redis.auth import NO_AUTH, Auth, Tls

_AUTH_MARKERS = ("NOAUTH", "WRONGPASS", "invalid password", "invalid username-password")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a node listens and how to log in; ``repr`` never shows the password."""

    host: str
    port: int
    auth: Auth = NO_AUTH

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def password(self) -> str | None:
        return self.auth.password


def parse_address(address: str) -> tuple[str, int]:
    """``"host:port"`` (``"[v6]:port"`` too) → ``(host, port)``; InvalidInput otherwise."""
    text = address.strip()
    host, sep, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidInput(f"not a host:port address: {text!r}", code="DCS.4002")
    return host, int(port_text)


def parse_url(url: str) -> Endpoint:
    """``redis[s]://[[user]:password@]host:port`` → Endpoint (``rediss``: TLS with the
    default settings); InvalidInput when malformed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("not a redis:// URL", code="DCS.4002") from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise InvalidInput(
            "not a redis:// URL (redis[s]://[[user]:password@]host:port)", code="DCS.4002"
        )
    password = unquote(parts.password) if parts.password is not None else None
    username = unquote(parts.username) if parts.username else None
    tls = Tls() if parts.scheme == "rediss" else None
    return Endpoint(parts.hostname, port or 6379, Auth(username, password or None, tls))


def _scrub(text: str, password: str | None) -> str:
    return text.replace(password, "***") if password else text


class ErrorReply(Exception):
    """The node answered a command with an error reply."""


@contextlib.contextmanager
def translated(node: str, password: str | None = None) -> Iterator[None]:
    """Run a block talking to ``node``; foreign errors leave it as NodeError subclasses."""
    try:
        yield
    except KeyscopeError:
        raise
    except ErrorReply as exc:
        text = _scrub(str(exc), password)
        if any(m.lower() in text.lower() for m in _AUTH_MARKERS):
            raise NodeAuthFailed(_auth_message(password), node=node) from None
        raise NodeError(f"error reply: {text}", node=node) from None
    except TimeoutError:
        raise NodeUnreachable("no reply in time", node=node) from None
    except ssl.SSLError as exc:
        why = exc.reason or "error"
        raise NodeUnreachable(f"the TLS connection failed ({why})", node=node) from None
    except OSError as exc:
        text = exc.strerror or str(exc) or type(exc).__name__
        raise NodeUnreachable(_scrub(f"not reachable: {text}", password), node=node) from None
    except hiredis.ProtocolError:
        raise NodeError("the reply broke the Redis protocol", node=node) from None


def _auth_message(password: str | None) -> str:
    if password is None:
        return "the node requires a password"
    return "the node refused the password"


def open_connection(
    endpoint: Endpoint,
    *,
    connect_timeout: float = defaults.CONNECT_TIMEOUT_S,
    socket_timeout: float = defaults.SOCKET_TIMEOUT_S,
) -> RawConnection:
    """A connected, authenticated connection to one node."""
    return RawConnection(endpoint, connect_timeout=connect_timeout, socket_timeout=socket_timeout)


def call(
    endpoint: Endpoint, *args: str | bytes | int, timeout: float = defaults.CONNECT_TIMEOUT_S
) -> Any:
    """Open, run one command, close; errors translated."""
    conn = open_connection(endpoint, connect_timeout=timeout, socket_timeout=timeout)
    try:
        return conn.command(*args)
    finally:
        conn.close()


def info(
    endpoint: Endpoint, section: str = "all", *, timeout: float = defaults.CONNECT_TIMEOUT_S
) -> dict[str, Any]:
    """INFO of one node as a flat dict (``db0`` and ``slave0`` values are dicts)."""
    raw = call(endpoint, "INFO", section, timeout=timeout)
    if not isinstance(raw, bytes):
        raise NodeError("INFO did not answer the way Redis does", node=endpoint.address)
    return parse_info(raw.decode("utf-8", "replace"))


def parse_info(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, _, value = line.partition(":")
        if "=" in value and (name.startswith(("db", "slave")) and name[-1].isdigit()):
            out[name] = dict(p.partition("=")[::2] for p in value.split(","))
        else:
            out[name] = value
    return out


class RawConnection:
    """A socket and a hiredis reader: packed batches out, replies in, nothing else.

    The scan loops send hundreds of commands per write and read their replies in bulk;
    redis-py's per-command machinery costs more than the server's work there. Error replies
    come back as ``hiredis.ReplyError`` values in the reply list; transport errors raise
    NodeUnreachable.
    """

    def __init__(
        self, endpoint: Endpoint, *, connect_timeout: float, socket_timeout: float
    ) -> None:
        self.endpoint = endpoint
        self._reader = hiredis.Reader()
        self._buffer = bytearray()
        marker = os.urandom(12).hex().encode()
        self.marker_command = pack("ECHO", marker)
        """Appended to a group of commands so that ``read_group`` can find where it ends."""
        self._marker = marker
        self._marker_reply = b"\r\n$%d\r\n%s\r\n" % (len(marker), marker)
        deadline = time.monotonic() + connect_timeout
        self._sock = transport.open_socket(endpoint.host, endpoint.port, endpoint.auth.tls,
                                           deadline)  # fmt: skip
        try:
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._open(deadline)
            self._sock.settimeout(socket_timeout)
        except BaseException:
            self.close()
            raise

    def _open(self, deadline: float) -> None:
        """Log in and PING in one write; the node must answer both as Redis by ``deadline``."""
        login, node = self.endpoint.auth, self.endpoint.address
        auth = login.auth_args()
        try:
            self._sock.settimeout(max(deadline - time.monotonic(), 0.001))
            self._sock.sendall((pack(*auth) if auth else b"") + pack("PING"))
            replies = self._opening_replies(2 if auth else 1, deadline)
        except OSError as exc:
            tls = login.tls
            refused = tls and tls_layer.refusal(exc, node, tls, handshake_done=True)
            raise (refused or transport.not_redis(node, exc)) from None
        except hiredis.ProtocolError as exc:
            raise transport.not_redis(node, type(exc).__name__) from None
        error = opening.judge(node, login, replies[0] if auth else None, replies[-1])
        if error is not None:
            raise error

    def _opening_replies(self, count: int, deadline: float) -> list[Any]:
        """``count`` replies, each wait cut to what is left of ``deadline``, in a few KB."""
        replies: list[Any] = []
        received = 0
        while True:
            reply = self._reader.gets()
            while reply is not False:
                replies.append(reply)
                if len(replies) == count:
                    return replies
                reply = self._reader.gets()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply to the opening in time")
            self._sock.settimeout(left)
            data = self._sock.recv(opening.OPENING_BYTES)
            received += len(data)
            if not data or received > opening.OPENING_BYTES:
                raise ConnectionResetError("closed, or too much, before the opening replies")
            self._reader.feed(data)

    def __repr__(self) -> str:
        return f"RawConnection({self.endpoint.address})"

    def send(self, data: bytes) -> None:
        with translated(self.endpoint.address, self.endpoint.password):
            self._sock.sendall(data)

    def _recv(self) -> bytes:
        with translated(self.endpoint.address, self.endpoint.password):
            data = self._sock.recv(1 << 18)
            if not data:
                raise ConnectionResetError("connection closed by the server")
        return data

    def read(self, count: int) -> list[Any]:
        """The next ``count`` replies, in order (error replies as values)."""
        replies: list[Any] = []
        reader = self._reader
        if self._buffer:
            reader.feed(bytes(self._buffer))
            self._buffer.clear()
        while True:
            reply = reader.gets()
            while reply is not False:
                replies.append(reply)
                if len(replies) == count:
                    return replies
                reply = reader.gets()
            reader.feed(self._recv())

    def read_group(self, count: int) -> list[Any]:
        """The ``count`` replies of a group that was sent followed by ``marker_command``.

        The reader is told to expect one array of ``count + 1`` elements and fed the bytes
        up to the marker's reply, so hiredis builds the whole list in C: no Python per reply.
        A marker pattern met inside a value only means feeding on to the next one.
        """
        reader, buffer, pattern = self._reader, self._buffer, self._marker_reply
        reader.feed(b"*%d\r\n" % (count + 1))
        start = 0
        while True:
            found = buffer.find(pattern, start)
            if found < 0:
                start = max(0, len(buffer) - len(pattern) + 1)
                buffer += self._recv()
                continue
            end = found + len(pattern)
            reader.feed(buffer, 0, end)  # type: ignore[arg-type]  # any buffer will do
            del buffer[:end]
            start = 0
            group = reader.gets()
            if group is not False:
                if group[-1] != self._marker:
                    self.check_denied(group[-1:], "ECHO")
                    raise NodeError("replies out of step", node=self.endpoint.address)
                replies: list[Any] = group[:-1]
                return replies

    def command(self, *args: str | bytes | int) -> Any:
        """Send one command and return its reply; an error reply raises."""
        self.send(pack(*args))
        (reply,) = self.read(1)
        if isinstance(reply, hiredis.ReplyError):
            self.check_denied([reply], *args)
            with translated(self.endpoint.address, self.endpoint.password):
                raise ErrorReply(str(reply))
        return reply

    def check_marker(self) -> None:
        """Send ``marker_command`` once and see it answered: a denied ECHO would otherwise
        leave ``read_group`` waiting for a marker that never comes."""
        if self.command("ECHO", self._marker) != self._marker:
            raise NodeError("ECHO did not answer the way Redis does", node=self.endpoint.address)

    def check_denied(self, replies: list[Any], *command: str | bytes | int) -> None:
        """Raise NodePermissionDenied, naming this node, if the ACL refused ``command``."""
        try:
            acl.check_replies(replies, command)
        except NodePermissionDenied as exc:
            raise exc.at(self.endpoint.address) from None

    def detach(self) -> socket.socket:
        """The socket, for a caller that reads a non-RESP stream next (replication)."""
        if self._buffer or self._reader.gets() is not False:
            raise NodeError("unexpected data before the stream", node=self.endpoint.address)
        return self._sock

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()


def _arg(value: str | bytes | int) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def pack(*args: str | bytes | int) -> bytes:
    """One command in RESP."""
    parts = [_arg(a) for a in args]
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(p), p))
    return b"".join(out)


def key_command_prefix(*args: str) -> bytes:
    """RESP head of a command whose last argument is a key: ``prefix + $len key`` completes it."""
    return b"".join(
        [b"*%d\r\n" % (len(args) + 1)] + [b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args]
    )
