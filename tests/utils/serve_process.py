"""A real ``keyscope serve`` process on a free port, for tests that talk to it from outside."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.utils.servers import free_port

KEYSCOPE = str(Path(sys.executable).with_name("keyscope"))
"""The console script of the environment the tests run in."""


@dataclass
class Serve:
    url: str
    process: subprocess.Popen[bytes]
    output: Path


@contextlib.contextmanager
def keyscope_serve(data_dir: Path, *, start_timeout_s: float = 60) -> Iterator[Serve]:
    """``keyscope serve`` on a free port with its data in ``data_dir``; stopped at the end."""
    port = free_port()
    output = data_dir.parent / f"serve-{port}.log"
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    args = [KEYSCOPE, "serve", "--port", str(port), "--data-dir", str(data_dir)]
    with output.open("wb") as sink:
        process = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"keyscope serve exited: {output.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("keyscope serve did not start listening")
            time.sleep(0.05)
        yield Serve(f"http://127.0.0.1:{port}", process, output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
