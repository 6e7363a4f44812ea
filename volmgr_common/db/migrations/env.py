"""Alembic environment: runs migrations on the engine handed over by migration.py."""

from alembic import context

from volmgr_common.db import models, mysql_charset

config = context.config
target_metadata = models.Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        mysql_charset.ensure_utf8mb4(connection)
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
