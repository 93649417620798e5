"""Typed dependencies of the routers: services, DB session, the signed caller, the instance.

``Caller`` is the credential ``gate.SignatureGate`` authenticated (the SDK-HMAC-SHA256
signature or the web console's bearer token, 401 when either fails, checked before the body
is read), and ``ProjectId`` checks that it owns the ``project_id`` of the path (403). Every
DCS route depends on ``ProjectId``, which implies both checks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from keyscope import defaults
from keyscope.api import console_tokens
from keyscope.api.credentials import Credential, CredentialStore
from keyscope.api.gate import CALLER_KEY
from keyscope.domain.errors import Forbidden, Unauthorized
from keyscope.store.db import SessionFactory
from keyscope.store.instances import get_instance
from keyscope.store.secrets import SecretBox
from keyscope.store.tables import InstanceRow
from keyscope.tasks.clock import Clock
from keyscope.tasks.runner import TaskRunner


@dataclass(slots=True)
class Services:
    """What the app holds for its routes (``app.state.services``)."""

    session_factory: SessionFactory
    credentials: CredentialStore
    secrets: SecretBox
    runner: TaskRunner
    clock: Clock
    quick_reads: SessionFactory
    """Sessions for the short reads routes do on the event loop (``quick_read``)."""
    signature_window_s: int = defaults.SIGNATURE_WINDOW_S
    console_token_ttl_s: int = console_tokens.TOKEN_TTL_S
    console_sessions_per_key: int = console_tokens.SESSIONS_PER_KEY


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[Session]:
    """One session per request, opened and closed on the event loop: neither waits (the
    connection is checked out on first use, in a worker thread, and closing returns it), and
    a sync generator here cost two thread hops per request."""
    with services.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def get_runner(services: ServicesDep) -> TaskRunner:
    return services.runner


RunnerDep = Annotated[TaskRunner, Depends(get_runner)]


@contextmanager
def quick_read(services: Services) -> Iterator[Session]:
    """A session for a short read on the event loop, with no ``await`` while it is open.

    The hottest routes (lists and shows) are ``async`` and read inline: a sync route costs
    three thread hops (dependency, endpoint, response check), measured at a third of a
    request's CPU. Their sessions come from a pool of one connection that only the event
    loop uses, so they never wait for a connection the loop itself would have to return.
    """
    with services.quick_reads() as session:
        yield session


@contextmanager
def quick_instance_read(
    services: Services, project_id: str, instance_id: str
) -> Iterator[tuple[Session, InstanceRow]]:
    """``quick_read`` with the instance of the path looked up in it (404 when it is not
    the project's)."""
    with quick_read(services) as session:
        yield session, get_instance(session, project_id, instance_id)


async def get_caller(request: Request) -> Credential:
    """The credential ``gate.SignatureGate`` authenticated before the body was read."""
    credential: Credential | None = request.scope.get(CALLER_KEY)
    if credential is None:  # a route outside the gated paths asked for a caller
        raise Unauthorized("missing Authorization header: the request must be signed")
    return credential


CallerDep = Annotated[Credential, Depends(get_caller)]


async def get_project_id(
    project_id: Annotated[str, Path()], caller: CallerDep, request: Request
) -> str:
    header = request.headers.get("x-project-id")
    if not caller.owns(project_id) or (header is not None and header != project_id):
        raise Forbidden(f"the credential does not own project {project_id}")
    return project_id


ProjectId = Annotated[str, Depends(get_project_id)]


def get_instance_row(
    project_id: ProjectId, instance_id: Annotated[str, Path()], session: SessionDep
) -> InstanceRow:
    return get_instance(session, project_id, instance_id)


InstanceDep = Annotated[InstanceRow, Depends(get_instance_row)]

InstanceId = Annotated[str, Path()]
"""The ``instance_id`` of the path, for routes that look it up in ``quick_instance_read``."""
