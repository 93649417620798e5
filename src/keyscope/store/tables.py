"""The whole schema, as SQLAlchemy 2 typed ORM classes; portable to SQLite and PostgreSQL.

Times are stored as UTC (``UTCDateTime`` re-attaches the zone SQLite drops). One ``tasks``
table holds every analysis kind (bigkey, hotkey, expire, offline): the lifecycle columns are
shared, kind-specific output goes to the JSON ``result`` column, and an offline analysis adds
one ``offline_analyses`` row with the node and backup it read. A partial unique index makes
"one waiting or running analysis per instance and kind" a database rule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


ACTIVE_STATUSES = ("waiting", "running")


class InstanceRow(Base):
    """A registered Redis deployment of one project; the password and the TLS client key are
    stored encrypted (``store.instance_logins`` turns these columns into an ``Auth``)."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(16))
    addresses: Mapped[list[Any]] = mapped_column()
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(255))
    """The ACL user keyscope logs in as; None: the default user."""
    tls: Mapped[dict[str, Any] | None] = mapped_column()
    """TLS settings (``ca_cert``, ``client_cert``, ``server_name``, ``verify``); None: plain."""
    tls_client_key_encrypted: Mapped[str | None] = mapped_column(Text)
    engine: Mapped[str] = mapped_column(String(32))
    engine_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    nodes: Mapped[list[NodeRow]] = relationship(
        back_populates="instance", cascade="all, delete-orphan", passive_deletes=True,
        order_by="NodeRow.position",
    )  # fmt: skip


class NodeRow(Base):
    """One redis-server of an instance as last discovered (the ``node_id`` source)."""

    __tablename__ = "nodes"

    instance_id: Mapped[str] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True
    )
    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[str] = mapped_column(String(64))
    group_name: Mapped[str] = mapped_column(String(255))

    instance: Mapped[InstanceRow] = relationship(back_populates="nodes")


class TaskRow(Base):
    """One analysis of any kind, with its lifecycle and its result."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_instance_kind_created", "instance_id", "kind", "created_at"),
        Index(
            "uq_tasks_one_active_per_instance_kind", "instance_id", "kind", unique=True,
            sqlite_where=text("status IN ('waiting', 'running')"),
            postgresql_where=text("status IN ('waiting', 'running')"),
        ),
    )  # fmt: skip

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    scan_type: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    """Why the task failed, safe to show (never a secret)."""
    num: Mapped[int] = mapped_column(Integer, default=0)
    keys_scanned: Mapped[int] = mapped_column(BigInteger, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column()
    params: Mapped[dict[str, Any] | None] = mapped_column()
    """What the task was asked to do beyond its kind (e.g. an expire scan's timeout)."""


class OfflineAnalysisRow(Base):
    """What an offline analysis task reads: one node's backup."""

    __tablename__ = "offline_analyses"

    task_id: Mapped[str] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    node_id: Mapped[str] = mapped_column(String(64))
    backup_id: Mapped[str | None] = mapped_column(String(36))
    analysis_type: Mapped[str] = mapped_column(String(16))
    """``new_backup`` or ``old_backup``."""
    group_name: Mapped[str | None] = mapped_column(String(255))
    node_ip: Mapped[str | None] = mapped_column(String(255))
    node_type: Mapped[str | None] = mapped_column(String(16))
    result: Mapped[dict[str, Any] | None] = mapped_column()


class AutoscanConfigRow(Base):
    """Daily auto big-key or hot-key analysis of one instance (``kind`` bigkey|hotkey)."""

    __tablename__ = "autoscan_configs"

    instance_id: Mapped[str] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    enable_auto_scan: Mapped[bool] = mapped_column(Boolean, default=False)
    schedule_at: Mapped[list[Any]] = mapped_column()
    updated_at: Mapped[datetime]
    last_fired_at: Mapped[datetime | None]
    """The scheduled time that last fired, so a restart neither repeats nor loses one."""


class ExpireAutoscanConfigRow(Base):
    """Periodic expired-key scan of one instance."""

    __tablename__ = "expire_autoscan_configs"

    instance_id: Mapped[str] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True
    )
    enable_auto_scan: Mapped[bool] = mapped_column(Boolean, default=False)
    first_scan_at: Mapped[datetime | None]
    interval: Mapped[int] = mapped_column(Integer)
    timeout: Mapped[int] = mapped_column(Integer)
    scan_keys_count: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
    last_fired_at: Mapped[datetime | None]


class BackupRow(Base):
    """An RDB backup of an instance (manual or auto): one file per shard, in ``files``.

    ``node_id`` and ``path`` name the file when the backup holds exactly one (a
    standalone or master/replica instance, one asked-for node, an upload)."""

    __tablename__ = "backups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), index=True
    )
    node_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    """``waiting`` | ``backuping`` | ``succeed`` | ``failed``."""
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    path: Mapped[str | None] = mapped_column(Text)
    remark: Mapped[str | None] = mapped_column(Text)
    backup_format: Mapped[str] = mapped_column(String(8), default="rdb")
    backup_type: Mapped[str] = mapped_column(String(8), default="manual")
    error_code: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    """Why a failed backup failed, safe to show (keyscope addition)."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    execution_at: Mapped[datetime | None]

    files: Mapped[list[BackupFileRow]] = relationship(
        back_populates="backup", cascade="all, delete-orphan", passive_deletes=True,
        order_by="BackupFileRow.position",
    )  # fmt: skip


class BackupFileRow(Base):
    """The RDB file of one shard in a backup, read from one node of that shard.

    A partial unique index makes "at most one backup per node at a time" a database rule:
    a node has at most one file ``waiting`` or ``backuping``."""

    __tablename__ = "backup_files"
    __table_args__ = (
        Index(
            "uq_backup_files_one_active_per_node", "instance_id", "node_id", unique=True,
            sqlite_where=text("status IN ('waiting', 'backuping')"),
            postgresql_where=text("status IN ('waiting', 'backuping')"),
        ),
    )  # fmt: skip

    backup_id: Mapped[str] = mapped_column(
        ForeignKey("backups.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36))
    node_id: Mapped[str | None] = mapped_column(String(64))
    """The node the file was read from (None for an uploaded file)."""
    group_id: Mapped[str | None] = mapped_column(String(64))
    group_name: Mapped[str | None] = mapped_column(String(255))
    shard: Mapped[str | None] = mapped_column(String(300))
    """The shard's master as ``ip:port``, the label the online analyses use."""
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    """``waiting`` | ``backuping`` | ``succeed`` | ``failed``."""
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    path: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    """Why the file could not be taken (names the node, never a secret)."""

    backup: Mapped[BackupRow] = relationship(back_populates="files")
