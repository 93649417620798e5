"""The compiled fast path of the reader, behind the same interface as the pure one.

``keyscope.rdb._speedups`` is a C extension built by ``pip install`` where a compiler is
present. It is chosen once, at import: ``FAST_PATH_AVAILABLE`` says whether it loaded, and
``FAST_PATH_STATUS`` why not. ``KEYSCOPE_PURE_PYTHON=1`` keeps the pure-Python reader, which
stays the reference: ``tests/unit/rdb/test_fast_path.py`` holds both to identical records.

A regular file (a path, or an open file object positioned on one) is read by file
descriptor, without the GIL, its checksum computed by a second thread; any other binary
stream (an upload, a replication stream, stdin) through ``readinto``.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, BinaryIO, Protocol, cast

from keyscope.domain.errors import RdbFormatError
from keyscope.domain.keys import KeyRecord

BATCH = 4096
"""Records fetched from the extension per call when iterating."""


class NativeReader(Protocol):
    version: int
    valkey: bool
    functions: int
    bytes_read: int
    finished: bool
    aux: dict[str, bytes]
    modules: dict[str, int]

    def next_batch(self, n: int) -> list[tuple[Any, ...]]: ...

    def aggregate(  # noqa: PLR0917 - mirrors the C signature
        self,
        top_keys: int,
        capacity: int,
        delimiters: bytes,
        max_depth: int,
        now_ms: int,
        progress: Callable[[int, int], None] | None = None,
        every: int = 8192,
    ) -> dict[str, Any]: ...

    def write_keys(self, write: Callable[[bytes], object] | int, fmt: str) -> int: ...

    def close(self) -> None: ...


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get("KEYSCOPE_PURE_PYTHON", "") not in ("", "0"):
        return None, "disabled by KEYSCOPE_PURE_PYTHON"
    try:
        from keyscope.rdb import _speedups  # type: ignore[attr-defined]
    except ImportError as exc:
        return None, f"not built ({exc})"
    _speedups.set_error_class(RdbFormatError)
    return cast(ModuleType, _speedups), "compiled"


_native, FAST_PATH_STATUS = _load()
FAST_PATH_AVAILABLE = _native is not None


def open_native(
    source: str | os.PathLike[str] | BinaryIO, *, verify_checksum: bool = True
) -> tuple[NativeReader, Callable[[], None]]:
    """A native reader over ``source`` and a function that releases what was opened for it."""
    if _native is None:
        raise RuntimeError(f"the compiled reader is unavailable: {FAST_PATH_STATUS}")
    if isinstance(source, (str, os.PathLike)):
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            size = os.fstat(fd).st_size
            reader = _native.Reader(fd, 0, size, verify_checksum)
        except BaseException:
            os.close(fd)
            raise

        def close_fd() -> None:
            reader.close()
            os.close(fd)

        return cast(NativeReader, reader), close_fd
    fd_info = _regular_file(source)
    if fd_info is not None:
        fd, start, size = fd_info
        reader = _native.Reader(fd, start, size, verify_checksum)

        def after_fd() -> None:
            reader.close()
            with contextlib.suppress(OSError, ValueError):  # leave it after what was read
                source.seek(start + reader.bytes_read)

        return cast(NativeReader, reader), after_fd
    reader = _native.Reader(source, 0, 0, verify_checksum)
    return cast(NativeReader, reader), reader.close


def _regular_file(source: BinaryIO) -> tuple[int, int, int] | None:
    """(fd, position, size) of a seekable file object on a regular file, else None."""
    try:
        fd = source.fileno()
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or not source.seekable():
            return None
        start = source.tell()
    except (AttributeError, OSError, ValueError):
        return None
    if start > info.st_size:
        return None
    return fd, start, info.st_size


class FastRdbReader:
    """``RdbReader`` on the compiled path: the same records, attributes and errors."""

    def __init__(
        self, source: str | os.PathLike[str] | BinaryIO, *, verify_checksum: bool = True
    ) -> None:
        self._native, self._release = open_native(source, verify_checksum=verify_checksum)
        self._closed = False

    @property
    def version(self) -> int:
        return self._native.version

    @property
    def valkey(self) -> bool:
        return self._native.valkey

    @property
    def aux(self) -> dict[str, bytes]:
        return self._native.aux

    @property
    def functions(self) -> int:
        return self._native.functions

    @property
    def modules(self) -> dict[str, int]:
        return self._native.modules

    @property
    def bytes_read(self) -> int:
        return self._native.bytes_read

    @property
    def native(self) -> NativeReader:
        return self._native

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._release()

    def __enter__(self) -> FastRdbReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[KeyRecord]:
        try:
            next_batch = self._native.next_batch
            while batch := next_batch(BATCH):
                for row in batch:
                    yield KeyRecord(*row)
        finally:
            self.close()
