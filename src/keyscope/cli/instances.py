"""``keyscope instances``: register, list, show and remove the instances of a running keyscope.

The calls are the API's own (``CreateInstance``, ``ListInstances``, ``ShowInstance``,
``DeleteInstance``), signed with the credentials file (see ``cli/remote.py``). An INSTANCE is
its id or its name; a name two instances share is refused with both ids. The password goes
in the request body only, read from stdin or a file (never the command line), and is never
printed. Exit codes: 0 done, 1 refused by keyscope or unreachable (one line), 2 bad usage.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

import typer

from keyscope.cli.connect_options import ConnectionOptions, connection_options
from keyscope.cli.formats import FORMAT_HELP, OutputFormat, console, resolve
from keyscope.cli.remote import RemoteOptions, fail, remote_options
from keyscope.domain.errors import InvalidInput
from keyscope.domain.topology import InstanceMode
from keyscope.redis.auth import Auth

app = typer.Typer(
    help="Register Redis deployments with a running keyscope, list, show and remove them.\n\n"
    "Example: keyscope instances add cache --mode ha --address 10.0.0.5:6379 --password-stdin",
    no_args_is_help=True,
)

InstanceArg = Annotated[str, typer.Argument(metavar="INSTANCE", help="Its id or its name.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help=FORMAT_HELP)]

COLUMNS = (
    "instance_id", "name", "mode", "status", "addresses", "engine", "engine_version", "node_count",
)  # fmt: skip
"""The fields ``list`` shows, in this order."""


def instance_path(instance: dict[str, Any]) -> str:
    return f"/instances/{quote(instance['instance_id'], safe='')}"


def _body(name: str, mode: InstanceMode, addresses: list[str], auth: Auth) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "mode": mode.value, "addresses": addresses}
    if auth.username is not None:
        body["username"] = auth.username
    if auth.password is not None:
        body["password"] = auth.password
    if auth.tls is not None:
        tls = auth.tls
        body["tls"] = {
            "enabled": True,
            "ca_cert": tls.ca_cert,
            "client_cert": tls.client_cert,
            "client_key": tls.client_key,
            "server_name": tls.server_name,
            "verify": tls.verify,
        }
    return body


def _flat(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def _print_list(instances: list[dict[str, Any]], fmt: OutputFormat) -> None:
    fmt = resolve(fmt)
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(instances, ensure_ascii=False, indent=2))
        return
    if fmt is OutputFormat.CSV:
        import csv
        import sys

        writer = csv.writer(sys.stdout)
        writer.writerow(COLUMNS)
        writer.writerows([_flat(i.get(c)) for c in COLUMNS] for i in instances)
        return
    from keyscope.cli import tables

    rows = [[_flat(i.get(c)) for c in COLUMNS] for i in instances]
    console().print(
        tables.table(f"Instances ({len(rows):,})", COLUMNS, rows, right=("node_count",))
    )


def _print_one(instance: dict[str, Any], fmt: OutputFormat) -> None:
    fmt = resolve(fmt)
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(instance, ensure_ascii=False, indent=2))
        return
    if fmt is OutputFormat.CSV:
        _print_list([instance], fmt)
        return
    from keyscope.cli import tables

    tls = instance.get("tls")
    shown = {k: _flat(v) for k, v in instance.items() if k != "tls"}
    if tls is not None:
        shown["tls"] = ", ".join(f"{k}={v}" for k, v in tls.items() if v is not None)
    else:
        shown["tls"] = "off"
    rows = list(shown.items())
    console().print(tables.table(f"Instance {instance['name']}", ("field", "value"), rows))


@app.command("add")
@connection_options
@remote_options
def add(
    name: Annotated[str, typer.Argument(help="A name for the deployment (need not be unique).")],
    *,
    remote: RemoteOptions,
    connection: ConnectionOptions,
    mode: Annotated[
        InstanceMode,
        typer.Option(
            "--mode", help="single: one server; ha: a master with replicas; cluster: Redis Cluster."
        ),
    ] = InstanceMode.SINGLE,
    address: Annotated[
        list[str],
        typer.Option(
            "--address",
            metavar="HOST:PORT",
            help="A node to reach it by; repeat for more (any node of a cluster will do).",
        ),
    ],
    fmt: FormatOpt = OutputFormat.AUTO,
) -> None:
    """Register a deployment: keyscope connects, checks the login and finds every node first.

    Example: keyscope instances add cache --mode cluster --address 10.0.0.5:7000 --password-stdin
    """
    try:
        auth = connection.auth()
    except InvalidInput as exc:
        fail(exc.message, 2)
    client = remote.client()
    created = client.call("POST", "/instances", body=_body(name, mode, address, auth))
    instance = client.call("GET", instance_path(created))
    if resolve(fmt) is OutputFormat.TABLE:
        typer.echo(
            f"Registered {instance['name']} as {instance['instance_id']}: {instance['mode']}, "
            f"{instance['node_count']} node(s), {instance['engine']} {instance['engine_version']}"
        )
        return
    _print_one(instance, fmt)


@app.command("list")
@remote_options
def list_(*, remote: RemoteOptions, fmt: FormatOpt = OutputFormat.AUTO) -> None:
    """The project's instances.

    Example: keyscope instances list --format json
    """
    from keyscope.cli.client import list_instances

    _print_list(list_instances(remote.client()), fmt)


@app.command("show")
@remote_options
def show(
    instance: InstanceArg, *, remote: RemoteOptions, fmt: FormatOpt = OutputFormat.TABLE
) -> None:
    """One instance: its nodes' count, engine, login (never the password) and TLS settings.

    Example: keyscope instances show cache
    """
    from keyscope.cli.client import find_instance

    _print_one(find_instance(remote.client(), instance), fmt)


@app.command("remove")
@remote_options
def remove(instance: InstanceArg, *, remote: RemoteOptions) -> None:
    """Remove an instance with its analyses and backups (its running analyses are stopped).

    Example: keyscope instances remove cache
    """
    from keyscope.cli.client import find_instance

    client = remote.client()
    found = find_instance(client, instance)
    client.call("DELETE", instance_path(found))
    typer.echo(f"Removed {found['name']} ({found['instance_id']})")
