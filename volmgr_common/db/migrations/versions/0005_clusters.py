"""clusters of volume services

A volume service that is a member of a cluster records the cluster's backend name
(``cluster@backend``) in ``services.cluster_name``; a volume managed through a
cluster records it in ``volumes.cluster_name``. Both columns are empty on a backend
of one service, so existing rows need nothing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX: no table is rebuilt, on any database.
    op.add_column("services", sa.Column("cluster_name", sa.String(length=255), nullable=True))
    op.create_index("ix_services_cluster_name", "services", ["cluster_name"])
    op.add_column("volumes", sa.Column("cluster_name", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("volumes") as batch_op:
        batch_op.drop_column("cluster_name")
    op.drop_index("ix_services_cluster_name", table_name="services")
    with op.batch_alter_table("services") as batch_op:
        batch_op.drop_column("cluster_name")
