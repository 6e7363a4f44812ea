"""drift of managed volumes, found by the audit

Two columns on ``volumes`` rather than a table of their own: a volume has at most
one drift at a time (the audit reports the most serious kind it finds), it is read
with the volume wherever the volume is shown, and listings filter on it, so it
belongs on the row. ``drift_kind`` (indexed) is what a listing filters on and what
the audit compares to decide whether anything changed; ``drift`` holds the whole
record (kind, expected, found, since) as JSON and is never queried by its keys.
Rows from before this revision have no drift: both columns are nullable and
nothing is backfilled. The index on ``(status, id)`` lets the audit read the
available volumes a page at a time in id order without sorting them all for
every page.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Expand only: plain ADD COLUMN and CREATE INDEX, no table is rebuilt, on any database.
    op.add_column("volumes", sa.Column("drift_kind", sa.String(length=32), nullable=True))
    op.create_index("ix_volumes_drift_kind", "volumes", ["drift_kind"])
    op.add_column("volumes", sa.Column("drift", sa.JSON(none_as_null=True), nullable=True))
    op.create_index("ix_volumes_status_id", "volumes", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_volumes_status_id", table_name="volumes")
    op.drop_index("ix_volumes_drift_kind", table_name="volumes")
    with op.batch_alter_table("volumes") as batch_op:
        batch_op.drop_column("drift")
        batch_op.drop_column("drift_kind")
