"""services record the RPC API version they answer

An expand-only step: one nullable column, added without rebuilding the table, that
services of the previous release neither read nor write (their rows keep NULL until
they restart on the new release). ``volmgr-status upgrade check`` reads it to tell
whether every service is on the newest version and which ``[upgrade_levels]`` caps
are still needed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("services", sa.Column("rpc_version", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("services") as batch_op:
        batch_op.drop_column("rpc_version")
