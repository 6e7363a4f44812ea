"""Migration 0010 (chain adoption), on SQLite, PostgreSQL and MariaDB.

The columns it adds are the columns the models describe (no difference Alembic's
comparison can see), a volume row written before it survives it as a volume
adopted alone, and it goes back down cleanly.
"""

import sqlalchemy as sa
from alembic import command

from tests.db.test_identity_and_sizes import empty_database, insert_old_volume  # noqa: F401
from tests.db.test_models_match_migrations import _differences
from tests.db.test_upgrade_schema import _alembic_config
from volmgr_common.db import api as db_api
from volmgr_common.db import migration, volumes

PREVIOUS = "0009"
"""The revision before 0010."""


def _columns(db: db_api.Database, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(db.engine).get_columns(table)}


def test_0010_adds_the_chain_columns_of_the_models_and_goes_back_down(
    empty_database: db_api.Database,  # noqa: F811
) -> None:
    db = empty_database
    migration.sync(db, PREVIOUS)
    old_id = insert_old_volume(db)
    migration.sync(db)
    assert migration.is_current(db)
    old = volumes.get(db, old_id)
    assert (old["status"], old["with_snapshots"]) == ("available", False)
    assert _differences(db) == []

    command.downgrade(_alembic_config(db), PREVIOUS)
    assert "with_snapshots" not in _columns(db, "volumes")
    assert "chain_link" not in _columns(db, "snapshots")
    with db.engine.connect() as connection:
        status = connection.execute(
            sa.text("SELECT status FROM volumes WHERE id = :id"), {"id": old_id}
        ).scalar_one()
    assert status == "available"
