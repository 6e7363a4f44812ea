"""orphans found by the audit

``backend_orphans`` holds, per backend, the objects in managed form that no volume
row knew when the last audit looked: what the backend said of each (volume id,
identity, size, original name, project, marks) and when audits first and last saw
it (the database's time of their reading of the backend). An audit rewrites its
backend's rows (it keeps ``first_seen_at`` while the same object stays an orphan
under the same name, and drops the rows that no reading since its own saw); the
listing reads them a page at a time in name order, along the primary key
``(backend, name)``. Expand only: one new table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backend_orphans",
        sa.Column("backend", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("identity", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("original_name", sa.Text(), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("marks", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("backend", "name"),
    )
    op.create_index("ix_backend_orphans_volume_id", "backend_orphans", ["volume_id"])


def downgrade() -> None:
    op.drop_table("backend_orphans")
