"""Load run: a fixed rate of mixed create/list/show requests against ``keyscope serve``.

One command: ``.venv/bin/python bench/load.py`` (options: ``--rate 200 --seconds 60``,
``--mode embedded|scaleout``).

It starts its own redis-servers on free loopback ports (each loaded with ``--keys`` keys,
allkeys-lfu so every analysis kind runs) and either a ``keyscope serve`` subprocess
(``embedded``: SQLite, in-process workers) or, with ``--mode scaleout``, two ``keyscope serve``
API processes and two ``keyscope worker`` processes (one analysis at a time each, so two
run at once as in the embedded mode) on a scratch database of the local
PostgreSQL (the one the scale-out suite uses; requests alternate between the two APIs by
client thread). It registers the servers, and then sends
``rate`` requests per second for ``seconds`` seconds, open loop (each request has its due
time; a late one is sent late, never skipped): 10 % creates (big-key, hot-key, expire scans
on a random instance), 45 % lists, 45 % shows of a task created earlier. Analyses really
run on the servers throughout. Every loop is bounded in count and time and the run stops
by itself; all traffic stays on 127.0.0.1.

An error is a transport failure, a 5xx, or any 4xx other than the one a create may rightly
get (400 DCS.4960: an analysis of that kind already runs on the instance). Prints the
figures as a Markdown table and one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scaleout.fleet import Fleet, postgres_unreachable_reason, scratch_database  # noqa: E402
from tests.utils.dcs import SignedClient, credentials_file  # noqa: E402
from tests.utils.servers import RedisServer, free_port, start_server  # noqa: E402

KEYSCOPE = str(Path(sys.executable).parent / "keyscope")
CONFLICT = "DCS.4960"
KINDS = (("bigkey-task", "bigkey-task"), ("hotkey-task", "hotkey-task"),
         ("scan-expire-keys-task", None))  # fmt: skip
LISTS = ("bigkey-tasks", "hotkey-tasks", "auto-expire/histories")


class LeanResponse:
    """What the load loop reads of an answer (the part of ``httpx.Response`` it uses)."""

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class LeanHttp:
    """One keep-alive HTTP/1.1 connection on the standard library, for ``SignedClient``.

    The generator shares the machine's two cores with the service; httpx spent about
    1.5 ms of CPU per request, ``http.client`` about a third of that, left to the service.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url
        parts = urlsplit(base_url)
        self._host, self._port, self._timeout = parts.hostname or "", parts.port, timeout
        self._connection: http.client.HTTPConnection | None = None

    def request(self, method: str, url: str, *, content: bytes,
                headers: dict[str, str]) -> LeanResponse:  # fmt: skip
        for attempt in (1, 2):  # a keep-alive connection the server closed is reopened once
            if self._connection is None:
                self._connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout
                )
            try:
                self._connection.request(method, url, body=content or None, headers=headers)
                answer = self._connection.getresponse()
                return LeanResponse(answer.status, answer.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    conflicts: int = 0
    lag: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tasks: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, kind: str, seconds: float, lag: float, status: str) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            self.statuses[status] += 1
            self.lag.append(lag)


def start_serve(data: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "KEYSCOPE_LOG_LEVEL": "warning"}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [KEYSCOPE, "serve", "--port", str(port), "--data-dir", str(data)],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        try:
            if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("keyscope serve did not start")


def one_request(
    client: SignedClient,
    rng: random.Random,
    instances: list[str],
    results: Results,
    create_share: float,
) -> tuple[str, LeanResponse, bool]:
    """Send one request of the mix; returns its kind, the response, and whether a 400
    conflict is an expected answer."""
    roll = rng.random()
    instance = rng.choice(instances)
    base = f"/instances/{instance}"
    if roll < create_share:
        create, show = rng.choice(KINDS)
        response = client.post(f"{base}/{create}")
        if response.status_code == 200 and show is not None:
            with results.lock:
                results.tasks.append((instance, show, response.json()["id"]))
        return "create", response, True
    if roll < create_share + (1 - create_share) / 2 or not results.tasks:
        path = rng.choice([*[f"{base}/{name}" for name in LISTS], "/instances"])
        return "list", client.get(path, params={"offset": 0, "limit": 10}), False
    with results.lock:
        inst, show, task = rng.choice(results.tasks)
    return "show", client.get(f"/instances/{inst}/{show}/{task}"), False


