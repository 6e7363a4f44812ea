"""Alembic migrations run from code: ``volmgr-manage db sync`` and the tests use this."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from volmgr_common.db.api import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = db.engine
    return config


def sync(db: Database, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (the newest by default)."""
    command.upgrade(_alembic_config(db), revision)


def current_revision(db: Database) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(db: Database) -> bool:
    """True when the database is at the newest revision."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config(db)).get_current_head()
    return current_revision(db) == head
