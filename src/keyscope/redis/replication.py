"""A snapshot of a node over the replication protocol, the way ``redis-cli --rdb`` takes one.

keyscope connects as a replica would, over the same opening as every connection (TLS where
set, ``AUTH`` exactly as given, ``PING``): then ``REPLCONF capa eof`` and
``REPLCONF rdb-only 1`` (older servers refuse these and are served anyway), then ``SYNC``.
The node answers with newlines while it prepares the snapshot, then either ``$<length>``
and that many bytes (disk-based) or ``$EOF:<40-byte mark>`` and bytes up to that mark
(diskless). The payload is exposed as a read-only binary stream, so it can go to a file or
straight into the RDB reader while it arrives; nothing holds the whole file in memory.

Errors name the node (``host:port``), never the password: ``NodeUnreachable`` when it
does not answer, times out or closes the connection early, ``NodeAuthFailed`` when it
refuses the credentials, ``NodePermissionDenied`` when its ACL denies REPLCONF or SYNC.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

import hiredis

from keyscope import defaults
from keyscope.domain.errors import (
    NodeAuthFailed,
    NodeError,
    NodeUnreachable,
    RdbFormatError,
    TaskCancelled,
)
from keyscope.redis import acl
from keyscope.redis.auth import NO_AUTH, Auth
from keyscope.redis.connection import Endpoint, open_connection, pack

EOF_MARK_SIZE: Final = 40
_CHUNK: Final = 1 << 20


class ReplicationSnapshot(io.RawIOBase):
    """The RDB payload of one node's snapshot as a readable stream; use as a context manager.

    ``size`` is the announced length (None for a diskless transfer until it ends);
    ``bytes_received`` counts payload bytes handed out so far.
    """

    def __init__(self, host: str, port: int, *, auth: Auth = NO_AUTH,
                 connect_timeout: float = defaults.CONNECT_TIMEOUT_S,
                 timeout: float = defaults.REPLICATION_TIMEOUT_S,
                 deadline_s: float | None = None) -> None:  # fmt: skip
        super().__init__()
        self.node = f"{host}:{port}"
        self._deadline_s = deadline_s
        self._deadline = None if deadline_s is None else time.monotonic() + deadline_s
        self._timeout = timeout
        self.size: int | None = None
        self.bytes_received = 0
        self._buf = bytearray()
        self._mark: bytes | None = None
        self._remaining = 0
        self._done = False
        conn = open_connection(Endpoint(host, port, auth), connect_timeout=connect_timeout,
                               socket_timeout=timeout)  # fmt: skip
        try:
            for option in (("capa", "eof"), ("rdb-only", "1")):
                conn.send(pack("REPLCONF", *option))
                (reply,) = conn.read(1)
                if isinstance(reply, hiredis.ReplyError):  # older servers: served anyway
                    conn.check_denied([reply], "REPLCONF", *option)
            self._sock = conn.detach()
            self._send("SYNC")
            self._read_payload_header()
        except BaseException:
            conn.close()
            raise

    # -- protocol ---------------------------------------------------------------------------

    def _lost(self, exc: OSError) -> NodeUnreachable:
        if isinstance(exc, TimeoutError):
            return NodeUnreachable("timed out waiting for the snapshot", node=self.node)
        return NodeUnreachable(f"connection failed: {exc.strerror or exc}", node=self.node)

    def _recv(self) -> bytes:
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise NodeUnreachable(
                    f"timed out: the snapshot did not finish within its deadline of"
                    f" {self._deadline_s:g} s (KEYSCOPE_BACKUP_DEADLINE_S)",
                    node=self.node,
                )
            with contextlib.suppress(OSError):
                self._sock.settimeout(min(self._timeout, left))  # a silent node ends on time
        try:
            data = self._sock.recv(_CHUNK)
        except OSError as exc:
            raise self._lost(exc) from exc
        if not data:
            raise NodeUnreachable(
                f"connection closed after {self.bytes_received} bytes of the snapshot",
                node=self.node,
            )
        return data

    def _readline(self) -> bytes:
        while True:
            pos = self._buf.find(b"\n")
            if pos >= 0:
                line = bytes(self._buf[:pos]).rstrip(b"\r")
                del self._buf[: pos + 1]
                return line
            if len(self._buf) > 64 * 1024:
                raise NodeError("protocol error: reply line too long", node=self.node)
            self._buf += self._recv()

    def _send(self, *args: str) -> None:
        try:
            self._sock.sendall(pack(*args))
        except OSError as exc:
            raise self._lost(exc) from exc

    def _refused(self, reply: bytes) -> NodeError:
        text = reply[1:].decode(errors="replace")
        denied = acl.denial(text, ("SYNC",))
        if denied is not None:
            return denied.at(self.node)
        if text.startswith(("NOAUTH", "WRONGPASS")):
            return NodeAuthFailed("authentication refused", node=self.node)
        return NodeError(f"refused the snapshot: {text}", node=self.node)

    def _read_payload_header(self) -> None:
        line = self._readline()
        while not line or line.startswith(b"+"):
            line = self._readline()  # keep-alive newlines while the node prepares the snapshot
        if line.startswith(b"-"):
            raise self._refused(line)
        if line.startswith(b"$EOF:"):
            if len(line) != 5 + EOF_MARK_SIZE:
                raise NodeError("protocol error: bad EOF mark", node=self.node)
            self._mark = line[5:]
            self._find_mark()
            return
        try:
            if not line.startswith(b"$"):
                raise ValueError(line[:40])
            self.size = self._remaining = int(line[1:])
        except ValueError as exc:
            raise NodeError(
                f"protocol error: unexpected reply {line[:40]!r}", node=self.node
            ) from exc

    # -- payload ----------------------------------------------------------------------------

    def _fill(self) -> None:
        """Receive more payload; in diskless mode, stop at the EOF mark."""
        if self._mark is None:
            self._buf += self._recv()
            return
        # Only called with at most EOF_MARK_SIZE bytes held back, so each search is short.
        while not self._done and len(self._buf) <= EOF_MARK_SIZE:
            self._buf += self._recv()
            self._find_mark()

    def _find_mark(self) -> None:
        assert self._mark is not None
        end = self._buf.find(self._mark)
        if end >= 0:
            del self._buf[end:]  # the mark and whatever the node sends after it
            self._done = True
            self.size = self.bytes_received + len(self._buf)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._mark is None:
            if self._remaining == 0:
                return 0
            if not self._buf:
                self._fill()
            n = min(len(view), len(self._buf), self._remaining)
            self._remaining -= n
        else:
            if not self._done and len(self._buf) <= EOF_MARK_SIZE:
                self._fill()
            avail = len(self._buf) if self._done else len(self._buf) - EOF_MARK_SIZE
            n = min(len(view), avail)
        view[:n] = self._buf[:n]
        del self._buf[:n]
        self.bytes_received += n
        return n

    def chunks(self, size: int = _CHUNK) -> Iterator[bytes]:
        """The payload in chunks as it arrives."""
        while chunk := self.read(size):
            yield chunk

    def close(self) -> None:
        sock = getattr(self, "_sock", None)  # absent when the opening itself failed
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
        super().close()


class _Tee(io.RawIOBase):
    """Reads from ``source`` and writes every byte read to ``sink`` as well."""

    def __init__(self, source: io.RawIOBase, sink: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self._sink = sink

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        n = self._source.readinto(buffer) or 0
        if n:
            self._sink.write(memoryview(buffer)[:n])
        return n


def save_snapshot(host: str, port: int, dest: Path, *, auth: Auth = NO_AUTH,
                  connect_timeout: float = defaults.CONNECT_TIMEOUT_S,
                  timeout: float = defaults.REPLICATION_TIMEOUT_S,
                  consume: Callable[[BinaryIO], object] | None = None,
                  cancelled: Callable[[], bool] | None = None,
                  deadline_s: float | None = None) -> int:  # fmt: skip
    """Write a snapshot of the node to ``dest`` (mode 0600, atomically); return its size.

    With ``consume``, the bytes are also handed to ``consume`` as a stream while they arrive
    (e.g. the RDB reader), so the file is written and analysed in one pass. If ``consume``
    raises ``RdbFormatError``, the file is still completed and kept (it is what the node
    sent) and the error is raised afterwards; any other error abandons the file.
    ``cancelled`` is asked between chunks: when it answers True the transfer stops with
    ``TaskCancelled`` and the file is abandoned.
    ``deadline_s`` bounds the whole snapshot (NodeUnreachable, "timed out", past it).
    """
    partial = dest.with_name(dest.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    format_error: RdbFormatError | None = None
    try:
        with os.fdopen(fd, "wb") as out, ReplicationSnapshot(
            host, port, auth=auth,
            connect_timeout=connect_timeout, timeout=timeout, deadline_s=deadline_s,
        ) as snap:  # fmt: skip
            if consume is not None:
                try:
                    consume(io.BufferedReader(_Tee(snap, out), _CHUNK))
                except RdbFormatError as exc:
                    format_error = exc
            for chunk in snap.chunks():
                if cancelled is not None and cancelled():
                    raise TaskCancelled(f"{snap.node}: the backup was cancelled")
                out.write(chunk)
            written = snap.bytes_received
        os.replace(partial, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    if format_error is not None:
        raise format_error
    return written
