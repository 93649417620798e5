"""The exclusive lock on a data folder: one keyscope process (serve or worker) per folder.

The lock is the kernel's (``flock`` on ``DATA_DIR/keyscope.lock``), held by an open file
for the life of the process: it goes when the process goes, however it ends (SIGKILL
included), so there is no stale pid file to clean up. The file's text names the holder
(pid, host, command, since) so that a second process refusing to start can say who holds
it; the text is only a label, the lock alone decides.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from keyscope.domain.errors import DataDirInUse

LOCK_FILE = "keyscope.lock"
_MAX_LABEL = 4096


class DataDirLock:
    """The held lock; ``release`` (or the end of the process) lets another process take it."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def lock_data_dir(data_dir: Path, *, command: str) -> DataDirLock:
    """Take the folder's lock without waiting; ``DataDirInUse`` naming the holder if held."""
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by child processes
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise DataDirInUse(
            f"the data folder {data_dir.resolve()} is in use by {holder};"
            " stop that process or give this one another data folder",
            holder=holder,
        ) from None
    except BaseException:
        os.close(fd)
        raise
    label = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(label) + "\n").encode(), 0)
    return DataDirLock(fd, path)


def _holder(fd: int) -> str:
    """The holder as one phrase, from the label it wrote (or a plain one if it has none yet)."""
    try:
        label = json.loads(os.pread(fd, _MAX_LABEL, 0).decode())
        return (
            f"keyscope {label['command']} (pid {int(label['pid'])} on host {label['host']},"
            f" since {label['since']})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another keyscope process (it has not recorded its pid yet)"
