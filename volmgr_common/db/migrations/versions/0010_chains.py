"""chain adoption: a volume adopted with its snapshots

``volumes.with_snapshots`` says that a ``managing`` volume's request adopts the
object together with the snapshots built on it (its chain): the volume service
then runs the chain flow, and its recovery resumes that flow, whichever message
brought the request. ``snapshots.chain_link`` marks a snapshot row written by a
chain adoption and holds what the chain flow recorded of its member before any
rename: its position in the chain (0 is closest to the base) and the backing
reference and format its header held (image chains), which a put-back writes back.
A row with a chain link is its volume's flow's: the snapshot recovery scans leave
it alone. Expand only: two nullable/defaulted columns, nothing backfilled.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "volumes",
        sa.Column("with_snapshots", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("snapshots", sa.Column("chain_link", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("snapshots") as batch_op:
        batch_op.drop_column("chain_link")
    with op.batch_alter_table("volumes") as batch_op:
        batch_op.drop_column("with_snapshots")
