"""MariaDB: a database whose default character set is not utf8mb4 still stores any text."""

import pytest
import sqlalchemy as sa

from tests import databases
from volmgr_common.conf import startup
from volmgr_common.db import api as db_api
from volmgr_common.db import migration, mysql_charset

EMOJI = "\U0001f600"


def _database(url: str) -> db_api.Database:
    conf = startup.new_conf()
    conf([], project="volmgr", default_config_files=[])
    conf.set_override("connection", url, group="database")
    return db_api.Database(conf)


def _charsets(connection: sa.Connection) -> set[str]:
    return set(
        connection.execute(
            sa.text(
                "SELECT DISTINCT c.character_set_name FROM information_schema.tables t "
                "JOIN information_schema.collation_character_set_applicability c "
                "ON c.collation_name = t.table_collation WHERE t.table_schema = DATABASE()"
            )
        ).scalars()
    )


def _foreign_keys(connection: sa.Connection) -> list[tuple[str, ...]]:
    return [
        tuple(row)
        for row in connection.execute(
            sa.text(
                "SELECT k.table_name, k.constraint_name, k.column_name, "
                "k.referenced_table_name, k.referenced_column_name, r.delete_rule "
                "FROM information_schema.key_column_usage k "
                "JOIN information_schema.referential_constraints r "
                "ON r.constraint_schema = k.constraint_schema "
                "AND r.constraint_name = k.constraint_name "
                "WHERE k.table_schema = DATABASE() AND k.referenced_table_name IS NOT NULL "
                "ORDER BY 1, 2, 3"
            )
        )
    ]


@pytest.mark.parametrize("charset", ["latin1", "utf8mb3"])
def test_tables_of_a_latin1_or_utf8mb3_database_become_utf8mb4(
    charset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with databases.throwaway("mysql", charset=charset) as url:
        db = _database(url)
        try:
            with monkeypatch.context() as patch:  # as a release without the conversion did
                patch.setattr(mysql_charset, "ensure_utf8mb4", lambda connection: None)
                migration.sync(db)
            with db.engine.connect() as connection:
                assert _charsets(connection) == {charset}
                keys = _foreign_keys(connection)
            assert keys, "the schema has foreign keys to keep"
            migration.sync(db)  # at head already: converts, changes no revision
            with db.engine.connect() as connection:
                assert _charsets(connection) == {"utf8mb4"}
                assert _foreign_keys(connection) == keys
                found = connection.execute(
                    sa.text("SELECT COUNT(*) FROM volumes WHERE display_name = :name"),
                    {"name": EMOJI},
                ).scalar_one()
                assert found == 0
        finally:
            db.dispose()
