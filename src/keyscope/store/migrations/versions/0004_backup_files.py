"""Backups hold one file per shard: the backup_files table, one active file per node.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('waiting', 'backuping')"


def upgrade() -> None:
    op.create_table(
        "backup_files",
        sa.Column("backup_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=True),
        sa.Column("group_id", sa.String(length=64), nullable=True),
        sa.Column("group_name", sa.String(length=255), nullable=True),
        sa.Column("shard", sa.String(length=300), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["backup_id"], ["backups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("backup_id", "position"),
    )
    with op.batch_alter_table("backup_files", schema=None) as batch_op:
        batch_op.create_index(
            "uq_backup_files_one_active_per_node",
            ["instance_id", "node_id"],
            unique=True,
            sqlite_where=sa.text(ACTIVE),
            postgresql_where=sa.text(ACTIVE),
        )
    # every backup taken before holds its one file (an unfinished one is failed at start)
    op.execute(
        "INSERT INTO backup_files"
        " (backup_id, position, instance_id, node_id, status, size, path, reason)"
        " SELECT id, 0, instance_id, node_id,"
        f" CASE WHEN {ACTIVE} THEN 'failed' ELSE status END, size, path, reason FROM backups"
    )


def downgrade() -> None:
    with op.batch_alter_table("backup_files", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_backup_files_one_active_per_node",
            sqlite_where=sa.text(ACTIVE),
            postgresql_where=sa.text(ACTIVE),
        )
    op.drop_table("backup_files")
