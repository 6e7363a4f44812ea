"""adoption plans and jobs

Four new tables: ``adoption_plans`` (a stored preview of adopting a backend's
objects) with its ``adoption_plan_items`` (each object, its verdict and the
fingerprint seen), and ``adoption_jobs`` (a durable adoption or its undo) with its
``adoption_job_items``. Expand only: nothing existing changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDTH = 255


def upgrade() -> None:
    op.create_table(
        "adoption_plans",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(WIDTH), nullable=False, index=True),
        sa.Column("user_id", sa.String(WIDTH)),
        sa.Column("host", sa.String(WIDTH), nullable=False),
        sa.Column("backend", sa.String(WIDTH), nullable=False, index=True),
        sa.Column("target_project_id", sa.String(WIDTH), nullable=False),
        sa.Column("volume_type_id", sa.String(36), nullable=False),
        sa.Column("filters", sa.JSON, nullable=False),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("totals", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("job_id", sa.String(36), unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
    )
    op.create_table(
        "adoption_plan_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "plan_id",
            sa.String(36),
            sa.ForeignKey("adoption_plans.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("source_name", sa.Text, nullable=False),
        sa.Column("reference", sa.JSON, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("fingerprint", sa.JSON, nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("volume_name", sa.String(WIDTH)),
        sa.UniqueConstraint("plan_id", "position", name="uniq_plan_item_position"),
    )
    op.create_table(
        "adoption_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("plan_id", sa.String(36), index=True),
        sa.Column("undo_of", sa.String(36), index=True),
        sa.Column("project_id", sa.String(WIDTH), nullable=False, index=True),
        sa.Column("user_id", sa.String(WIDTH)),
        sa.Column("request_id", sa.String(64)),
        sa.Column("backend", sa.String(WIDTH), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("strict", sa.Boolean, nullable=False),
        sa.Column("max_in_flight", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(64)),
        sa.Column("heartbeat_at", sa.DateTime),
        sa.Column("started_at", sa.DateTime),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
    )
    op.create_table(
        "adoption_job_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "job_id",
            sa.String(36),
            sa.ForeignKey("adoption_jobs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("plan_item_id", sa.Integer),
        sa.Column("source_name", sa.Text, nullable=False),
        sa.Column("volume_id", sa.String(36), index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("detail", sa.JSON),
        sa.Column("updated_at", sa.DateTime),
        sa.UniqueConstraint("job_id", "position", name="uniq_job_item_position"),
    )
    op.create_index("ix_adoption_job_items_job_status", "adoption_job_items", ["job_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_adoption_job_items_job_status", table_name="adoption_job_items")
    op.drop_table("adoption_job_items")
    op.drop_table("adoption_jobs")
    op.drop_table("adoption_plan_items")
    op.drop_table("adoption_plans")
