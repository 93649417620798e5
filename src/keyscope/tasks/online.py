"""The executors of the three online analyses: big keys, hot keys, expired-key scans.

The engine modules are imported when an analysis runs or is checked, so the service starts
(and the other analyses work) even while one engine module fails to import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from keyscope.domain.keys import BigKey, HotKey, key_record
from keyscope.domain.tasks import TaskKind
from keyscope.domain.topology import Topology
from keyscope.redis.auth import Auth
from keyscope.redis.slots import moved_during, slot_layout
from keyscope.tasks.executors import ExecutorSpec, Outcome, TaskContext, register


def _topology(ctx: TaskContext) -> Topology:
    if ctx.topology is None:  # pragma: no cover - the specs below all need it
        raise RuntimeError("online analyses need the live topology")
    return ctx.topology


def _keys_outcome(keys: Sequence[BigKey | HotKey], *, incomplete: bool = False) -> Outcome:
    records = [key_record(key) for key in keys]
    result: dict[str, Any] = {"keys": records}
    if incomplete:
        # A cluster resharded during the walk: keys may be missed or repeated.
        result["incomplete"] = True
    return Outcome(num=len(records), result=result)


def run_bigkeys(ctx: TaskContext) -> Outcome:
    from keyscope.analysis.bigkeys import find_bigkeys

    before = slot_layout(_topology(ctx), ctx.auth)
    keys = find_bigkeys(
        _topology(ctx), ctx.auth, ctx.options, progress=ctx.progress, cancel=ctx.cancel
    )
    moved = moved_during(before, slot_layout(_topology(ctx), ctx.auth))
    return _keys_outcome(keys, incomplete=moved)


def check_bigkeys(topology: Topology, _auth: Auth) -> None:
    from keyscope.analysis.bigkeys import ensure_bigkeys_supported

    ensure_bigkeys_supported(topology)


def run_hotkeys(ctx: TaskContext) -> Outcome:
    from keyscope.analysis.hotkeys import find_hotkeys

    before = slot_layout(_topology(ctx), ctx.auth)
    report = find_hotkeys(
        _topology(ctx), ctx.auth, ctx.options, progress=ctx.progress, cancel=ctx.cancel
    )
    moved = moved_during(before, slot_layout(_topology(ctx), ctx.auth))
    outcome = _keys_outcome(report.keys, incomplete=moved)
    if outcome.result is not None:
        outcome.result["measured"] = report.measured()  # how the floor and window were set
    return outcome


def check_hotkeys(topology: Topology, auth: Auth) -> None:
    from keyscope.analysis.hotkeys import ensure_hotkeys_supported

    ensure_hotkeys_supported(topology, auth)


def run_expire_scan(ctx: TaskContext) -> Outcome:
    from keyscope.analysis.expire import scan_expired

    options = ctx.options
    scan_count = ctx.params.get("scan_keys_count")
    if scan_count:
        options = dataclasses.replace(options, scan_count=int(scan_count))
    timeout = ctx.params.get("timeout")
    result = scan_expired(
        _topology(ctx),
        ctx.auth,
        options,
        timeout_s=float(timeout) if timeout else None,
        progress=ctx.progress,
        cancel=ctx.cancel,
    )
    return Outcome(
        num=result.expired_keys,
        result={
            "expired_keys": result.expired_keys,
            "scanned_keys": result.scanned_keys,
            "nodes": [dataclasses.asdict(n) for n in result.nodes],
        },
        keys_scanned=result.scanned_keys,
    )


def check_expire(topology: Topology, _auth: Auth) -> None:
    from keyscope.analysis.expire import ensure_expire_scan_supported

    ensure_expire_scan_supported(topology)


register(ExecutorSpec(TaskKind.BIGKEY, run=run_bigkeys, check=check_bigkeys))
register(ExecutorSpec(TaskKind.HOTKEY, run=run_hotkeys, check=check_hotkeys))
register(ExecutorSpec(TaskKind.EXPIRE, run=run_expire_scan, check=check_expire))
