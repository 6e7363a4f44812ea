"""Migration 0003, on SQLite, PostgreSQL and MariaDB: messages written before it are
rewritten in Cinder's form, and volumes get the column of a failure's detail."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.db.test_identity_and_sizes import _database
from volmgr_common.db import api as db_api
from volmgr_common.db import messages as messages_db
from volmgr_common.db import migration, models

OLD_MESSAGES = {
    "No valid backend was found. backend n@b has no pool 'x'": (
        "VOLUME_VOLUME_901_003",
        "manage existing volume: Could not find any available weighted backend.",
    ),
    "Manage existing volume failed due to invalid backend reference {'source-name': 'a'}: "
    "no file 'a' exists in /srv/volmgr/files": (
        "VOLUME_VOLUME_901_901",
        "manage existing volume: "
        "The backend reference does not name an object that can be managed.",
    ),
    "Requested 3 of gigabytes exceeds the quota of project p1: limit 1, in use 0, reserved 0.": (
        "VOLUME_VOLUME_901_006",
        "manage existing volume: Not enough quota resource for operation.",
    ),
    "Internal error in the volume service (request req-1).": (
        "VOLUME_VOLUME_901_001",
        "manage existing volume: An unknown error occurred.",
    ),
}


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[db_api.Database]:
    yield from _database(request.param, tmp_path)


def test_messages_of_0002_are_rewritten_in_cinders_form(empty_database: db_api.Database) -> None:
    db = empty_database
    migration.sync(db, "0002")
    stages = ["VOLUME", "SCHEDULER", "RECOVERY", "VOLUME"]
    with db.engine.begin() as connection:
        for words, stage in zip(OLD_MESSAGES, stages, strict=True):
            connection.execute(
                sa.text(
                    "INSERT INTO messages (id, project_id, resource_type, resource_uuid, "
                    "event_id, message_level, detail, created_at) VALUES (:id, 'p1', "
                    "'VOLUME', :uuid, :event, 'ERROR', :detail, :now)"
                ),
                {
                    "id": str(uuid.uuid4()),
                    "uuid": str(uuid.uuid4()),
                    "event": f"MANAGE_EXISTING_{stage}_FAILED",
                    "detail": words,
                    "now": models.utcnow(),
                },
            )
    migration.sync(db)
    rewritten = sorted(
        (m["event_id"], m["user_message"]) for m in messages_db.list_for(db, project_id="p1")
    )
    assert rewritten == sorted(OLD_MESSAGES.values())
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("volumes")}
    assert "failure_detail" in columns
