"""backend identity of volumes; GiB columns as BigInteger

Every column that holds GiB (volume size, the gigabytes a row holds, quota limits,
usage and reservation deltas) becomes a BigInteger: a backend may report sizes
beyond 2^31 GiB (a qcow2 header can claim 2^64 bytes). Volumes get the identity of
their backend object (``backend_identity``) and a unique ``identity_key`` (backend
and identity, hashed), so that two live rows never hold one object.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, nullable) of every column that holds GiB.
GIB_COLUMNS = (
    ("volumes", "size", True),
    ("volumes", "quota_gigabytes", False),
    ("quotas", "hard_limit", False),
    ("quota_usages", "in_use", False),
    ("quota_usages", "reserved", False),
    ("reservations", "delta", False),
)


def _retype(old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    # SQLite stores every INTEGER column as up to 64 bits already (its type is an
    # affinity); rebuilding its tables would only risk the rows their foreign keys hold.
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, nullable in GIB_COLUMNS:
        op.alter_column(table, column, existing_type=old, type_=new, existing_nullable=nullable)


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())
    # Plain ADD COLUMN and CREATE INDEX: no table is rebuilt, on any database.
    op.add_column("volumes", sa.Column("backend_identity", sa.String(length=255), nullable=True))
    op.add_column("volumes", sa.Column("identity_key", sa.String(length=64), nullable=True))
    op.create_index("uq_volumes_identity_key", "volumes", ["identity_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_volumes_identity_key", table_name="volumes")
    with op.batch_alter_table("volumes") as batch_op:
        batch_op.drop_column("identity_key")
        batch_op.drop_column("backend_identity")
    _retype(sa.BigInteger(), sa.Integer())
