"""Tiny TCP services that are not Redis: an SSH banner, an HTTP server, ``+OK`` to everything,
an error reply to everything, and a port that accepts and says nothing.

Each listens on 127.0.0.1 in a thread of its own until the ``with`` block ends; a group
started together counts the connections they hold open at once (``Tally.peak``), so a test
can see addresses being tried together without timing anything. Their answers carry a
marker, ``BANNER``, that must never come back to keyscope's caller.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

BANNER = "impostor-banner-7f3a"
"""Text each impostor sends; keyscope must not repeat it."""


Recv = Callable[[], bytes]
"""The next bytes the client sent (b"" once it closed or the impostor stops)."""


def _ssh(conn: socket.socket, recv: Recv) -> None:
    conn.sendall(f"SSH-2.0-OpenSSH_9.2p1 {BANNER}\r\n".encode())
    while recv():
        pass


def _http(conn: socket.socket, recv: Recv) -> None:
    if recv():
        conn.sendall(
            f"HTTP/1.1 400 Bad Request\r\nServer: {BANNER}\r\nContent-Length: 0\r\n\r\n".encode()
        )


def _ok(conn: socket.socket, recv: Recv) -> None:
    while data := recv():
        conn.sendall(b"+OK\r\n" * data.count(b"\n"))  # one per line: never leaves a wait


def _error(conn: socket.socket, recv: Recv) -> None:
    while data := recv():
        conn.sendall(f"-ERR {BANNER}\r\n".encode() * data.count(b"\n"))


def _silent(conn: socket.socket, recv: Recv) -> None:
    while recv():
        pass  # read what comes, answer nothing, until keyscope gives up and closes


BEHAVIOURS: dict[str, Callable[[socket.socket, Recv], None]] = {
    "ssh": _ssh,
    "http": _http,
    "ok": _ok,
    "error": _error,
    "silent": _silent,
}


class Tally:
    """Connections open now, and the most that were open at once, across a group."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = 0
        self.peak = 0


class Impostor:
    """One listening service; ``address`` is its ``127.0.0.1:port``."""

    def __init__(self, kind: str, tally: Tally) -> None:
        self.kind = kind
        self.tally = tally
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        tally = self.tally
        with tally.lock:
            tally.open += 1
            tally.peak = max(tally.peak, tally.open)
        conn.settimeout(0.1)

        def recv() -> bytes:
            while not self._stop.is_set():
                try:
                    return conn.recv(4096)
                except TimeoutError:
                    continue
            return b""

        try:
            with conn:
                BEHAVIOURS[self.kind](conn, recv)
        except OSError:
            pass
        finally:
            with tally.lock:
                tally.open -= 1

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._accepting.join()
        for thread in self._threads:
            thread.join()


@contextlib.contextmanager
def impostors(kind: str, count: int = 1) -> Iterator[tuple[list[Impostor], Tally]]:
    """``count`` impostors of one kind and the tally of their connections."""
    tally = Tally()
    started = [Impostor(kind, tally) for _ in range(count)]
    try:
        yield started, tally
    finally:
        for one in started:
            one.close()
