"""Queries on instances and their cached nodes, always scoped to one project."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keyscope.domain import codes
from keyscope.domain.errors import NotFound
from keyscope.domain.topology import Node, Topology
from keyscope.store.tables import InstanceRow, NodeRow


def add_instance(
    session: Session,
    *,
    project_id: str,
    name: str,
    addresses: Sequence[str],
    password_encrypted: str | None,
    topology: Topology,
    now: datetime,
    username: str | None = None,
    tls: dict[str, Any] | None = None,
    tls_client_key_encrypted: str | None = None,
) -> InstanceRow:
    """A new instance row (its login columns as ``instance_logins.sealed`` makes them)."""
    row = InstanceRow(
        id=str(uuid.uuid4()),
        project_id=project_id,
        name=name,
        mode=topology.mode.value,
        addresses=list(addresses),
        password_encrypted=password_encrypted,
        username=username,
        tls=tls,
        tls_client_key_encrypted=tls_client_key_encrypted,
        engine=topology.engine,
        engine_version=topology.engine_version,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    sync_nodes(row, topology)
    session.flush()
    return row


def sync_nodes(instance: InstanceRow, topology: Topology) -> bool:
    """Make the cached nodes those of ``topology`` (ids exist for later operations).

    Rows are updated in place (a failover changes roles, not ids), new nodes added and
    vanished ones removed; returns whether anything changed.
    """
    fresh: dict[str, tuple[int, Node]] = {}
    for position, node in enumerate(topology.nodes):
        fresh.setdefault(node.node_id, (position, node))
    changed = False
    for gone in list(instance.nodes):
        if gone.node_id not in fresh:
            instance.nodes.remove(gone)
            changed = True
    cached = {row.node_id: row for row in instance.nodes}
    for node_id, (position, node) in fresh.items():
        values = {
            "position": position,
            "host": node.host,
            "port": node.port,
            "role": node.role.value,
            "group_id": node.group_id,
            "group_name": node.group_name,
        }
        current = cached.get(node_id)
        if current is None:
            instance.nodes.append(NodeRow(node_id=node_id, **values))
            changed = True
            continue
        for name, value in values.items():
            if getattr(current, name) != value:
                setattr(current, name, value)
                changed = True
    return changed


def get_instance(session: Session, project_id: str, instance_id: str) -> InstanceRow:
    row = session.scalar(
        select(InstanceRow).where(
            InstanceRow.id == instance_id, InstanceRow.project_id == project_id
        )
    )
    if row is None:
        raise NotFound(f"instance {instance_id} not found", code=codes.INSTANCE_NOT_FOUND)
    return row


def get_instance_by_id(session: Session, instance_id: str) -> InstanceRow | None:
    return session.get(InstanceRow, instance_id)


def list_instances(
    session: Session,
    project_id: str,
    *,
    offset: int = 0,
    limit: int | None = None,
    name: str | None = None,
    exact_name: bool = False,
    instance_id: str | None = None,
) -> tuple[int, list[InstanceRow]]:
    """The project's instances matching the filters (a page of them) and how many match.

    ``name`` matches any part of the name, case aside, unless ``exact_name`` (DCS ``name`` and
    ``name_equal``).
    """
    where = [InstanceRow.project_id == project_id]
    if name is not None:
        where.append(
            InstanceRow.name == name
            if exact_name
            else InstanceRow.name.icontains(name, autoescape=True)
        )
    if instance_id is not None:
        where.append(InstanceRow.id == instance_id)
    total = session.scalar(select(func.count()).select_from(InstanceRow).where(*where)) or 0
    query = select(InstanceRow).where(*where).order_by(InstanceRow.created_at, InstanceRow.id)
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return total, list(session.scalars(query))


def delete_instance(session: Session, instance: InstanceRow) -> None:
    session.delete(instance)
    session.flush()
