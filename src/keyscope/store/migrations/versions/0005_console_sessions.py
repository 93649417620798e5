"""Console sessions: a bearer token is valid while its row lives (revoked at sign-out).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from keyscope.store.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("access_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_console_sessions_access_key", "console_sessions", ["access_key"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_access_key", table_name="console_sessions")
    op.drop_table("console_sessions")
