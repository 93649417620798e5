"""Untrusted RDB files: mutated, truncated and spliced corpus files never break the reader.

Hypothesis picks a corpus file (every ``*.rdb`` of ``rdb-corpus/``) and a chain of
mutations: bit flips, bytes set to boundary values, huge declared lengths written over
length fields, truncation, splices of two files, inserted and duplicated chunks. Each input
goes to a worker subprocess (``tests/fuzz/worker.py``) that runs the offline analysis with
its address space capped at 1 GiB and a 5 s alarm, and that is killed if it still does not
answer. Every input must end in a report or ``RdbFormatError`` with an offset inside the
input: no other exception, no hang, no allocation the cap refuses.

``KEYSCOPE_FUZZ_EXAMPLES`` sets the number of inputs (default 200 in the default suite;
the dedicated run in RELIABILITY.md uses 10 000). A summary line ``FIGURE fuzz ...`` is
printed at the end (run with ``-s`` to see it).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.utils.corpus import CORPUS as REPO_CORPUS

pytestmark = pytest.mark.fuzz

CORPUS_ROOT = Path(os.environ.get("KEYSCOPE_RDB_CORPUS", str(REPO_CORPUS)))
CORPUS = sorted(CORPUS_ROOT.rglob("*.rdb")) if CORPUS_ROOT.exists() else []
EXAMPLES = int(os.environ.get("KEYSCOPE_FUZZ_EXAMPLES", "200"))
HARD_TIMEOUT_S = 20.0
"""The worker's own alarm is 5 s; past this the parent counts a hang and kills it."""

BOUNDARY_BYTES = [0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0x81, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3,
                  0xFE, 0xFF]  # fmt: skip
HUGE_LENGTHS = [
    b"\x80\xff\xff\xff\xff",  # 32-bit length 4 GiB - 1
    b"\x81\x7f\xff\xff\xff\xff\xff\xff\xff",  # 64-bit length
    b"\xbf\xff",  # 14-bit length 16383
    b"\xc3\xff\xff\xff\x7f\xff\xff\xff\x7f",  # LZF with huge compressed/plain lengths
]


def _reader_available() -> bool:
    import keyscope.rdb

    return hasattr(keyscope.rdb, "RdbReader") or hasattr(keyscope.rdb, "iter_records")


class Worker:
    """A ``worker.py`` subprocess; restarted after a hang or a crash."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        root = Path(__file__).resolve().parents[2]
        return subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz.worker"], cwd=root,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def run(self, data: bytes) -> dict[str, Any]:
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(len(data).to_bytes(4, "big") + data)
            process.stdin.flush()
        except BrokenPipeError:
            return self._died()
        ready, _, _ = select.select([process.stdout], [], [], HARD_TIMEOUT_S)
        if not ready:
            self.stop()
            return {"outcome": "hang"}
        line = process.stdout.readline()
        if not line:
            return self._died()
        result: dict[str, Any] = json.loads(line)
        return result

    def _died(self) -> dict[str, Any]:
        code = self.process.wait() if self.process is not None else None
        self._close_pipes()
        self.process = None
        return {"outcome": "crash", "returncode": code}

    def _close_pipes(self) -> None:
        if self.process is not None:
            for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
                if pipe is not None:
                    pipe.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self._close_pipes()
            self.process = None


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    if not CORPUS:
        pytest.skip(f"no RDB corpus under {CORPUS_ROOT}")
    if not _reader_available():
        pytest.skip("keyscope.rdb has no reader yet")
    running = Worker()
    yield running
    running.stop()


@st.composite
def mutated_rdb(draw: st.DrawFn) -> bytes:
    data = bytearray(CORPUS[draw(st.integers(0, len(CORPUS) - 1))].read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "byte", "huge", "truncate", "splice", "insert",
                                   "duplicate"]))  # fmt: skip
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[at] = draw(st.sampled_from(BOUNDARY_BYTES))
        elif op == "huge":
            value = draw(st.sampled_from(HUGE_LENGTHS))
            data[at : at + len(value)] = value
        elif op == "truncate":
            del data[at:]
        elif op == "splice":
            other = CORPUS[draw(st.integers(0, len(CORPUS) - 1))].read_bytes()
            cut = draw(st.integers(0, len(other)))
            data = data[:at] + bytearray(other[cut:])
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "duplicate":
            end = draw(st.integers(at, min(len(data), at + 256)))
            data[at:at] = data[at:end]
    return bytes(data)


def test_every_corpus_file_reads_cleanly(worker: Worker) -> None:
    outcomes = {path.name: worker.run(path.read_bytes())["outcome"] for path in CORPUS}
    assert set(outcomes.values()) <= {"report", "format_error"}, outcomes


def test_mutated_inputs_end_in_a_report_or_a_format_error_with_its_offset(
    worker: Worker,
) -> None:
    seen: Counter[str] = Counter()
    slowest = [0.0]
    peak_kb = [0]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(data=mutated_rdb())
    def check(data: bytes) -> None:
        result = worker.run(data)
        seen[result["outcome"]] += 1
        slowest[0] = max(slowest[0], result.get("seconds", 0.0))
        peak_kb[0] = max(peak_kb[0], result.get("peak_rss_kb", 0))
        assert result["outcome"] in ("report", "format_error"), (result, data[:64])
        if result["outcome"] == "format_error":
            assert 0 <= result["offset"] <= len(data), (result, len(data))

    check()
    print(f"FIGURE fuzz inputs={sum(seen.values())} outcomes={dict(seen)} "
          f"slowest_s={slowest[0]:.3f} worker_peak_rss_mb={peak_kb[0] / 1024:.0f}")  # fmt: skip
    assert seen["format_error"] > 0
