"""Instances, keyscope's own resource: register a Redis deployment, list, show, delete.

Registration connects, checks that the addresses answer (and the password), discovers the
topology and caches its nodes, then stores the password encrypted. The password is never
returned, logged or put in an error message.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from keyscope import defaults
from keyscope.api.deps import (
    InstanceDep,
    ProjectId,
    RunnerDep,
    ServicesDep,
    SessionDep,
    quick_read,
)
from keyscope.api.schemas.common import format_time
from keyscope.api.schemas.instances import InstanceCreated, InstanceIn, InstanceList, InstanceOut
from keyscope.domain.tasks import TaskStatus
from keyscope.redis.auth import Auth
from keyscope.store import instances as queries
from keyscope.store.backups import remove_instance_files
from keyscope.store.tables import InstanceRow, TaskRow

router = APIRouter(prefix="/v2/{project_id}", tags=["instances"])


def present(row: InstanceRow) -> InstanceOut:
    return InstanceOut(
        instance_id=row.id,
        name=row.name,
        mode=row.mode,
        addresses=list(row.addresses),
        engine=row.engine,
        engine_version=row.engine_version,
        node_count=len(row.nodes),
        has_password=row.password_encrypted is not None,
        created_at=format_time(row.created_at),
    )


@router.post("/instances", operation_id="CreateInstance", response_model=InstanceCreated)
def create_instance(
    project_id: ProjectId, body: InstanceIn, session: SessionDep, services: ServicesDep
) -> InstanceCreated:
    password = body.password.get_secret_value() if body.password is not None else None
    password = password or None
    topology = services.runner.discover(body.mode, body.addresses, Auth(password=password))
    row = queries.add_instance(
        session,
        project_id=project_id,
        name=body.name,
        addresses=body.addresses,
        password_encrypted=services.secrets.encrypt(password) if password else None,
        topology=topology,
        now=services.clock(),
    )
    session.commit()
    return InstanceCreated(instance_id=row.id)


@router.get("/instances", operation_id="ListInstances", response_model=InstanceList)
async def list_instances(
    project_id: ProjectId,
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0, le=defaults.MAX_LIST_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=0, le=1000)] = defaults.DEFAULT_LIST_LIMIT,
) -> InstanceList:
    with quick_read(services) as session:
        total, rows = queries.list_instances(session, project_id, offset=offset, limit=limit)
        return InstanceList(count=total, instances=[present(r) for r in rows])


@router.get("/instances/{instance_id}", operation_id="ShowInstance", response_model=InstanceOut)
def show_instance(instance: InstanceDep) -> InstanceOut:
    return present(instance)


@router.delete("/instances/{instance_id}", operation_id="DeleteInstance", status_code=204)
def delete_instance(instance: InstanceDep, session: SessionDep, runner: RunnerDep) -> Response:
    active = session.scalars(
        select(TaskRow.id).where(
            TaskRow.instance_id == instance.id,
            TaskRow.status.in_([TaskStatus.WAITING.value, TaskStatus.RUNNING.value]),
        )
    )
    for task_id in list(active):
        runner.cancel(task_id)
    instance_id = instance.id
    queries.delete_instance(session, instance)  # its backup rows go with it (cascade)
    session.commit()
    remove_instance_files(runner.backups_dir, instance_id)
    return Response(status_code=204)
