"""Alembic migrations run from code: ``volmgr-manage db sync`` and the tests use this.

Migrations only expand the schema (docs/operations.rst, "Upgrades"): a schema that a
newer release has migrated still serves this release's code, so a daemon of the
previous release keeps running, and may restart, while the deployment is upgraded.
"""

import enum
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

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


def head_revision(db: Database) -> str | None:
    """The newest revision this release knows."""
    return ScriptDirectory.from_config(_alembic_config(db)).get_current_head()


def is_current(db: Database) -> bool:
    """True when the database is at the newest revision."""
    return current_revision(db) == head_revision(db)


class SchemaState(enum.Enum):
    """Where a database's schema stands against this release's migrations."""

    CURRENT = "current"
    BEHIND = "behind"
    """Older than this release's head (or empty): ``volmgr-manage db sync`` first."""
    AHEAD = "ahead"
    """At a revision this release does not know: a newer release expanded it."""


def schema_state(db: Database) -> SchemaState:
    """Whether this release's code can run on the database's schema, and why not."""
    revision = current_revision(db)
    if revision == head_revision(db):
        return SchemaState.CURRENT
    if revision is None:
        return SchemaState.BEHIND
    known = {
        script.revision
        for script in ScriptDirectory.from_config(_alembic_config(db)).walk_revisions()
    }
    return SchemaState.BEHIND if revision in known else SchemaState.AHEAD
