"""CLI benchmark: start-up, and the whole ``analyze bigkeys`` process against redis-cli.

One command: ``.venv/bin/python bench/cli.py`` (options: ``--keys N``, ``--repeat N``,
``--startup-runs N``, ``--engines DIR``).

Every figure is the wall time of a whole process, as a user meets it: the console script
``.venv/bin/keyscope``, interpreter start-up, imports, discovery, the scan and the output.

1. Start-up: ``keyscope rdb report`` of the RDB file an empty redis-server saves, and
   ``keyscope analyze bigkeys redis://… --unthrottled --format json`` against that empty
   server; beside them ``python -c pass`` (the interpreter alone). Runs interleaved, medians.
2. Big keys: one redis-server (Debian's) loaded with the live bench's keyspace
   (``bench/live.py``, default 600 000 keys). Each round runs, back to back, Debian's
   ``redis-cli --bigkeys``, ``keyscope analyze bigkeys redis://… --unthrottled --format
   json``, and the ``redis-cli`` of every engine in ``--engines`` (default
   ``../shared/engines``) that has one; the figure is the median of the per-round ratios.

The 1-minute load average is recorded before and after each part: the machine is shared.
Results replace the ``cli`` section of BENCHMARKS.md (between its markers).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _markdown import write_section  # noqa: E402
from live import load  # noqa: E402
from tests.utils.servers import REDIS_CLI, RedisServer, start_server  # noqa: E402

KEYSCOPE = str(Path(sys.executable).parent / "keyscope")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""The contenders' environment: bytecode cached as an installed package has it (a warm-up run
writes it), not compiled again on every start."""
START, END = "<!-- cli:start -->", "<!-- cli:end -->"
COMPARED_ENGINES = ("redis-7.4.1",)
"""Engines whose redis-cli joins the big-key rounds (when present in --engines)."""


@dataclass
class Contender:
    name: str
    argv: list[str]
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def wall(argv: list[str], expect: str | None = None) -> float:
    """Seconds one process took, start to exit; its output must contain ``expect``."""
    t0 = time.perf_counter()
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=ENV)
    seconds = time.perf_counter() - t0
    if expect is not None and expect not in out.stdout:
        raise RuntimeError(f"{argv[0]} printed no {expect!r}: {out.stdout[-500:]}")
    return seconds


def load_average() -> float:
    return os.getloadavg()[0]


def startup(server: RedisServer, runs: int) -> tuple[list[Contender], tuple[float, float]]:
    with server.client() as c:
        c.save()
    empty_rdb = str(server.workdir / "dump.rdb")
    contenders = [
        Contender("python -c pass", [sys.executable, "-c", "pass"]),
        Contender("keyscope rdb report EMPTY.rdb", [KEYSCOPE, "rdb", "report", empty_rdb]),
        Contender(
            "keyscope analyze bigkeys redis://EMPTY --unthrottled --format json",
            [KEYSCOPE, "analyze", "bigkeys", server.url, "--unthrottled", "--format", "json"],
        ),
    ]
    before = load_average()
    for c in contenders:  # warm the page cache and the .pyc files first
        wall(c.argv)
    for _ in range(runs):
        for c in contenders:
            c.seconds.append(wall(c.argv))
    return contenders, (before, load_average())


@dataclass
class Round:
    seconds: dict[str, float]
    load: float


@dataclass
class Results:
    server_version: str
    started: list[Contender]
    startup_load: tuple[float, float]
    rounds: list[Round]
    clis: dict[str, str]


def bigkeys_rounds(server: RedisServer, repeat: int, clis: dict[str, str]) -> list[Round]:
    keyscope = [KEYSCOPE, "analyze", "bigkeys", server.url, "--unthrottled", "--format", "json"]
    rounds = []
    for i in range(repeat):
        print(f"big keys: round {i + 1}/{repeat}", flush=True)
        load_before = load_average()
        seconds = {}
        names = list(clis)
        order = [names[0], "keyscope", *names[1:]]
        for name in order:
            if name == "keyscope":
                seconds[name] = wall(keyscope, expect='"name"')
            else:
                argv = [clis[name], "-h", server.host, "-p", str(server.port), "--bigkeys"]
                seconds[name] = wall(argv, expect="Sampled")
        rounds.append(Round(seconds, max(load_before, load_average())))
    return rounds


