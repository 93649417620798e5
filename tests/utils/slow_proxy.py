"""A TCP proxy on 127.0.0.1 that holds every reply of the server back by a fixed delay.

What a congested link or an overloaded proxy looks like to keyscope: every reply arrives,
each one late but within the socket timeout, so no single read ever times out.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator


def _pipe(source: socket.socket, sink: socket.socket, delay_s: float) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            if delay_s:
                time.sleep(delay_s)
            sink.sendall(data)
    for sock in (source, sink):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class SlowProxy:
    """Forwards to ``upstream``; the server's bytes wait ``delay_s`` per read before going on."""

    def __init__(self, upstream: tuple[str, int], delay_s: float) -> None:
        self.upstream = upstream
        self.delay_s = delay_s
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="slow-proxy", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(self.upstream, timeout=5)
            server.settimeout(None)
            self._sockets += [client, server]
            for args in ((client, server, 0.0), (server, client, self.delay_s)):
                threading.Thread(target=_pipe, args=args, daemon=True).start()

    def __enter__(self) -> SlowProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)  # no connection is accepted after this: close them all
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


@contextlib.contextmanager
def slow_proxy(upstream: tuple[str, int], delay_s: float) -> Iterator[SlowProxy]:
    with SlowProxy(upstream, delay_s) as proxy:
        yield proxy
