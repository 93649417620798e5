"""Instances log in as an ACL user and may speak TLS: username, tls, tls_client_key_encrypted.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("tls", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("tls_client_key_encrypted", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_column("tls_client_key_encrypted")
        batch_op.drop_column("tls")
        batch_op.drop_column("username")
