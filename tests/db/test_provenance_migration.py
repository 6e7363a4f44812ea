"""Migration 0006 and the provenance it stores, on SQLite, PostgreSQL and MariaDB.

A row managed before 0006 keeps its values and has no provenance (null, not a JSON
``null``); a batch of identity claims records each row's provenance in the same
transaction as its identity, and reads it back as it was written (big sizes,
non-ASCII names, nested reference).
"""

import sqlalchemy as sa

from tests.db.test_backends import LIMITS, _manage_values
from tests.db.test_identity_and_sizes import empty_database, insert_old_volume  # noqa: F401
from volmgr_common.db import api as db_api
from volmgr_common.db import (
    migration,
    volume_creation,
    volume_identity,
    volume_types,
    volumes,
)


def test_0006_adds_provenance_and_stores_it_with_the_identity(
    empty_database: db_api.Database,  # noqa: F811
) -> None:
    db = empty_database
    migration.sync(db, "0005")
    old_id = insert_old_volume(db)
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
