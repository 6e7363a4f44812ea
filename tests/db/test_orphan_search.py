"""The orphan search's database side on SQLite, PostgreSQL and MariaDB.

``volumes.known_objects`` answers, for one page of backend objects, which volume
ids have a row (in any status) and which identity keys a row holds — what
``volmgr_volume.orphans.find_orphans`` needs to call the rest orphans.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.db.test_backends import _synced
from volmgr_common.db import api as db_api
from volmgr_common.db import models, volume_identity, volume_types, volumes

BACKEND = "node@files"


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[db_api.Database]:
    yield from _synced(request.param, tmp_path)


@db_api.writer
def _add(session: Session, type_id: str, volume_id: str, identity: str | None) -> None:
    session.add(
        models.Volume(
            id=volume_id,
            project_id="p1",
            status="error_managing" if identity is None else "available",
            host=BACKEND,
            availability_zone="nova",
            volume_type_id=type_id,
            reference="{}",
            backend_identity=identity,
            identity_key=None
            if identity is None
            else volume_identity.identity_key(BACKEND, identity),
        )
    )


def test_known_ids_and_identities_in_one_page(database: db_api.Database) -> None:
    type_id = volume_types.get_or_create(database, "gold")["id"]
    ids = [str(uuid.uuid4()) for _ in range(4)]
    _add(database, type_id, ids[0], "1:100")
    _add(database, type_id, ids[1], None)  # a failed manage's record still knows its id
    keys = [volume_identity.identity_key(BACKEND, f"1:{n}") for n in (100, 101)]
    known_ids, known_keys = volumes.known_objects(database, ids + ids[:1], keys)
    assert known_ids == {ids[0], ids[1]}
    assert known_keys == {keys[0]}
    assert volumes.known_objects(database, [], []) == (set(), set())
