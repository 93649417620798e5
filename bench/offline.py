"""Offline benchmark: ``keyscope rdb report`` against ``redis-check-rdb`` on the same RDB file.

One command: ``.venv/bin/python bench/offline.py [--size-mb 320]``. It writes the file with
the tests' own generator into ``bench/data/`` (reused when present), then runs each
contender in a fresh subprocess on that file, in the same run, and records wall time and
peak RSS (``wait4`` rusage of that child). A file a tenth the size is measured too, to show
whether memory stays flat as the file grows. Results replace the section between
``<!-- offline:start -->`` and ``<!-- offline:end -->`` of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.utils.rdbgen import write_rdb  # noqa: E402

DATA = ROOT / "bench" / "data"
MD = ROOT / "BENCHMARKS.md"
START, END = "<!-- offline:start -->", "<!-- offline:end -->"
CHECK_RDB = shutil.which("redis-check-rdb") or "/usr/bin/redis-check-rdb"
KEYSCOPE = str(Path(sys.executable).with_name("keyscope"))


@dataclass(frozen=True)
class Run:
    contender: str
    file_mb: float
    keys: int
    wall_s: float
    peak_mib: float
    exit_code: int


def generate(size_mb: float) -> tuple[Path, int]:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"mixed-{size_mb:g}mb-seed0.rdb"
    keys_file = path.with_suffix(".keys")
    if not path.exists() or not keys_file.exists():
        started = time.perf_counter()
        stats = write_rdb(path, size_mb=size_mb, seed=0)
        keys_file.write_text(str(stats.keys))
        took = time.perf_counter() - started
        print(f"generated {path.name}: {stats.keys:,} keys, {stats.bytes:,} bytes in {took:.1f} s")
    return path, int(keys_file.read_text())


def measure(contender: str, argv: list[str], path: Path, keys: int) -> Run:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        print(f"{contender} exited {code}: {err.strip()[:400]}", file=sys.stderr)
    if proc.stderr:
        proc.stderr.close()
    # ru_maxrss is in KiB on Linux.
    size_mb = path.stat().st_size / 1024 / 1024
    return Run(contender, size_mb, keys, wall, usage.ru_maxrss / 1024, code)


def contenders(path: Path) -> list[tuple[str, list[str]]]:
    return [
        ("keyscope rdb report", [KEYSCOPE, "rdb", "report", str(path), "--format", "json"]),
        ("redis-check-rdb", [CHECK_RDB, str(path)]),
    ]


def tool_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        return "unknown"
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.stdout or out.stderr else "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def render(runs: list[Run], command: str) -> str:
    lines = [
        START,
        "## Offline analysis: `keyscope rdb report` vs `redis-check-rdb`",
        "",
        f"Command: `{command}` (run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).",
        f"Machine: {os.cpu_count()} CPU(s), {cpu_model()}; Python {platform.python_version()}; "
        f"{tool_version([CHECK_RDB, '--version'])}.",
        "Each contender runs in a fresh subprocess on the same generated RDB file "
        "(`tests/utils/rdbgen.py`, mixed types and encodings, prefixes, TTLs); "
        "peak memory is the child's maximum RSS.",
        "",
        "| contender | file MiB | keys | wall s | peak RSS MiB | keys/s | exit |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        rate = r.keys / r.wall_s if r.wall_s else 0
        lines.append(
            f"| {r.contender} | {r.file_mb:.1f} | {r.keys:,} | {r.wall_s:.2f} | "
            f"{r.peak_mib:.1f} | {rate:,.0f} | {r.exit_code} |"
        )
    big = [r for r in runs if r.file_mb == max(x.file_mb for x in runs)]
    ks = next((r for r in big if r.contender.startswith("keyscope")), None)
    ref = next((r for r in big if r.contender == "redis-check-rdb"), None)
    if ks and ref and ref.wall_s:
        lines += ["", f"On the largest file keyscope took {ks.wall_s / ref.wall_s:.2f}x the wall "
                      f"time of redis-check-rdb."]  # fmt: skip
    lines.append(END)
    return "\n".join(lines)


def write_section(section: str) -> None:
    text = MD.read_text() if MD.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    MD.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=320.0)
    parser.add_argument("--no-small", action="store_true", help="skip the 1/10 file")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    sizes = [args.size_mb] if args.no_small else [args.size_mb / 10, args.size_mb]
    runs: list[Run] = []
    for size in sizes:
        path, keys = generate(size)
        for name, argv in contenders(path):
            run = measure(name, argv, path, keys)
            runs.append(run)
            print(f"{name:22} {run.file_mb:8.1f} MiB {run.wall_s:8.2f} s "
                  f"{run.peak_mib:8.1f} MiB peak  exit {run.exit_code}")  # fmt: skip
    command = ".venv/bin/python bench/offline.py" + (
        f" --size-mb {args.size_mb:g}" if args.size_mb != 320.0 else ""
    )
    section = render(runs, command)
    if not args.no_write:
        write_section(section)
        print(f"wrote {MD.relative_to(ROOT)}")
    failed = [r for r in runs if r.exit_code != 0]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
