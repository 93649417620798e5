"""Offline benchmark: ``keyscope rdb report`` against ``redis-check-rdb`` on the same RDB file.

One command: ``.venv/bin/python bench/offline.py``. It writes the files with the tests' own
generator into ``bench/data/`` (reused when present; never committed): a mixed-type file of
``--size-mb`` (320 by default: about 1.58 million keys) and one ten times larger for the
flatness figure. Each contender runs ``--repeat`` times in a fresh subprocess on the same
file, in the same run, interleaved; wall time and peak RSS (``wait4`` rusage of that child)
are recorded and the medians compared. Contenders: the full report on the compiled path,
the per-key records (``rdb keys`` into /dev/null), ``redis-check-rdb``, and once the full
report on the pure-Python path (``KEYSCOPE_PURE_PYTHON=1``) for reference. Results replace
the section between ``<!-- offline:start -->`` and ``<!-- offline:end -->`` of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _markdown import write_section  # noqa: E402
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


REPORT = "keyscope rdb report"
KEYS = "keyscope rdb keys"
CHECK = "redis-check-rdb"
PURE = "keyscope rdb report (pure Python)"


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


def measure(contender: str, argv: list[str], path: Path, keys: int,
            env: dict[str, str] | None = None) -> Run:  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})  # fmt: skip
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
        (REPORT, [KEYSCOPE, "rdb", "report", str(path), "--format", "json"]),
        (KEYS, [KEYSCOPE, "rdb", "keys", str(path)]),
        (CHECK, [CHECK_RDB, str(path)]),
    ]


def median_run(runs: list[Run]) -> Run:
    first = runs[0]
    return Run(first.contender, first.file_mb, first.keys,
               statistics.median(r.wall_s for r in runs),
               statistics.median(r.peak_mib for r in runs),
               max(r.exit_code for r in runs))  # fmt: skip


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


def fast_path_status() -> str:
    out = subprocess.run([str(Path(sys.executable)), "-c",
                          "import keyscope.rdb as r; print(r.FAST_PATH_STATUS)"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    return out.stdout.strip() or out.stderr.strip()[-200:]


def _find(runs: list[Run], contender: str, file_mb: float) -> Run | None:
    return next((r for r in runs if r.contender == contender and r.file_mb == file_mb), None)


def render(runs: list[Run], command: str, repeat: int) -> str:
    sizes = sorted({r.file_mb for r in runs})
    base, big = sizes[0], sizes[-1]
    lines = [
        START,
        "## Offline analysis: `keyscope rdb report` vs `redis-check-rdb`",
        "",
        f"Command: `{command}` (run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).",
        f"Machine: {os.cpu_count()} CPU(s), {cpu_model()}; Python {platform.python_version()}; "
        f"{tool_version([CHECK_RDB, '--version'])}; keyscope reader: {fast_path_status()}.",
        "Each contender runs in a fresh subprocess on the same generated RDB file "
        "(`tests/utils/rdbgen.py`, mixed types and encodings, prefixes, TTLs), "
        f"{repeat} times interleaved; the table shows medians (the pure-Python report runs "
        "once). Wall time includes interpreter start-up; peak memory is the child's maximum "
        "RSS. `rdb keys` writes every record as a JSON line into /dev/null.",
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
    lines.append("")
    report, check = _find(runs, REPORT, base), _find(runs, CHECK, base)
    keys = _find(runs, KEYS, base)
    if report and check:
        ratio = report.wall_s / check.wall_s
        lines.append(f"- Full report on the {base:.0f} MiB file: **{ratio:.2f}x** the wall "
                     f"time of redis-check-rdb (target: at most 0.25x, issue 14); peak "
                     f"{report.peak_mib:.1f} MiB (target: at most 150 MiB).")  # fmt: skip
    report_big = _find(runs, REPORT, big)
    if report and report_big and big != base:
        growth = report_big.peak_mib / report.peak_mib - 1
        lines.append(f"- Flatness: on the file {big / base:.0f}x larger ({big:.0f} MiB) the "
                     f"report's peak is {report_big.peak_mib:.1f} MiB, {growth:+.1%} "
                     f"(target: at most +10%).")  # fmt: skip
    if report and keys:
        lines.append(f"- Records stream: `rdb keys` ran at {keys.keys / keys.wall_s:,.0f} keys/s, "
                     f"{report.wall_s / keys.wall_s:.2f}x the report's rate (target: at least "
                     f"1.00x).")  # fmt: skip
    pure = _find(runs, PURE, base)
    if report and pure:
        speedup = pure.wall_s / report.wall_s
        lines.append(f"- The pure-Python reference path took {pure.wall_s:.2f} s on the same "
                     f"file: the compiled path is {speedup:.1f}x faster.")  # fmt: skip
    lines.append(END)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=320.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-tenfold", action="store_true", help="skip the 10x file")
    parser.add_argument("--no-pure", action="store_true", help="skip the pure-Python run")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    sizes = [args.size_mb] if args.no_tenfold else [args.size_mb, args.size_mb * 10]
    runs: list[Run] = []
    for size in sizes:
        path, keys = generate(size)
        repeat = args.repeat if size == args.size_mb else max(1, args.repeat // 2)
        samples: dict[str, list[Run]] = {}
        for _ in range(repeat):
            for name, argv in contenders(path):
                run = measure(name, argv, path, keys)
                samples.setdefault(name, []).append(run)
                print(f"{name:36} {run.file_mb:8.1f} MiB {run.wall_s:8.2f} s "
                      f"{run.peak_mib:8.1f} MiB peak  exit {run.exit_code}")  # fmt: skip
        runs += [median_run(s) for s in samples.values()]
        if size == args.size_mb and not args.no_pure:
            argv = [KEYSCOPE, "rdb", "report", str(path), "--format", "json"]
            run = measure(PURE, argv, path, keys, env={"KEYSCOPE_PURE_PYTHON": "1"})
            print(f"{PURE:36} {run.file_mb:8.1f} MiB {run.wall_s:8.2f} s {run.peak_mib:8.1f} MiB")
            runs.append(run)
    command = ".venv/bin/python bench/offline.py" + (
        f" --size-mb {args.size_mb:g}" if args.size_mb != 320.0 else ""
    )
    section = render(runs, command, args.repeat)
    if not args.no_write:
        write_section(MD, START, END, section)
        print(f"wrote {MD.relative_to(ROOT)}")
    print(section)
    failed = [r for r in runs if r.exit_code != 0]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
