"""An instance as DCS shows it (#ListInstances, #ShowInstance): its row and its live state."""

from __future__ import annotations

from keyscope.api.schemas.common import format_time
from keyscope.api.schemas.instances import Features, InstanceOut, TlsOut
from keyscope.redis.liveness import DeploymentState
from keyscope.store.tables import InstanceRow

AZ_CODE = "local"
"""The one availability zone keyscope reports (DCS names the zone a node runs in)."""

RUNNING = "RUNNING"
ERROR = "ERROR"
STATUSES = (RUNNING, ERROR)
"""The DCS instance statuses a live check can tell apart."""

_MB = 1024**2
_GB = 1024**3


def status_of(state: DeploymentState) -> str:
    return RUNNING if state.running else ERROR


def _tls(row: InstanceRow) -> TlsOut | None:
    if row.tls is None:
        return None
    return TlsOut(
        server_name=row.tls.get("server_name"),
        verify=bool(row.tls.get("verify", True)),
        has_ca_cert=bool(row.tls.get("ca_cert")),
        has_client_cert=bool(row.tls.get("client_cert")),
        has_client_key=row.tls_client_key_encrypted is not None,
    )


def _mb(value: int | None) -> int | None:
    return None if value is None else round(value / _MB)


def _capacity(max_memory: int | None) -> tuple[int | None, str | None]:
    """DCS ``capacity`` (whole GB) and ``capacity_minor`` (the GB figure of a small one)."""
    if max_memory is None:
        return None, None
    minor = str(round(max_memory / _GB, 3)) if max_memory < _GB else None
    return max_memory // _GB, minor


def present(row: InstanceRow, state: DeploymentState) -> InstanceOut:
    host, _, port = row.addresses[0].rpartition(":")
    groups: dict[str, int] = {}
    for node in row.nodes:
        groups[node.group_id] = groups.get(node.group_id, 0) + 1
    capacity, capacity_minor = _capacity(state.max_memory)
    created = format_time(row.created_at)
    updated = format_time(row.updated_at)
    return InstanceOut(
        instance_id=row.id,
        name=row.name,
        mode=row.mode,
        addresses=list(row.addresses),
        engine=row.engine,
        engine_version=row.engine_version,
        node_count=len(row.nodes),
        username=row.username,
        has_password=row.password_encrypted is not None,
        tls=_tls(row),
        created_at=created,
        status=status_of(state),
        ip=host,
        port=int(port),
        capacity=capacity,
        capacity_minor=capacity_minor,
        max_memory=_mb(state.max_memory),
        used_memory=_mb(state.used_memory),
        cache_mode=row.mode,
        product_type="generic",
        sharding_count=len(groups),
        replica_count=max(groups.values(), default=0),
        access_user=row.username,
        no_password_access=str(row.password_encrypted is None).lower(),
        enable_ssl=row.tls is not None,
        az_codes=[AZ_CODE],
        available_zones=[AZ_CODE],
        features=Features(
            support_acl=True,
            support_transparent_client_ip=False,
            support_ssl=True,
            support_audit_log=False,
        ),
        updated_at=updated,
        update_at=updated,
        launched_at=created,
        unreachable_nodes=list(state.down),
    )
