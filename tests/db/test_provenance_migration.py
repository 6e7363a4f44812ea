"""Migration 0006 and the provenance it stores, on SQLite, PostgreSQL and MariaDB.

A row managed before 0006 keeps its values and has no provenance (null, not a JSON
``null``); a batch of identity claims records each row's provenance in the same
transaction as its identity, and reads it back as it was written (big sizes,
non-ASCII names, nested reference).
"""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.db.test_backends import LIMITS, _manage_values
from tests.db.test_identity_and_sizes import _database
from volmgr_common.db import api as db_api
from volmgr_common.db import (
    migration,
    models,
    volume_creation,
    volume_identity,
    volume_types,
    volumes,
)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[db_api.Database]:
    yield from _database(request.param, tmp_path)


def _insert_old_volume(db: db_api.Database) -> str:
    type_id, volume_id = str(uuid.uuid4()), str(uuid.uuid4())
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO volume_types (id, name, is_public, created_at) "
                "VALUES (:id, 'old', :true, :now)"
            ),
            {"id": type_id, "true": True, "now": models.utcnow()},
        )
        connection.execute(
            sa.text(
                "INSERT INTO volumes (id, project_id, status, host, availability_zone, "
                "volume_type_id, size, bootable, reference, reference_key, quota_volumes, "
                "quota_gigabytes, created_at) VALUES (:id, 'p1', 'available', 'n@b#p', 'nova', "
                ":type_id, 7, :false, :ref, 'k1', :true, 7, :now)"
            ),
            {
                "id": volume_id,
                "type_id": type_id,
                "ref": json.dumps({"source-name": "old.img"}),
                "true": True,
                "false": False,
                "now": models.utcnow(),
            },
        )
    return volume_id


def test_0006_adds_provenance_and_stores_it_with_the_identity(
    empty_database: db_api.Database,
) -> None:
    db = empty_database
    migration.sync(db, "0005")
    old_id = _insert_old_volume(db)
    migration.sync(db)
    assert migration.is_current(db)
    old = volumes.get(db, old_id)
    assert (old["size"], old["provenance"]) == (7, None)

    vtype = volume_types.get_or_create(db, "__DEFAULT__")
    ids = [
        volume_creation.create_managing(
            db, _manage_values(vtype["id"], f"prov-{i}"), {}, LIMITS, vtype["name"]
        )["id"]
        for i in range(2)
    ]
    with db.engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT COUNT(*) FROM volumes WHERE provenance IS NULL")
        ).scalar_one()
    assert stored == 3, "a row without provenance holds SQL NULL"

    origins = [
        {
            "reference": {"source-name": f"dïsk-{i}.img"},
            "original_name": f"dïsk-{i}.img",
            "size_bytes": 2**62 + i,
            "backend_identity": f"2049:{i}",
            "adoption_job_id": None,
        }
        for i in range(2)
    ]
    claims = [
        volume_identity.IdentityClaim(volume_id, "node@files", f"2049:{i}", origins[i])
        for i, volume_id in enumerate(ids)
    ]
    assert volume_identity.record_identities(db, claims) == [None, None]
    assert [volumes.get(db, volume_id)["provenance"] for volume_id in ids] == origins
