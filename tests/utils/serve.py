"""``keyscope serve`` as a real subprocess (the uvicorn settings it runs with), raw sockets to it.

For the tests of what a connection can do to the service: memory (``peak_rss``), slow or
idle sockets, TLS. The process is the real command line, so its connection guards, its
request cap and its start-up warnings are the ones a user gets.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.utils.dcs import credentials_file
from tests.utils.servers import free_port

KEYSCOPE = str(Path(sys.executable).parent / "keyscope")


class Serve:
    """One ``keyscope serve`` on a free port over a fresh data folder."""

    def __init__(self, tmp_path: Path, *, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = (), tls_ca: Path | None = None) -> None:  # fmt: skip
        self.data = tmp_path / "keyscope-data"
        self.data.mkdir(parents=True, exist_ok=True)
        if not (self.data / "credentials.json").exists():
            credentials_file(self.data / "credentials.json")
        self.log = tmp_path / "serve.log"
        self.port = free_port()
        self.env = {**os.environ, "KEYSCOPE_WORKERS": "1", **(env or {})}
        self.args = args
        self.tls_ca = tls_ca
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls_ca else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def client(self, **kw: object) -> httpx.Client:
        verify: ssl.SSLContext | bool = True
        if self.tls_ca:
            verify = ssl.create_default_context(cafile=str(self.tls_ca))
        return httpx.Client(base_url=self.url, verify=verify, timeout=60, **kw)  # type: ignore[arg-type]

    def start(self) -> Serve:
        command = [KEYSCOPE, "serve", "--port", str(self.port), "--data-dir", str(self.data)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, *self.args], stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        deadline = time.monotonic() + 60
        with self.client() as http:
            while True:
                assert self.process.poll() is None, self.output()[-3000:]
                try:
                    if http.get("/healthz", timeout=1).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "keyscope serve did not start"
                time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def peak_rss(self) -> int:
        """The process's peak resident memory so far (VmHWM), in bytes."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM in /proc/PID/status")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def serving(tmp_path: Path, **kw: object) -> Iterator[Serve]:
    serve = Serve(tmp_path, **kw)  # type: ignore[arg-type]
    try:
        yield serve.start()
    finally:
        serve.stop()


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send_streaming(port: int, head: bytes, body: Iterable[bytes], *,
                   deadline_s: float = 120.0) -> tuple[bytes, int]:  # fmt: skip
    """Send ``head`` then the chunks of ``body`` until the server answers or hangs up.

    Returns the bytes of the answer (b"" if the server closed without one) and how many body
    bytes went out before that. Nothing of the body is kept: each chunk is sent and dropped.
    """
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=deadline_s) as sock:
        sock.sendall(head)
        stop = time.monotonic() + deadline_s
        try:
            for chunk in body:
                if select.select([sock], [], [], 0)[0] or time.monotonic() > stop:
                    break
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _read_answer(sock, stop), sent


def _read_answer(sock: socket.socket, stop: float) -> bytes:
    answer = b""
    sock.settimeout(max(stop - time.monotonic(), 1.0))
    try:
        while b"\r\n\r\n" not in answer or not _complete(answer):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (ConnectionResetError, TimeoutError):
        pass
    return answer


def _complete(answer: bytes) -> bool:
    head, _, rest = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value.strip())
    return True


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0 when there is none)."""
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def body_of(answer: bytes) -> bytes:
    return answer.partition(b"\r\n\r\n")[2]
