"""Whether a file is an RDB file the reader can read to its end: what an upload must pass."""

from __future__ import annotations

import os

from keyscope.domain import codes
from keyscope.domain.errors import InvalidInput

RDB_MAGICS = (b"REDIS", b"VALKEY")
"""The magic an RDB file starts with: Redis (and Valkey up to 8) and Valkey 9+."""


def check_rdb_file(path: str | os.PathLike[str]) -> int:
    """The number of keys in the RDB file at ``path``; raises if the reader cannot read it.

    ``InvalidInput`` when it does not start with an RDB magic, ``RdbFormatError`` (with the
    offset) when it is corrupt or truncated, its checksum included. Memory stays flat: the
    records stream past and are counted, never kept.
    """
    with open(path, "rb") as file:
        head = file.read(len(max(RDB_MAGICS, key=len)))
    if not head.startswith(RDB_MAGICS):
        raise InvalidInput(
            "the body is not an RDB file: it starts with neither REDIS nor VALKEY",
            code=codes.INVALID_REQUEST,
        )
    from keyscope.rdb import RdbReader

    reader = RdbReader(os.fspath(path))
    try:
        return sum(1 for _ in reader)
    finally:
        reader.close()
