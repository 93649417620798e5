"""Streaming RDB reader and per-key memory estimate: ``iter_records(path_or_stream)``."""

from keyscope.rdb.reader import RdbReader, iter_records

__all__ = ["RdbReader", "iter_records"]
