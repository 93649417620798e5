"""The compiled fast path of the reader, behind the same interfaces as the pure one.

``keyscope.rdb._speedups`` is a C extension (``rdb/native/``) built by ``pip install``
where a compiler is present; this module is the only one that imports it. It is chosen
once, at import: ``FAST_PATH_AVAILABLE`` says whether it loaded, and ``FAST_PATH_STATUS``
why not. ``KEYSCOPE_PURE_PYTHON=1`` keeps the pure-Python reader, which stays the
reference: ``tests/unit/rdb/test_fast_path.py`` holds both to identical records, reports
and rows.

Three passes are offered, each the twin of a pure-Python one: ``FastRdbReader`` (records,
as ``reader.RdbReader``), ``count_keys`` (the offline counters, as the rules of
``analysis/counting.py``) and ``write_rows`` (the rows of ``rdb keys``, as ``rows.py``).

A regular file (a path, or an open file object positioned on one) is read by file
descriptor, without the GIL, its checksum computed by a second thread; any other binary
stream (an upload, a replication stream, stdin) through ``readinto``.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO, Literal

from keyscope.domain.errors import RdbFormatError
from keyscope.domain.keys import KeyRecord

if TYPE_CHECKING:
    from types import ModuleType

    from keyscope.rdb._speedups import Reader
    from keyscope.rdb.counts import NativeCounts
    from keyscope.rdb.memory import MemoryModel

BATCH = 4096
"""Records fetched from the extension per call when iterating."""

Source = str | os.PathLike[str] | BinaryIO


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get("KEYSCOPE_PURE_PYTHON", "") not in ("", "0"):
        return None, "disabled by KEYSCOPE_PURE_PYTHON"
    try:
        from keyscope.rdb import _speedups
    except ImportError as exc:
        return None, f"not built ({exc})"
    _speedups.set_error_class(RdbFormatError)
    return _speedups, "compiled"


_native, FAST_PATH_STATUS = _load()
FAST_PATH_AVAILABLE = _native is not None


@contextlib.contextmanager
def _opened(
    source: Source, *, verify_checksum: bool = True, memory_model: MemoryModel | None = None
) -> Iterator[Reader]:
    """A native reader over ``source``; what was opened for it is released on exit."""
    if _native is None:
        raise RuntimeError(f"the compiled reader is unavailable: {FAST_PATH_STATUS}")
    model = memory_model.name if memory_model is not None else None
    if isinstance(source, (str, os.PathLike)):
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            reader = _native.Reader(fd, 0, os.fstat(fd).st_size, verify_checksum, model)
            try:
                yield reader
            finally:
                reader.close()
        finally:
            os.close(fd)
        return
    fd_info = _regular_file(source)
    if fd_info is None:
        reader = _native.Reader(source, 0, 0, verify_checksum, model)
        try:
            yield reader
        finally:
            reader.close()
        return
    fd, start, size = fd_info
    reader = _native.Reader(fd, start, size, verify_checksum, model)
    try:
        yield reader
    finally:
        reader.close()
        with contextlib.suppress(OSError, ValueError):  # leave it after what was read
            source.seek(start + reader.bytes_read)


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
        self,
        source: Source,
        *,
        verify_checksum: bool = True,
        memory_model: MemoryModel | None = None,
    ) -> None:
        self._chosen_model = memory_model
        self._context = _opened(source, verify_checksum=verify_checksum, memory_model=memory_model)
        self._native = self._context.__enter__()
        self._closed = False

    @property
    def memory_model(self) -> MemoryModel:
        """The model the estimates follow: the one given, else the writer's (by its aux fields)."""
        return native_model(self._native, self._chosen_model)

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

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._context.__exit__(None, None, None)

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


def native_model(reader: Reader, chosen: MemoryModel | None) -> MemoryModel:
    """The model a native reader follows: the one given, else the writer's by
    ``engines.model_for`` (``mem_model_for`` in C is its twin; ``reader.memory_model`` names
    the one C chose, and the differential tests hold the two to the same estimates)."""
    if chosen is not None:
        return chosen
    from keyscope.rdb.engines import model_for

    return model_for(reader.aux, reader.version, valkey_magic=reader.valkey)


def count_keys(
    source: Source,
    *,
    top_keys: int,
    capacity: int,
    delimiters: bytes,
    max_depth: int,
    now_ms: int,
    progress: Callable[[int, int], object] | None = None,
    every: int = 8192,
    memory_model: MemoryModel | None = None,
) -> tuple[NativeCounts, MemoryModel]:
    """Every key of ``source`` counted in C by the offline rules, and the memory model the
    counts followed; ``RdbFormatError`` if corrupt."""
    with _opened(source, memory_model=memory_model) as reader:
        counts = reader.aggregate(top_keys, capacity, delimiters, max_depth, now_ms, progress,
                                  every)  # fmt: skip
        return counts, native_model(reader, memory_model)


def write_rows(
    source: Source,
    target: Callable[[bytes], object] | int,
    fmt: Literal["jsonl", "csv"],
    *,
    memory_model: MemoryModel | None = None,
) -> int:
    """Every key of ``source`` as a row to ``target`` (a file descriptor, written without
    the GIL, or a ``write(bytes)``); the rows formatted before an error are written first."""
    with _opened(source, memory_model=memory_model) as reader:
        return reader.write_keys(target, fmt)
