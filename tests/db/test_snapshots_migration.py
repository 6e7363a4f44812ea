"""Migration 0009 (snapshots and their metadata), on SQLite, PostgreSQL and MariaDB.

The tables it makes are the tables the models describe (no difference Alembic's
comparison can see), a volume row written before it survives it, and it goes back
down cleanly.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.db.test_identity_and_sizes import _database
from tests.db.test_provenance_migration import _insert_old_volume
from tests.db.test_upgrade_schema import _alembic_config
from volmgr_common.db import api as db_api
from volmgr_common.db import migration, models, volumes

SNAPSHOT_TABLES = {"snapshots", "snapshot_metadata"}


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[db_api.Database]:
    yield from _database(request.param, tmp_path)


def _of_snapshot_tables(
    obj: object, name: str | None, kind: str, reflected: bool, compare_to: object
) -> bool:
    table = obj if kind == "table" else getattr(obj, "table", None)
    return getattr(table, "name", None) in SNAPSHOT_TABLES


def _differences(db: db_api.Database) -> list[object]:
    """What Alembic finds between the models and the database, for the snapshot tables."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": _of_snapshot_tables, "compare_type": True}
        )
        return list(compare_metadata(context, models.Base.metadata))


def test_0009_makes_the_snapshot_tables_of_the_models_and_goes_back_down(
    empty_database: db_api.Database,
) -> None:
    db = empty_database
    migration.sync(db, "0006")
    old_id = _insert_old_volume(db)
    migration.sync(db)
    assert migration.is_current(db)
    assert volumes.get(db, old_id)["status"] == "available"
    assert _differences(db) == []

    command.downgrade(_alembic_config(db), "0006")
    tables = set(sa.inspect(db.engine).get_table_names())
    assert not tables & SNAPSHOT_TABLES
    assert volumes.get(db, old_id)["status"] == "available"