def cli_versions(engines: Path) -> dict[str, str]:
    """``redis-cli X.Y.Z`` → its path: Debian's first, then the compared engines present."""
    found = {}
    for path in [REDIS_CLI, *(str(engines / e / "bin" / "redis-cli") for e in COMPARED_ENGINES)]:
        if Path(path).exists() or path == REDIS_CLI:
            version = subprocess.run([path, "--version"], check=True, capture_output=True,
                                     text=True).stdout.split()[1]  # fmt: skip
            label = "Debian " if path == REDIS_CLI else f"{Path(path).parent.parent.name} "
            found[f"{label}redis-cli {version}"] = path
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=600_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--startup-runs", type=int, default=30)
    parser.add_argument("--engines", type=Path, default=ROOT.parent / "shared" / "engines")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    clis = cli_versions(args.engines)

    with tempfile.TemporaryDirectory(prefix="keyscope-bench-") as tmp:
        server = start_server(Path(tmp) / "server")
        try:
            print("start-up ...", flush=True)
            started, startup_load = startup(server, args.startup_runs)
            print(f"loading {args.keys} keys ...", flush=True)
            load(server, args.keys)
            with server.client() as c:
                version = c.info("server")["redis_version"]
            rounds = bigkeys_rounds(server, args.repeat, clis)
        finally:
            server.stop()
    text = report(args, Results(version, started, startup_load, rounds, clis))
    print(text)
    if not args.no_write:
        write_section(ROOT / "BENCHMARKS.md", START, END, text)


def report(args: argparse.Namespace, res: Results) -> str:
    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f}"

    rounds, startup_load = res.rounds, res.startup_load
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    lines = [
        START,
        "## CLI: start-up, and the whole big-key scan process (bench/cli.py)",
        "",
        f"Command: `.venv/bin/python bench/cli.py --keys {args.keys} --repeat {args.repeat} "
        f"--startup-runs {args.startup_runs}` — {when}; redis-server {res.server_version} "
        f"on a free port, {platform.machine()} / {os.cpu_count()} CPUs shared with other work; "
        f"Python {platform.python_version()}. "
        "Every figure is the wall time of a whole process (`.venv/bin/keyscope`, the console "
        "script), from its start to its exit.",
        "",
        f"Start-up, {args.startup_runs} runs each, interleaved; load average "
        f"{startup_load[0]:.2f} before, {startup_load[1]:.2f} after:",
        "",
        "| command | median ms | best ms |",
        "|---|---:|---:|",
        *(f"| `{c.name}` | {ms(c.seconds)} | {min(c.seconds) * 1000:.0f} |" for c in res.started),
        "",
        f"Big keys, {args.keys:,} keys (the live bench's keyspace), one server, each round the "
        "contenders back to back:",
        "",
        "| round | load | " + " | ".join(rounds[0].seconds) + " |",
        "|---|---:|" + "---:|" * len(rounds[0].seconds),
        *(
            f"| {i + 1} | {r.load:.2f} | "
            + " | ".join(f"{s:.2f} s" for s in r.seconds.values())
            + " |"
            for i, r in enumerate(rounds)
        ),
        "",
    ]
    for name in res.clis:
        per_round = [r.seconds[name] / r.seconds["keyscope"] for r in rounds]
        lines.append(
            f"- keyscope vs {name} `--bigkeys`: **{statistics.median(per_round):.1f}×** "
            f"(median of the per-round ratios {', '.join(f'{x:.1f}' for x in per_round)}; "
            f"medians {statistics.median(r.seconds[name] for r in rounds):.2f} s against "
            f"{statistics.median(r.seconds['keyscope'] for r in rounds):.2f} s)."
        )
    lines += [
        "",
        WORK,
        END,
    ]
    return "\n".join(lines)


WORK = (
    "What each contender asks per key (from `src/redis-cli.c` of 7.0.15 and 7.4.1, where "
    "`--bigkeys` is the same code): redis-cli sends `SCAN cursor COUNT 10`, then a pipelined "
    "`TYPE` for the page's keys, then a pipelined size command (`STRLEN`, `LLEN`, `SCARD`, "
    "`ZCARD`, `HLEN`, `XLEN`) — two commands per key, three round trips per ten keys, no "
    "`MEMORY USAGE` (that is `--memkeys`; 7.4's `--keystats` does both). keyscope sends "
    "`SCAN cursor COUNT 1000` and one `MEMORY USAGE` per key, then `TYPE` and the size "
    "command only for the keys whose memory could make them big (the DCS rules also need "
    "memory), pages pipelined so the server never waits for the client. Both print a "
    "result the size of their report: redis-cli the biggest key per type and averages, "
    "keyscope every big key by the DCS rules."
)


if __name__ == "__main__":
    main()
