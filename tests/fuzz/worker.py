"""Runs the RDB reader on inputs sent over stdin, one at a time, under time and memory bounds.

Frames in: 4-byte big-endian length, then the input. One JSON line out per input:
``{"outcome": "report" | "format_error" | "other" | "timeout", ...}`` with the error's
offset, type and message, the seconds taken and the process's peak RSS so far. The address
space is capped (``RLIMIT_AS``), so a reader that trusted a declared length and allocated it
fails with MemoryError ("other") instead of taking the machine. Each input is read by the
pure-Python reader and, where it is built, by the compiled one too, which must agree
("mismatch" otherwise). Each input gets
``signal.alarm`` seconds, and the parent kills the worker if even that does not return.
"""

from __future__ import annotations

import io
import json
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MEMORY_CAP_BYTES = 1024 * 1024 * 1024
ALARM_S = 5


class _Alarm(Exception):
    pass


def _on_alarm(_signum: int, _frame: object) -> None:
    raise _Alarm


def _attempt(analyse: Callable[[], Any]) -> dict[str, Any]:
    from keyscope.domain.errors import RdbFormatError

    try:
        report = analyse()
        return {"outcome": "report", "keys": report.total_num, "report": report.to_dict()}
    except RdbFormatError as exc:
        return {"outcome": "format_error", "offset": exc.offset, "message": exc.message[:300]}


def run_one(data: bytes, scratch: Path) -> dict[str, Any]:
    """Analyse ``data`` with the pure reader and, where built, the compiled one (as a stream
    and by file descriptor); any difference between them is the outcome "mismatch"."""
    from keyscope.analysis.offline import OfflineOptions, analyze_rdb, analyze_records
    from keyscope.rdb import FAST_PATH_AVAILABLE, PureRdbReader

    options = OfflineOptions(now_ms=0)
    started = time.perf_counter()
    signal.alarm(ALARM_S)
    try:
        out = _attempt(lambda: analyze_records(PureRdbReader(io.BytesIO(data)), options))
        if FAST_PATH_AVAILABLE:
            scratch.write_bytes(data)
            for how, source in (("stream", io.BytesIO(data)), ("fd", scratch)):
                native = _attempt(lambda s=source: analyze_rdb(s, options))  # type: ignore[misc]
                if native != out:
                    out = {"outcome": "mismatch", "path": how, "pure": _brief(out),
                           "native": _brief(native)}  # fmt: skip
                    break
        out.pop("report", None)
    except _Alarm:
        out = {"outcome": "timeout"}
    except BaseException as exc:  # every other exception is a finding
        out = {"outcome": "other", "type": type(exc).__name__, "message": str(exc)[:300]}
    finally:
        signal.alarm(0)
    out["seconds"] = round(time.perf_counter() - started, 4)
    out["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def _brief(outcome: dict[str, Any]) -> str:
    return json.dumps(outcome)[:400]


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP_BYTES, MEMORY_CAP_BYTES))
    signal.signal(signal.SIGALRM, _on_alarm)
    import keyscope.analysis.offline  # noqa: F401  (imported before the first input is timed)

    stdin, stdout = sys.stdin.buffer, sys.stdout
    scratch = Path(tempfile.mkdtemp(prefix="keyscope-fuzz-")) / "input.rdb"
    while True:
        head = stdin.read(4)
        if len(head) < 4:
            return
        data = stdin.read(int.from_bytes(head, "big"))
        stdout.write(json.dumps(run_one(data, scratch)) + "\n")
        stdout.flush()


if __name__ == "__main__":
    main()
