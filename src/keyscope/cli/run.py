"""``keyscope run``: start an analysis of a registered instance on a running keyscope.

``run bigkeys|hotkeys|expire|offline INSTANCE`` creates the task with the API's own call and
prints its id; with ``--wait`` it polls until the task ends (or ``--timeout`` passes) and
prints the result as ``keyscope analyze`` / ``keyscope rdb report`` print theirs (same
records, same tables). Exit codes: 0 done (or started), 1 the task failed, the deadline
passed, or keyscope refused or could not be reached (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

import typer

from keyscope.cli.client import Client, ClientError, find_instance
from keyscope.cli.formats import FORMAT_HELP, OutputFormat, resolve
from keyscope.cli.instances import instance_path
from keyscope.cli.remote import RemoteOptions, remote_options

app = typer.Typer(
    help="Run an analysis of a registered instance on a running keyscope.\n\n"
    "Example: keyscope run bigkeys cache --wait",
    no_args_is_help=True,
)

POLL_FIRST_S = 0.25
"""The first pause between two looks at a running task; it doubles up to POLL_MAX_S."""

POLL_MAX_S = 2.0

DEFAULT_TIMEOUT_S = 3600.0
"""How long ``--wait`` waits for a task by default."""

InstanceArg = Annotated[str, typer.Argument(metavar="INSTANCE", help="Its id or its name.")]
WaitOpt = Annotated[
    bool, typer.Option("--wait", help="Wait for the result and print it (else print the task).")
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=0.1, help="Seconds --wait waits before giving up.")
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help=FORMAT_HELP)]

_DONE = ("success", "failed")


def wait_for(look: Callable[[], dict[str, Any]], timeout_s: float, what: str) -> dict[str, Any]:
    """The task ``look`` returns once its status is success or failed; ClientError when
    ``timeout_s`` passes first."""
    deadline = time.monotonic() + timeout_s
    pause = POLL_FIRST_S
    while True:
        task = look()
        if task.get("status") in _DONE:
            return task
        left = deadline - time.monotonic()
        if left <= 0:
            raise ClientError(
                f"{what} {task.get('id')} is still {task.get('status')} after {timeout_s:g} s"
            )
        time.sleep(min(pause, left))
        pause = min(pause * 2, POLL_MAX_S)


def _finished(task: dict[str, Any], what: str) -> dict[str, Any]:
    if task["status"] == "failed":
        reason = " ".join(str(task.get("reason") or "no reason given").split())
        raise ClientError(f"{what} {task['id']} failed: {reason}")
    return task


def _started(task: dict[str, Any], instance: dict[str, Any], what: str, fmt: OutputFormat) -> None:
    if resolve(fmt) is OutputFormat.JSON:
        typer.echo(json.dumps(task, ensure_ascii=False, indent=2))
        return
    task_id = task.get("id") or task.get("task_id")
    typer.echo(f"Started {what} {task_id} of {instance['name']} ({task.get('status', 'waiting')})")


def _scan(
    remote: RemoteOptions, ref: str, kind: str, *, wait: bool, timeout: float, fmt: OutputFormat
) -> tuple[dict[str, Any], str] | None:
    """Start a big-key or hot-key task; with ``wait``, its finished detail and title."""
    client = remote.client()
    instance = find_instance(client, ref)
    base = instance_path(instance)
    what = f"{kind}-key analysis"
    task = client.call("POST", f"{base}/{kind}key-task")
    if not wait:
        _started(task, instance, what, fmt)
        return None
    task_path = f"{base}/{kind}key-task/{quote(task['id'], safe='')}"
    done = _finished(wait_for(lambda: client.call("GET", task_path), timeout, what), what)
    return done, f"{kind.capitalize()} keys"


@app.command("bigkeys")
@remote_options
def bigkeys(
    instance: InstanceArg,
    *,
    remote: RemoteOptions,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
    fmt: FormatOpt = OutputFormat.AUTO,
) -> None:
    """Big keys of every shard (CreateBigkeyScanTask).

    Example: keyscope run bigkeys cache --wait --format json
    """
    from keyscope.cli.analyze import print_key_records

    done = _scan(remote, instance, "big", wait=wait, timeout=timeout, fmt=fmt)
    if done is not None:
        task, title = done
        print_key_records(task.get("keys") or [], fmt, title)


@app.command("hotkeys")
@remote_options
def hotkeys(
    instance: InstanceArg,
    *,
    remote: RemoteOptions,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
    fmt: FormatOpt = OutputFormat.AUTO,
) -> None:
    """Hot keys of every node (CreateHotkeyScanTask).

    Example: keyscope run hotkeys cache --wait
    """
    from keyscope.cli.analyze import measured_caption, print_key_records

    done = _scan(remote, instance, "hot", wait=wait, timeout=timeout, fmt=fmt)
    if done is not None:
        task, title = done
        caption = measured_caption(task.get("measured"))
        print_key_records(task.get("keys") or [], fmt, title, caption)


def _expire_record(client: Client, base: str, task_id: str) -> dict[str, Any]:
    """The expired-key scan ``task_id`` from the history (the API has no detail call)."""
    offset = 0
    while True:
        page = client.call(
            "GET", f"{base}/auto-expire/histories", query={"offset": offset, "limit": 100}
        )
        records: list[dict[str, Any]] = page["records"]
        found = next((r for r in records if r["id"] == task_id), None)
        if found is not None:
            return found
        offset += len(records)
        if not records or offset >= int(page["total"]):
            raise ClientError(f"expired-key scan {task_id} is no longer in the history")


@app.command("expire")
@remote_options
def expire(
    instance: InstanceArg,
    *,
    remote: RemoteOptions,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
    fmt: FormatOpt = OutputFormat.AUTO,
) -> None:
    """Reclaim expired keys with SCAN on every master (CreateAutoExpireScanTask).

    Example: keyscope run expire cache --wait
    """
    from keyscope.cli.analyze import print_expire

    what = "expired-key scan"
    client = remote.client()
    found = find_instance(client, instance)
    base = instance_path(found)
    task = client.call("POST", f"{base}/scan-expire-keys-task")
    if not wait:
        _started(task, found, what, fmt)
        return
    done = wait_for(lambda: _expire_record(client, base, task["id"]), timeout, what)
    record = _finished(done, what)
    print_expire({"num": record["num"], "scanned_keys": record.get("scanned_keys")}, fmt)


def _node(client: Client, base: str, node_id: str | None) -> str:
    """``node_id`` when given, else the instance's one master; ClientError when it has several."""
    if node_id:
        return node_id
    nodes: list[dict[str, Any]] = client.call("GET", f"{base}/logical-nodes")["nodes"]
    masters = [n for n in nodes if n.get("node_type") == "master"] or nodes
    if len(masters) == 1:
        return str(masters[0]["node_id"])
    listed = ", ".join(f"{n['node_id']} ({n['node_ip']}:{n['node_port']})" for n in masters)
    raise ClientError(f"the instance has {len(masters)} masters; pick one with --node: {listed}")


