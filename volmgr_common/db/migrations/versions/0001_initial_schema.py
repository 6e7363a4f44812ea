"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_uuid", sa.String(length=36), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("message_level", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_project_id"), ["project_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_messages_resource_uuid"), ["resource_uuid"], unique=False
        )

    op.create_table(
        "quota_usages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=255), nullable=False),
        sa.Column("in_use", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "resource", name="uniq_usage_resource"),
    )
    op.create_table(
        "quotas",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=255), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "resource", name="uniq_quota_resource"),
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=255), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=True),
        sa.Column("expire", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reservations_expire"), ["expire"], unique=False)
        batch_op.create_index(batch_op.f("ix_reservations_uuid"), ["uuid"], unique=False)
        batch_op.create_index(batch_op.f("ix_reservations_volume_id"), ["volume_id"], unique=False)

    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("binary", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("availability_zone", sa.String(length=255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=255), nullable=True),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("last_heartbeat", sa.DateTime(), nullable=True),
        sa.Column("capabilities", sa.Text(), nullable=True),
        sa.Column("capabilities_updated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("host", "binary", name="uniq_service_host_binary"),
    )
    op.create_table(
        "volume_types",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "volume_type_extra_specs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("volume_type_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["volume_type_id"], ["volume_types.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("volume_type_id", "key", name="uniq_type_spec_key"),
    )
    with op.batch_alter_table("volume_type_extra_specs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_volume_type_extra_specs_volume_type_id"),
            ["volume_type_id"],
            unique=False,
        )

    op.create_table(
        "volumes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("display_description", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("availability_zone", sa.String(length=255), nullable=False),
        sa.Column("volume_type_id", sa.String(length=36), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("bootable", sa.Boolean(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("reference_key", sa.String(length=64), nullable=True),
        sa.Column("provider_location", sa.String(length=255), nullable=True),
        sa.Column("quota_volumes", sa.Boolean(), nullable=False),
        sa.Column("quota_gigabytes", sa.Integer(), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("flow_owner", sa.String(length=64), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(), nullable=True),
        sa.Column("launched_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["volume_type_id"],
            ["volume_types.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference_key"),
    )
    with op.batch_alter_table("volumes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volumes_host"), ["host"], unique=False)
        batch_op.create_index(batch_op.f("ix_volumes_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_volumes_status"), ["status"], unique=False)

    op.create_table(
        "volume_metadata",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["volume_id"], ["volumes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("volume_id", "key", name="uniq_volume_metadata_key"),
    )
    with op.batch_alter_table("volume_metadata", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_volume_metadata_volume_id"), ["volume_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("volume_metadata", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_metadata_volume_id"))

    op.drop_table("volume_metadata")
    with op.batch_alter_table("volumes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volumes_status"))
        batch_op.drop_index(batch_op.f("ix_volumes_project_id"))
        batch_op.drop_index(batch_op.f("ix_volumes_host"))

    op.drop_table("volumes")
    with op.batch_alter_table("volume_type_extra_specs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_type_extra_specs_volume_type_id"))

    op.drop_table("volume_type_extra_specs")
    op.drop_table("volume_types")
    op.drop_table("services")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservations_volume_id"))
        batch_op.drop_index(batch_op.f("ix_reservations_uuid"))
        batch_op.drop_index(batch_op.f("ix_reservations_expire"))

    op.drop_table("reservations")
    op.drop_table("quotas")
    op.drop_table("quota_usages")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_resource_uuid"))
        batch_op.drop_index(batch_op.f("ix_messages_project_id"))

    op.drop_table("messages")
