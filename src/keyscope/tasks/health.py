"""``keyscope worker --check``: what the fleet looks like from the shared database."""

from __future__ import annotations

from dataclasses import dataclass, field

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from keyscope.store import migrate


@dataclass(slots=True)
class FleetHealth:
    database: bool = False
    schema_current: bool = False
    queue_schema: bool = False
    live_workers: int = 0
    jobs: dict[str, int] = field(default_factory=dict)
    running_tasks: int = 0
    waiting_tasks: int = 0
    problem: str | None = None

    @property
    def healthy(self) -> bool:
        return self.database and self.schema_current and self.queue_schema

    def lines(self) -> list[str]:
        yes = {True: "ok", False: "NOT OK"}
        out = [
            f"database:      {yes[self.database]}",
            f"schema:        {yes[self.schema_current]}",
            f"queue schema:  {yes[self.queue_schema]}",
            f"live workers:  {self.live_workers}",
            "jobs:          " + (", ".join(f"{k} {v}" for k, v in sorted(self.jobs.items()))
                                 or "none"),
            f"tasks:         {self.running_tasks} running, {self.waiting_tasks} waiting",
            f"status:        {'healthy' if self.healthy else 'unhealthy'}",
        ]  # fmt: skip
        if self.problem:
            out.append(f"problem:       {self.problem}")
        return out


def fleet_health(engine: Engine, *, stall_after_s: float) -> FleetHealth:
    """Probe the database once (no retries); never raises for a database problem."""
    report = FleetHealth()
    try:
        with engine.connect() as connection:
            report.database = True
            head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
            current = MigrationContext.configure(connection).get_current_revision()
            report.schema_current = current == head
            present = connection.scalar(text("SELECT to_regclass('procrastinate_jobs')"))
            report.queue_schema = present is not None
            if report.queue_schema:
                report.live_workers = int(
                    connection.scalar(
                        text(
                            "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat"
                            " > now() - make_interval(secs => :s)"
                        ),
                        {"s": stall_after_s},
                    )
                    or 0
                )
                rows = connection.execute(
                    text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1")
                )
                report.jobs = {str(status): int(count) for status, count in rows}
            if report.schema_current:
                rows = connection.execute(
                    text("SELECT status, count(*) FROM tasks GROUP BY status")
                )
                counts = {str(status): int(count) for status, count in rows}
                report.running_tasks = counts.get("running", 0)
                report.waiting_tasks = counts.get("waiting", 0)
    except SQLAlchemyError as exc:
        # The class only: a driver message could quote the connection string.
        report.problem = f"database unreachable or failing ({type(exc).__name__})"
    return report
