"""Instances, keyscope's own resource: register a Redis deployment, list, show, update, delete.

Registration connects (over TLS where asked), checks that the addresses answer as Redis and
take the login, discovers the topology and caches its nodes, then stores the password and
the TLS client key encrypted. An update of the credentials is checked the same way before it
replaces the stored ones. Secrets are never returned, logged or put in an error message.
List and show answer as DCS ``ListInstances`` / ``ShowInstance`` do, with the live state of
the instances they name (``schemas/instance_view.py``); registration keeps its own body.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from keyscope.api.deps import (
    InstanceDep,
    ProjectId,
    RunnerDep,
    ServicesDep,
    SessionDep,
    quick_read,
)
from keyscope.api.schemas.instance_view import present, status_of
from keyscope.api.schemas.instances import (
    InstanceCreated,
    InstanceIn,
    InstanceList,
    InstanceOut,
    InstanceQuery,
    InstanceUpdate,
)
from keyscope.domain.tasks import TaskStatus
from keyscope.domain.topology import InstanceMode
from keyscope.store import instance_logins
from keyscope.store import instances as queries
from keyscope.store.backups import remove_instance_files
from keyscope.store.tables import TaskRow
from keyscope.tasks.backups import BackupJobs

router = APIRouter(prefix="/v2/{project_id}", tags=["instances"])


@router.post("/instances", operation_id="CreateInstance", response_model=InstanceCreated)
def create_instance(
    project_id: ProjectId, body: InstanceIn, session: SessionDep, services: ServicesDep
) -> InstanceCreated:
    auth = body.auth()
    topology = services.runner.discover(body.mode, body.addresses, auth)
    row = queries.add_instance(
        session,
        project_id=project_id,
        name=body.name,
        addresses=body.addresses,
        topology=topology,
        now=services.clock(),
        **instance_logins.sealed(auth, services.secrets.encrypt),
    )
    session.commit()
    return InstanceCreated(instance_id=row.id)


@router.put("/instances/{instance_id}", operation_id="UpdateInstance", status_code=204)
def update_instance(
    instance: InstanceDep, body: InstanceUpdate, session: SessionDep, services: ServicesDep
) -> Response:
    """New credentials (or name): checked live first, so a wrong one changes nothing (400)."""
    auth = body.auth(services.runner.auth_of(instance))
    topology = services.runner.discover(InstanceMode(instance.mode), list(instance.addresses), auth)
    instance_logins.store_login(instance, auth, services.secrets.encrypt)
    if body.name is not None:
        instance.name = body.name
    queries.sync_nodes(instance, topology)
    instance.updated_at = services.clock()
    session.commit()
    return Response(status_code=204)


@router.get("/instances", operation_id="ListInstances", response_model=InstanceList)
async def list_instances(
    project_id: ProjectId, services: ServicesDep, query: Annotated[InstanceQuery, Query()]
) -> InstanceList:
    """Every instance the filters match is checked live before the page is cut when the
    ``status`` filter is given; otherwise only the page."""
    paged = {"offset": query.offset, "limit": query.limit} if query.status is None else {}
    with quick_read(services) as session:
        total, rows = queries.list_instances(
            session, project_id, name=query.name, exact_name=query.exact_name,
            instance_id=query.instance_id, **paged,
        )  # fmt: skip
        deployments = {row.id: services.runner.deployment_of(row) for row in rows}
    states = await run_in_threadpool(services.runner.live_states, deployments)
    if query.status is not None:
        rows = [r for r in rows if status_of(states[r.id]) == query.status]
        total, rows = len(rows), rows[query.offset : query.offset + query.limit]
    instances = [present(row, states[row.id]) for row in rows]
    return InstanceList(instance_num=total, count=total, instances=instances)


@router.get("/instances/{instance_id}", operation_id="ShowInstance", response_model=InstanceOut)
def show_instance(instance: InstanceDep, runner: RunnerDep) -> InstanceOut:
    state = runner.live_states({instance.id: runner.deployment_of(instance)})[instance.id]
    return present(instance, state)


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
    BackupJobs.cancel_instance(instance.id)  # queued ones never start: their rows go below
    instance_id = instance.id
    queries.delete_instance(session, instance)  # its backup rows go with it (cascade)
    session.commit()
    remove_instance_files(runner.backups_dir, instance_id)
    return Response(status_code=204)
