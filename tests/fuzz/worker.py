"""Runs the RDB reader on inputs sent over stdin, one at a time, under time and memory bounds.

Frames in: 4-byte big-endian length, then the input. One JSON line out per input:
``{"outcome": "report" | "format_error" | "other" | "timeout", ...}`` with the error's
offset, type and message, the seconds taken and the process's peak RSS so far. The address
space is capped (``RLIMIT_AS``), so a reader that trusted a declared length and allocated it
fails with MemoryError ("other") instead of taking the machine; each input gets
``signal.alarm`` seconds, and the parent kills the worker if even that does not return.
"""

from __future__ import annotations

import io
import json
import resource
import signal
import sys
import time
from typing import Any

MEMORY_CAP_BYTES = 1024 * 1024 * 1024
ALARM_S = 5


class _Alarm(Exception):
    pass


def _on_alarm(_signum: int, _frame: object) -> None:
    raise _Alarm


def run_one(data: bytes) -> dict[str, Any]:
    from keyscope.analysis.offline import analyze_rdb
    from keyscope.domain.errors import RdbFormatError

    started = time.perf_counter()
    signal.alarm(ALARM_S)
    try:
        report = analyze_rdb(io.BytesIO(data))
        out: dict[str, Any] = {"outcome": "report", "keys": getattr(report, "total_num", None)}
    except RdbFormatError as exc:
        out = {"outcome": "format_error", "offset": exc.offset, "message": exc.message[:300]}
    except _Alarm:
        out = {"outcome": "timeout"}
    except BaseException as exc:  # every other exception is a finding
        out = {"outcome": "other", "type": type(exc).__name__, "message": str(exc)[:300]}
    finally:
        signal.alarm(0)
    out["seconds"] = round(time.perf_counter() - started, 4)
    out["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP_BYTES, MEMORY_CAP_BYTES))
    signal.signal(signal.SIGALRM, _on_alarm)
    import keyscope.analysis.offline  # noqa: F401  (imported before the first input is timed)

    stdin, stdout = sys.stdin.buffer, sys.stdout
    while True:
        head = stdin.read(4)
        if len(head) < 4:
            return
        data = stdin.read(int.from_bytes(head, "big"))
        stdout.write(json.dumps(run_one(data)) + "\n")
        stdout.flush()


if __name__ == "__main__":
    main()
