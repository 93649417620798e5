"""Alembic environment and revisions of the keyscope schema."""