def run_load(
    urls: list[str], instances: list[str], args: argparse.Namespace
) -> tuple[Results, float]:
    results = Results()
    rate, seed = args.rate, args.seed
    total = int(rate * args.seconds)
    local = threading.local()
    clients: list[LeanHttp] = []

    def client() -> SignedClient:
        if not hasattr(local, "client"):
            with results.lock:
                url = urls[len(clients) % len(urls)]
                lean = LeanHttp(url, timeout=30)
                clients.append(lean)
            local.client = SignedClient(lean)  # type: ignore[arg-type]  # its httpx subset
            local.rng = random.Random(f"{seed}-{threading.get_ident()}")
        signed: SignedClient = local.client
        return signed

    def job(due: float) -> None:
        signed = client()
        started = time.monotonic()
        try:
            kind, response, conflict_ok = one_request(
                signed, local.rng, instances, results, args.create_share
            )
        except TRANSPORT_ERRORS as exc:
            with results.lock:
                results.errors.append(f"transport: {type(exc).__name__}")
            return
        elapsed = time.monotonic() - started
        status = str(response.status_code)
        if response.status_code != 200:
            body = response.json() if response.content else {}
            code = body.get("error_code", "")
            if conflict_ok and response.status_code == 400 and code == CONFLICT:
                with results.lock:
                    results.conflicts += 1
                status = f"400 {CONFLICT}"
            else:
                with results.lock:
                    results.errors.append(f"{kind} {response.status_code} {code}")
        results.add(kind, elapsed, started - due, status)

    t0 = time.monotonic()
    with ThreadPoolExecutor(args.workers, thread_name_prefix="load") as pool:
        for i in range(total):
            due = t0 + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(job, due)
    wall = time.monotonic() - t0
    for lean in clients:
        lean.close()
    return results, wall


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def task_outcomes(client: SignedClient, instances: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for instance in instances:
        for name in LISTS:
            body = client.get(f"/instances/{instance}/{name}", params={"limit": 1000}).json()
            counts.update(r["status"] for r in body["records"])
    return counts


def report(args: argparse.Namespace, results: Results, wall: float, tasks: Counter[str],
           redis_version: str) -> dict[str, Any]:  # fmt: skip
    every = [x for values in results.latencies.values() for x in values]
    sent = len(every) + len([e for e in results.errors if e.startswith("transport")])
    figures: dict[str, Any] = {
        "mode": args.mode, "rate": args.rate, "seconds": args.seconds, "sent": sent,
        "wall_s": round(wall, 2), "achieved_rps": round(sent / wall, 1),
        "errors": len(results.errors), "error_kinds": dict(Counter(results.errors)),
        "create_conflicts": results.conflicts, "statuses": dict(results.statuses),
        "p50_ms": round(percentile(every, 0.50) * 1000, 1),
        "p95_ms": round(percentile(every, 0.95) * 1000, 1),
        "p99_ms": round(percentile(every, 0.99) * 1000, 1),
        "max_ms": round(max(every, default=0) * 1000, 1),
        "send_lag_p99_ms": round(percentile(results.lag, 0.99) * 1000, 1),
        "by_kind_p99_ms": {k: round(percentile(v, 0.99) * 1000, 1)
                           for k, v in results.latencies.items()},
        "tasks_during_run": dict(tasks), "instances": args.instances, "keys": args.keys,
        "redis": redis_version,
    }  # fmt: skip
    print("\n| mode | rate × s | sent | errors | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {args.mode} | {args.rate:g} × {args.seconds:g} | {sent} | {len(results.errors)} | "
          f"{figures['p50_ms']} | {figures['p95_ms']} | {figures['p99_ms']} | "
          f"{figures['max_ms']} |")  # fmt: skip
    print(json.dumps(figures))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the run")
    parser.add_argument("--instances", type=int, default=4, help="redis-servers to start")
    parser.add_argument("--keys", type=int, default=50_000, help="keys per redis-server")
    parser.add_argument("--workers", type=int, default=32, help="client threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--create-share", type=float, default=0.10,
                        help="share of creates; the rest is half lists, half shows")  # fmt: skip
    parser.add_argument("--mode", choices=["embedded", "scaleout"], default="embedded",
                        help="scaleout: two API processes, two workers, PostgreSQL")  # fmt: skip
    args = parser.parse_args()
    if args.rate <= 0 or not 0 < args.seconds <= 600 or args.rate * args.seconds > 200_000:
        parser.error("keep the run bounded: rate > 0, seconds ≤ 600, rate × seconds ≤ 200000")
    with tempfile.TemporaryDirectory(prefix="keyscope-load-") as tmp:
        root = Path(tmp)
        servers: list[RedisServer] = []
        try:
            for i in range(args.instances):
                server = start_server(root / f"redis{i}",
                                      extra=["--maxmemory-policy", "allkeys-lfu"])  # fmt: skip
                servers.append(server)
                server.client().execute_command("DEBUG", "POPULATE", args.keys, "key", 32)
            with contextlib.ExitStack() as stack:
                urls, alive = start_keyscope(args.mode, root, stack)
                with httpx.Client(base_url=urls[0], timeout=30) as http:
                    admin = SignedClient(http)
                    instances = []
                    for server in servers:
                        body = {"name": f"load-{server.port}", "mode": "single",
                                "addresses": [server.address]}  # fmt: skip
                        response = admin.post("/instances", json_body=body)
                        response.raise_for_status()
                        instances.append(response.json()["instance_id"])
                    results, wall = run_load(urls, instances, args)
                    tasks = task_outcomes(admin, instances)
                died = [name for name, is_alive in alive.items() if not is_alive()]
            version = str(servers[0].client().info("server")["redis_version"])
            figures = report(args, results, wall, tasks, version)
            if died:
                print(f"keyscope died during the run: {died}", file=sys.stderr)
                return 1
            return 0 if figures["errors"] == 0 else 1
        finally:
            for server in servers:
                server.stop()


def start_keyscope(
    mode: str, root: Path, stack: contextlib.ExitStack
) -> tuple[list[str], dict[str, Callable[[], bool]]]:
    """Start keyscope as ``mode`` says, stopped when ``stack`` closes: the API URLs, and
    for every keyscope process whether it is still alive (checked after the run)."""
    if mode == "embedded":
        data = root / "data"
        credentials_file(data / "credentials.json")
        serve, url = start_serve(data, root / "serve.log")
        stack.callback(stop_process, serve)
        return [url], {url: lambda: serve.poll() is None}
    reason = postgres_unreachable_reason()
    if reason is not None:
        raise SystemExit(f"--mode scaleout needs PostgreSQL: {reason}")
    database_url = stack.enter_context(scratch_database())
    fleet = Fleet(root / "fleet", database_url, stall_after_s=30.0)
    stack.callback(fleet.stop)
    fleet.env.pop("KEYSCOPE_MAX_OPS_PER_SEC", None)  # the embedded run's default throttle
    alive: dict[str, Callable[[], bool]] = {}
    for _ in range(2):
        api = fleet.start_api()
        alive[api.url] = api.alive
    for index in range(2):  # one analysis at a time each: two at once, as embedded runs
        alive[f"worker-{index}"] = fleet.start_worker(concurrency=1).alive
    return [api.url for api in fleet.apis], alive


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    sys.exit(main())
