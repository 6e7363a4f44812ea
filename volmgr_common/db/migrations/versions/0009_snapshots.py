"""managed snapshots and their metadata

``snapshots`` holds the snapshots volmgr manages: Cinder's columns that volmgr needs
(volume, project, user, name, description, status, volume size, progress, provider
location), the reference and identity keys of the double-manage guard, the quota each
row holds, and the flow owner fields recovery reads, as volumes have them.
``snapshot_metadata`` holds their key/value metadata. Expand only: two new tables.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("display_description", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("volume_type_id", sa.String(length=36), nullable=True),
        sa.Column("volume_size", sa.BigInteger(), nullable=True),
        sa.Column("progress", sa.String(length=255), nullable=True),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("reference_key", sa.String(length=64), nullable=True),
        sa.Column("backend_identity", sa.String(length=255), nullable=True),
        sa.Column("identity_key", sa.String(length=64), nullable=True),
        sa.Column("provenance", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("provider_location", sa.String(length=255), nullable=True),
        sa.Column("quota_snapshots", sa.Boolean(), nullable=False),
        sa.Column("quota_gigabytes", sa.BigInteger(), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("failure_detail", sa.String(length=16), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("flow_owner", sa.String(length=64), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["volume_id"], ["volumes.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference_key"),
    )
    op.create_index("ix_snapshots_volume_id", "snapshots", ["volume_id"])
    op.create_index("ix_snapshots_project_id", "snapshots", ["project_id"])
    op.create_index("ix_snapshots_status", "snapshots", ["status"])
    op.create_index("ix_snapshots_host", "snapshots", ["host"])
    op.create_index("uq_snapshots_identity_key", "snapshots", ["identity_key"], unique=True)
    op.create_table(
        "snapshot_metadata",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("snapshot_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshots.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("snapshot_id", "key", name="uniq_snapshot_metadata_key"),
    )
    op.create_index("ix_snapshot_metadata_snapshot_id", "snapshot_metadata", ["snapshot_id"])


def downgrade() -> None:
    # Dropping a table drops its indexes (MySQL refuses to drop the index of a
    # foreign key on its own).
    op.drop_table("snapshot_metadata")
    op.drop_table("snapshots")
