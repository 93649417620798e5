"""The FastAPI application: services built in the lifespan, every router included here.

A feature adds its router with one ``include_router`` line in ``ROUTERS`` below; importing
its router module is also what registers its task executor (see ``keyscope.tasks.executors``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from fastapi import APIRouter, FastAPI

from keyscope import __version__
from keyscope.api import errors, openapi
from keyscope.api.credentials import ensure_credentials_file
from keyscope.api.deps import Services
from keyscope.api.limits import BodySizeLimitMiddleware
from keyscope.api.middleware import RequestIdMiddleware
from keyscope.api.routes import (
    backups,
    bigkeys,
    console,
    expire,
    health,
    hotkeys,
    instances,
    nodes,
    offline,
    restores,
    trends,
)
from keyscope.redis import allowlist
from keyscope.redis.allowlist import parse_networks
from keyscope.settings import Settings
from keyscope.store import migrate
from keyscope.store.db import SessionFactory, make_engine, make_session_factory
from keyscope.store.secrets import SecretBox
from keyscope.tasks.clock import Clock, utcnow
from keyscope.tasks.dispatch import TaskDispatcher
from keyscope.tasks.reaper import SilentTaskReaper
from keyscope.tasks.runner import Discover, RunnerConfig, TaskRunner, live_discover
from keyscope.tasks.scheduler import POLL_EVERY_S, Scheduler

log = logging.getLogger(__name__)

THREAD_MARGIN = 16
"""Worker-thread tokens beyond the requests in flight (file responses, uploads)."""

ROUTERS: tuple[APIRouter, ...] = (
    instances.router,
    nodes.router,
    bigkeys.router,
    hotkeys.router,
    expire.router,
    backups.router,
    offline.router,
    trends.router,
    restores.router,
    health.router,
    console.router,
)


@dataclass(frozen=True, slots=True)
class Overrides:
    """What tests replace: the clock, topology discovery, the scheduler's pace."""

    clock: Clock = utcnow
    discover: Discover = live_discover
    scheduler_poll_s: float | None = POLL_EVERY_S
    """None: no scheduler thread (tests call ``app.state.scheduler.tick()`` themselves)."""


def secret_box(settings: Settings) -> SecretBox:
    if settings.secret_key is not None:
        return SecretBox.from_env(settings.secret_key.get_secret_value())
    return SecretBox.from_key_file(settings.data_dir / "secret.key")


def _queue_dispatcher(settings: Settings, factory: SessionFactory) -> TaskDispatcher | None:
    """Scale-out: tasks are queued for the workers; embedded (None): the runner's own pool."""
    if not settings.scale_out:
        return None
    from keyscope.tasks import queue

    return queue.QueueDispatcher(factory, queue.sync_app(settings.database_url_value()))


def size_thread_pool(max_concurrent_requests: int) -> None:
    """More worker-thread tokens than requests in flight, so a request never waits for one.

    A request's session keeps its database connection from its first query to its end,
    across the hops to worker threads (dependency, endpoint, response check). With fewer
    tokens than requests, every token could be held by a thread waiting for a connection
    while every connection is held by a request waiting for a token: a deadlock, seen
    under load. uvicorn's ``limit_concurrency`` bounds the requests in flight.
    """
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(limiter.total_tokens, max_concurrent_requests + THREAD_MARGIN)


def create_app(settings: Settings, overrides: Overrides | None = None) -> FastAPI:
    """The keyscope API for ``settings``; nothing touches disk until the app starts."""
    over = overrides or Overrides()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        size_thread_pool(settings.max_concurrent_requests)
        engine = make_engine(settings.database_url_value())
        if settings.scale_out:
            from keyscope.tasks import queue

            queue.prepare_database(
                engine, settings.database_url_value(), attempts=settings.db_connect_attempts
            )
        else:
            migrate.upgrade(engine)
        factory = make_session_factory(engine)
        loop_engine = make_engine(settings.database_url_value(), single_connection=True)
        credentials, _new = ensure_credentials_file(settings.credentials_path)
        box = secret_box(settings)
        networks = settings.allowed_networks
        allowlist.configure(parse_networks(networks) if networks is not None else None)
        config = RunnerConfig(
            workers=settings.workers,
            options=settings.scan_options(),
            data_dir=settings.data_dir,
            backups_dir=settings.backups_path,
            analysis_deadline_s=settings.analysis_deadline_s,
            backup_deadline_s=settings.backup_deadline_s,
            max_backups_per_instance=settings.max_backups_per_instance,
        )
        runner = TaskRunner(
            factory, config, decrypt=box.decrypt, clock=over.clock, discover=over.discover,
            dispatcher=_queue_dispatcher(settings, factory),
        )  # fmt: skip
        runner.start()
        scheduler = Scheduler(factory, runner, clock=over.clock,
                              poll_every_s=over.scheduler_poll_s or POLL_EVERY_S)  # fmt: skip
        if over.scheduler_poll_s is not None and not settings.scale_out:
            scheduler.start()  # scale-out: the workers' periodic job drives the same tick
        reaper = SilentTaskReaper(factory, stall_after_s=settings.stall_after_s, clock=over.clock)
        if settings.scale_out:
            reaper.start()  # a dead worker's task must end even when no worker is left
        app.state.services = Services(
            factory, credentials, box, runner, over.clock, make_session_factory(loop_engine)
        )
        app.state.scheduler = scheduler
        app.state.engine = engine
        log.info("keyscope %s ready (%d credential(s))", __version__, len(credentials))
        try:
            yield
        finally:
            reaper.stop()
            scheduler.stop()
            runner.shutdown()
            loop_engine.dispose()
            engine.dispose()
            allowlist.configure(None)

    app = FastAPI(
        title="keyscope",
        version=__version__,
        summary="DCS-compatible cache analysis for Redis and Valkey",
        lifespan=lifespan,
        docs_url=None,  # served by the console router from the vendored Swagger UI
        redoc_url=None,
    )
    for router in ROUTERS:
        app.include_router(router, responses=errors.ERROR_RESPONSES)
    app.openapi = lambda: openapi.document(app)  # type: ignore[method-assign]
    console.mount_static(app)
    errors.install(app)
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(RequestIdMiddleware)  # outermost: every answer gets a request id
    return app
