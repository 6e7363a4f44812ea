"""Migration 0009 (snapshots and their metadata), on SQLite, PostgreSQL and MariaDB.

The tables it makes are the tables the models describe (no difference Alembic's
comparison can see), a volume row written before it survives it, and it goes back
down cleanly.
"""

import sqlalchemy as sa
from alembic import command

from tests.db.test_identity_and_sizes import empty_database, insert_old_volume  # noqa: F401
from tests.db.test_models_match_migrations import _differences
from tests.db.test_upgrade_schema import _alembic_config
from volmgr_common.db import api as db_api
from volmgr_common.db import migration, volumes

SNAPSHOT_TABLES = {"snapshots", "snapshot_metadata"}
PREVIOUS = "0008"
"""The revision before 0009."""


def test_0009_makes_the_snapshot_tables_of_the_models_and_goes_back_down(
    empty_database: db_api.Database,  # noqa: F811
) -> None:
    db = empty_database
    migration.sync(db, PREVIOUS)
    old_id = insert_old_volume(db)
    migration.sync(db)
    assert migration.is_current(db)
    assert volumes.get(db, old_id)["status"] == "available"
    assert _differences(db) == []

    command.downgrade(_alembic_config(db), PREVIOUS)
    tables = set(sa.inspect(db.engine).get_table_names())
    assert not tables & SNAPSHOT_TABLES
    # Read with plain SQL: the models describe the newest schema, not 0008's.
    with db.engine.connect() as connection:
        status = connection.execute(
            sa.text("SELECT status FROM volumes WHERE id = :id"), {"id": old_id}
        ).scalar_one()
    assert status == "available"
