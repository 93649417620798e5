"""The first schema: instances, nodes, tasks, autoscan configs, backups, offline analyses.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 11:02:03.383805
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import keyscope.store.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=True),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("engine_version", sa.String(length=32), nullable=False),
        sa.Column("created_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instances_project_id"), ["project_id"], unique=False)

    op.create_table(
        "autoscan_configs",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("enable_auto_scan", sa.Boolean(), nullable=False),
        sa.Column("schedule_at", sa.JSON(), nullable=False),
        sa.Column("updated_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_fired_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("instance_id", "kind"),
    )
    op.create_table(
        "backups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("remark", sa.Text(), nullable=True),
        sa.Column("backup_format", sa.String(length=8), nullable=False),
        sa.Column("backup_type", sa.String(length=8), nullable=False),
        sa.Column("error_code", sa.String(length=16), nullable=True),
        sa.Column("created_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("execution_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("backups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backups_instance_id"), ["instance_id"], unique=False)

    op.create_table(
        "expire_autoscan_configs",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("enable_auto_scan", sa.Boolean(), nullable=False),
        sa.Column("first_scan_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("scan_keys_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_fired_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    op.create_table(
        "nodes",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("group_name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("instance_id", "node_id"),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scan_type", sa.String(length=16), nullable=False),
        sa.Column("created_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", keyscope.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("num", sa.Integer(), nullable=False),
        sa.Column("keys_scanned", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_instance_kind_created", ["instance_id", "kind", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tasks_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_tasks_one_active_per_instance_kind",
            ["instance_id", "kind"],
            unique=True,
            sqlite_where=sa.text("status IN ('waiting', 'running')"),
            postgresql_where=sa.text("status IN ('waiting', 'running')"),
        )

    op.create_table(
        "offline_analyses",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("backup_id", sa.String(length=36), nullable=True),
        sa.Column("analysis_type", sa.String(length=16), nullable=False),
        sa.Column("group_name", sa.String(length=255), nullable=True),
        sa.Column("node_ip", sa.String(length=255), nullable=True),
        sa.Column("node_type", sa.String(length=16), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id"),
    )


def downgrade() -> None:
    op.drop_table("offline_analyses")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_tasks_one_active_per_instance_kind",
            sqlite_where=sa.text("status IN ('waiting', 'running')"),
            postgresql_where=sa.text("status IN ('waiting', 'running')"),
        )
        batch_op.drop_index(batch_op.f("ix_tasks_status"))
        batch_op.drop_index("ix_tasks_instance_kind_created")

    op.drop_table("tasks")
    op.drop_table("nodes")
    op.drop_table("expire_autoscan_configs")
    with op.batch_alter_table("backups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backups_instance_id"))

    op.drop_table("backups")
    op.drop_table("autoscan_configs")
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instances_project_id"))

    op.drop_table("instances")