@app.command("offline")
@remote_options
def offline(
    instance: InstanceArg,
    *,
    remote: RemoteOptions,
    node: Annotated[
        str | None,
        typer.Option(
            "--node",
            metavar="NODE_ID",
            help="The node whose data to analyse \\[default: the master, where there is one].",
        ),
    ] = None,
    backup: Annotated[
        str | None,
        typer.Option(
            "--backup",
            metavar="BACKUP_ID",
            help="Analyse this backup \\[default: take a new one from the node].",
        ),
    ] = None,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
    fmt: FormatOpt = OutputFormat.AUTO,
) -> None:
    """Full-key analysis of a node's data from a backup (CreateOfflineKeyAnalysis).

    Example: keyscope run offline cache --wait --format table
    """
    what = "offline analysis"
    client = remote.client()
    found = find_instance(client, instance)
    base = instance_path(found)
    body: dict[str, Any] = {"node_id": _node(client, base, node)}
    if backup:
        body["backup_id"] = backup
    created = client.call("POST", f"{base}/offline/key-analysis", body=body)
    if not wait:
        _started(created, found, what, fmt)
        return
    task_path = f"{base}/offline/key-analysis/{quote(created['task_id'], safe='')}"
    task = _finished(wait_for(lambda: client.call("GET", task_path), timeout, what), what)
    from keyscope.analysis.offline import OfflineReport
    from keyscope.cli.rdb import print_report

    print_report(OfflineReport.from_dict(task), fmt)
