"""provenance of managed volumes

``volumes.provenance`` holds, as one JSON object, where a managed volume came from
(the reference, the object's original name, size in bytes and identity, when and by
whom). Rows managed before this revision have none: the column is nullable and
nothing is backfilled.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Expand only: a plain ADD COLUMN, no table is rebuilt, on any database.
    op.add_column("volumes", sa.Column("provenance", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("volumes") as batch_op:
        batch_op.drop_column("provenance")
