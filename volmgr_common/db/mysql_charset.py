"""MySQL/MariaDB: every table in utf8mb4, whatever the database's default character set.

A table takes its database's default character set when it is created. MariaDB's
default is often latin1 or utf8mb3, in which text outside Latin-1 or outside the
Basic Multilingual Plane (``é`` is fine in latin1, ``€`` not; an emoji in neither)
cannot be stored ("Incorrect string value") and cannot even be compared with the
connection's utf8mb4 text ("Illegal mix of collations"): a user's name, a filter or
an identity header became a server error. Before migrating, the database's default
becomes utf8mb4 and every table still in another character set is converted, so
new and existing databases alike store any text PostgreSQL and SQLite store.
"""

import dataclasses

import sqlalchemy as sa

CHARSET = "utf8mb4"


def ensure_utf8mb4(connection: sa.Connection) -> None:
    """Make ``connection``'s database and all its tables utf8mb4 (MySQL/MariaDB only)."""
    if connection.dialect.name != "mysql":
        return
    database = connection.exec_driver_sql("SELECT DATABASE()").scalar_one()
    connection.exec_driver_sql(f"ALTER DATABASE `{database}` CHARACTER SET {CHARSET}")
    tables = connection.execute(
        sa.text(
            "SELECT t.table_name FROM information_schema.tables t "
            "JOIN information_schema.collation_character_set_applicability c "
            "ON c.collation_name = t.table_collation "
            "WHERE t.table_schema = :schema AND t.table_type = 'BASE TABLE' "
            "AND c.character_set_name <> :charset"
        ),
        {"schema": database, "charset": CHARSET},
    ).scalars()
    pending = list(tables)
    if not pending:
        return
    # MariaDB refuses to change a column a foreign key joins, even with checks off:
    # drop the keys, convert every table, then add the same keys back.
    keys = _foreign_keys(connection, database)
    for key in keys:
        connection.exec_driver_sql(f"ALTER TABLE `{key.table}` DROP FOREIGN KEY `{key.name}`")
    for table in pending:
        connection.exec_driver_sql(f"ALTER TABLE `{table}` CONVERT TO CHARACTER SET {CHARSET}")
    for key in keys:
        connection.exec_driver_sql(key.add_statement())


@dataclasses.dataclass(frozen=True)
class _ForeignKey:
    name: str
    table: str
    columns: tuple[str, ...]
    referenced_table: str
    referenced_columns: tuple[str, ...]
    on_delete: str
    on_update: str

    def add_statement(self) -> str:
        columns = ", ".join(f"`{c}`" for c in self.columns)
        referenced = ", ".join(f"`{c}`" for c in self.referenced_columns)
        return (
            f"ALTER TABLE `{self.table}` ADD CONSTRAINT `{self.name}` FOREIGN KEY ({columns}) "
            f"REFERENCES `{self.referenced_table}` ({referenced}) "
            f"ON DELETE {self.on_delete} ON UPDATE {self.on_update}"
        )


def _foreign_keys(connection: sa.Connection, database: str) -> list[_ForeignKey]:
    rows = connection.execute(
        sa.text(
            "SELECT k.constraint_name, k.table_name, k.column_name, "
            "k.referenced_table_name, k.referenced_column_name, r.delete_rule, r.update_rule "
            "FROM information_schema.key_column_usage k "
            "JOIN information_schema.referential_constraints r "
            "ON r.constraint_schema = k.constraint_schema "
            "AND r.constraint_name = k.constraint_name AND r.table_name = k.table_name "
            "WHERE k.table_schema = :schema AND k.referenced_table_name IS NOT NULL "
            "ORDER BY k.table_name, k.constraint_name, k.ordinal_position"
        ),
        {"schema": database},
    ).all()
    grouped: dict[tuple[str, str], list[sa.Row]] = {}
    for row in rows:
        grouped.setdefault((row[1], row[0]), []).append(row)
    return [
        _ForeignKey(
            name=name,
            table=table,
            columns=tuple(r[2] for r in parts),
            referenced_table=parts[0][3],
            referenced_columns=tuple(r[4] for r in parts),
            on_delete=parts[0][5],
            on_update=parts[0][6],
        )
        for (table, name), parts in grouped.items()
    ]
