"""Migration 0003 and the schema states of a rolling upgrade, on SQLite, PostgreSQL, MariaDB.

* A services row written by the previous schema survives the upgrade with no RPC
  version (the column is added, nothing is rebuilt); it goes back down cleanly.
* ``schema_state``: behind this release (sync first), current, or ahead of it (a
  newer release expanded it: this release still runs, see docs/operations.rst).
"""

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tests.db.test_identity_and_sizes import empty_database  # noqa: F401 (a fixture)
from volmgr_common.db import api as db_api
from volmgr_common.db import migration
from volmgr_common.db import services as services_db

PREVIOUS = "0002"


def _alembic_config(db: db_api.Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migration.MIGRATIONS_DIR))
    config.attributes["engine"] = db.engine
    return config


def test_a_service_of_the_previous_schema_keeps_its_row_without_a_version(
    empty_database: db_api.Database,  # noqa: F811
) -> None:
    db = empty_database
    migration.sync(db, PREVIOUS)
    assert migration.schema_state(db) is migration.SchemaState.BEHIND
    with db.engine.begin() as conn:  # the previous release's table, as it is on disk
        services = sa.Table("services", sa.MetaData(), autoload_with=conn)
        conn.execute(
            services.insert().values(
                host="node1@files",
                binary="volmgr-volume",
                topic="volmgr-volume",
                availability_zone="nova",
                disabled=False,
                report_count=0,
                created_at=sa.func.now(),
            )
        )
    migration.sync(db)
    assert migration.schema_state(db) is migration.SchemaState.CURRENT
    [old] = services_db.list_all(db)
    assert (old["host"], old["rpc_version"]) == ("node1@files", None)

    services_db.register(db, "node1@files", "volmgr-volume", "volmgr-volume", "nova", "1.1")
    [restarted] = services_db.list_all(db)
    assert restarted["rpc_version"] == "1.1"

    command.downgrade(_alembic_config(db), PREVIOUS)  # the column goes, the row stays
    assert "rpc_version" not in {c["name"] for c in sa.inspect(db.engine).get_columns("services")}
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM services")).scalar() == 1


def test_a_schema_from_a_newer_release_is_ahead(
    empty_database: db_api.Database,  # noqa: F811
) -> None:
    db = empty_database
    migration.sync(db)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    assert migration.schema_state(db) is migration.SchemaState.AHEAD
    assert not migration.is_current(db)


def test_volmgr_all_starts_on_a_schema_from_a_newer_release(
    empty_database: db_api.Database,  # noqa: F811
) -> None:
    """``volmgr-all`` syncs at start; on a schema a newer release expanded it runs as
    the separate daemons do (a warning), instead of failing in alembic."""
    from volmgr_common.cmd import open_database
    from volmgr_common.conf import startup

    db = empty_database
    migration.sync(db)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    conf = startup.new_conf()
    conf([], project=None, default_config_files=[], default_config_dirs=[])
    conf.set_override("connection", db.engine.url.render_as_string(False), "database")
    opened = open_database(conf, "volmgr-all", sync=True)
    assert migration.current_revision(opened) == "0099"
    opened.engine.dispose()
