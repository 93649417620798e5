"""Per-engine benchmark: keyscope against each engine's own tools, on that engine, same run.

One command: ``.venv/bin/python bench/engines.py`` (options: ``--keys N``, ``--repeat N``,
``--engines a,b``). For every engine of the test matrix that is present
(``tests/utils/engines.py``) it starts a server, loads the keyspace of ``bench/live.py``
server-side, and measures, interleaved round by round, each contender in a fresh process:

1. online: the engine's own ``redis-cli --bigkeys`` against keyscope's ``find_bigkeys``
   unthrottled (keys/s; keyscope timed around the engine call, redis-cli by wall time);
2. offline: after SAVE, the engine's own ``redis-check-rdb`` against ``keyscope rdb report``
   on that file (MB/s by wall time).

Ratios are medians of per-round ratios (both contenders back to back, under the same load).
Results replace the ``engines`` section of BENCHMARKS.md (between its markers).
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _markdown import write_section  # noqa: E402
from live import LOADER, run_engine  # noqa: E402
from tests.utils.engines import ALL_ENGINES, SPECS, EngineSpec  # noqa: E402
from tests.utils.servers import Binaries, RedisServer, start_server  # noqa: E402

START, END = "<!-- engines:start -->", "<!-- engines:end -->"
KEYSCOPE = str(Path(sys.executable).with_name("keyscope"))


def load(server: RedisServer, keys: int) -> None:
    with server.client(socket_timeout=120) as c:
        sha = c.script_load(LOADER)
        for first in range(0, keys, 20_000):
            c.evalsha(sha, 0, first, min(keys, first + 20_000) - 1)
        assert c.dbsize() == keys


def timed(argv: list[str], env: dict[str, str] | None) -> tuple[float, int, str]:
    started = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - started, out.returncode, (out.stdout + out.stderr)[-400:]


def check_rdb_argv(spec: EngineSpec, binaries: Binaries, path: Path) -> list[str] | None:
    tool = Path(binaries.server).with_name("redis-check-rdb")
    if spec.name == "redis-7.0":
        tool = Path("/usr/bin/redis-check-rdb")
    return [str(tool), str(path)] if os.access(tool, os.X_OK) else None


def bench_engine(spec: EngineSpec, keys: int, repeat: int) -> dict[str, Any]:
    binaries = spec.locate()
    if isinstance(binaries, str):
        return {"engine": spec.name, "skipped": binaries}
    env = binaries.environment()
    with tempfile.TemporaryDirectory(prefix=f"keyscope-bench-{spec.name}-") as tmp:
        server = start_server(Path(tmp), binaries=binaries)
        try:
            print(f"{spec.name}: loading {keys:,} keys ...", flush=True)
            load(server, keys)
            with server.client() as c:
                info = c.info("server")
            cli = [binaries.cli, "-h", server.host, "-p", str(server.port), "--bigkeys"]
            online: dict[str, list[float]] = {"cli": [], "keyscope": []}
            for i in range(repeat):
                cli_s, code, tail = timed(cli, env)
                if code != 0:
                    raise RuntimeError(f"{spec.name} redis-cli --bigkeys exited {code}: {tail}")
                online["cli"].append(cli_s)
                online["keyscope"].append(run_engine(server, "bigkeys", None, 1000)["seconds"])
                print(f"  online round {i + 1}: cli {cli_s:.2f} s, keyscope "
                      f"{online['keyscope'][-1]:.2f} s", flush=True)  # fmt: skip
            server.client().save()
            path = server.workdir / "dump.rdb"
        finally:
            server.stop()
        offline = bench_offline(spec, binaries, path, repeat, env)
        rdb_mb = path.stat().st_size / 1e6
    return {
        "engine": spec.name,
        "version": info.get("valkey_version") or info.get("redis_version"),
        "allocator": spec.allocator,
        "keys": keys,
        "online": online,
        "rdb_mb": rdb_mb,
        **offline,
    }


def bench_offline(
    spec: EngineSpec, binaries: Binaries, path: Path, repeat: int, env: dict[str, str] | None
) -> dict[str, Any]:
    check = check_rdb_argv(spec, binaries, path)
    report = [KEYSCOPE, "rdb", "report", str(path), "--format", "json"]
    times: dict[str, list[float]] = {"check": [], "keyscope": []}
    error = None
    for i in range(repeat):
        if check is not None:
            check_s, code, tail = timed(check, env)
            if code != 0:
                raise RuntimeError(f"{spec.name} redis-check-rdb exited {code}: {tail}")
            times["check"].append(check_s)
        ks_s, code, tail = timed(report, None)
        if code != 0:
            error = tail.strip().splitlines()[-1] if tail.strip() else f"exit {code}"
        else:
            times["keyscope"].append(ks_s)
        peer = f", redis-check-rdb {times['check'][-1]:.2f} s" if check else ""
        print(f"  offline round {i + 1}: keyscope {ks_s:.2f} s{peer}", flush=True)
    return {"offline": times, "offline_error": error}


def _ratio(slow: list[float], fast: list[float]) -> float:
    return statistics.median(s / f for s, f in zip(slow, fast, strict=True))


def render(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        START,
        "## Every engine (bench/engines.py)",
        "",
        f"Command: `.venv/bin/python bench/engines.py --keys {args.keys} --repeat {args.repeat}`"
        f" — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.machine()} / "
        f"{os.cpu_count()} CPUs shared with other work; Python {platform.python_version()}.",
        "",
        f"Per engine: {args.keys:,} keys of `bench/live.py`'s keyspace loaded server-side; online "
        "= the engine's own `redis-cli --bigkeys` vs keyscope `find_bigkeys` unthrottled (SCAN "
        "COUNT 1000), keys/s by median time; offline = after SAVE, the engine's own "
        "`redis-check-rdb` vs `keyscope rdb report` on that file, MB/s by median wall time "
        "(process start included). Ratios: median of the per-round ratios, keyscope first.",
        "",
        "| engine | version | redis-cli --bigkeys keys/s | keyscope keys/s | ratio | RDB MB "
        "| redis-check-rdb MB/s | keyscope rdb report MB/s | ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r['engine']} | absent: {r['skipped']} |  |  |  |  |  |  |  |")
            continue
        on = r["online"]
        cli_kps = r["keys"] / statistics.median(on["cli"])
        ks_kps = r["keys"] / statistics.median(on["keyscope"])
        row = (f"| {r['engine']} | {r['version']} | {cli_kps:,.0f} | {ks_kps:,.0f} "
               f"| **{_ratio(on['cli'], on['keyscope']):.1f}×** | {r['rdb_mb']:.1f} ")  # fmt: skip
        off = r["offline"]
        if r["offline_error"] is not None:
            reason = str(r["offline_error"]).rsplit(": ", 1)[-1]
            check = f"{r['rdb_mb'] / statistics.median(off['check']):,.1f}" if off["check"] else "–"
            row += f"| {check} | not read: {reason} | – |"
        else:
            ks_mbs = r["rdb_mb"] / statistics.median(off["keyscope"])
            if off["check"]:
                check_mbs = r["rdb_mb"] / statistics.median(off["check"])
                ratio = _ratio(off["check"], off["keyscope"])
                row += f"| {check_mbs:,.1f} | {ks_mbs:,.1f} | **{ratio:.1f}×** |"
            else:
                row += f"| – (the engine ships none) | {ks_mbs:,.1f} | – |"
        lines.append(row)
    lines += ["", END]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default=",".join(ALL_ENGINES))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    results = [bench_engine(SPECS[n], args.keys, args.repeat) for n in args.engines.split(",")]
    text = render(results, args)
    print(text)
    if not args.no_write:
        write_section(ROOT / "BENCHMARKS.md", START, END, text)


if __name__ == "__main__":
    main()
