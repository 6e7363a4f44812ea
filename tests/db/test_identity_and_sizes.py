"""Migration 0002 and what it stores, on SQLite, PostgreSQL and MariaDB.

* A database made by revision 0001, holding rows, upgrades to the head: the GiB
  columns then hold sizes beyond 2^31 GiB (a 2^62-byte image is 2^32 GiB), the rows
  are kept, and the identity columns are there.
* The identity key: of concurrent requests that record one object's identity, one
  wins and the others are refused with ManageExistingAlreadyManaged; a failed manage
  frees the identity.
"""

import concurrent.futures
import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from tests.db.test_backends import LIMITS, _manage_values, database_url
from volmgr_common import exception
from volmgr_common.conf import startup
from volmgr_common.db import api as db_api
from volmgr_common.db import (
    migration,
    models,
    quota,
    reservations,
    volume_creation,
    volume_identity,
    volume_transitions,
    volume_types,
    volumes,
)

HUGE_GIB = 2**62 // 2**30  # a qcow2 header may claim 2^62 bytes


def _database(backend: str, tmp_path: Path) -> Iterator[db_api.Database]:
    with contextlib.ExitStack() as stack:
        conf: cfg.ConfigOpts = startup.new_conf()
        conf([], project="volmgr", default_config_files=[])
        conf.set_override("connection", database_url(backend, tmp_path, stack), group="database")
        db = db_api.Database(conf)
        yield db
        db.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[db_api.Database]:
    yield from _database(request.param, tmp_path)


def insert_old_volume(db: db_api.Database) -> str:
    """Insert, with plain SQL, a volume row as revision 0001 wrote it (size 7 GiB, no
    identity); returns its id."""
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


def test_a_database_made_by_0001_upgrades_and_stores_huge_sizes(
    empty_database: db_api.Database,
) -> None:
    db = empty_database
    migration.sync(db, "0001")
    volume_id = insert_old_volume(db)
    migration.sync(db)
    assert migration.is_current(db)
    old = volumes.get(db, volume_id)
    assert (old["size"], old["backend_identity"]) == (7, None)

    vtype = volume_types.get_or_create(db, "__DEFAULT__")
    quota.set_limit(db, "p1", "gigabytes", HUGE_GIB * 4)
    volume = volume_creation.create_managing(
        db, _manage_values(vtype["id"], "huge"), {}, LIMITS, vtype["name"]
    )
    deltas = quota.volume_deltas(vtype["name"], gigabytes=HUGE_GIB)
    reservation = reservations.reserve(db, "p1", deltas, LIMITS, volume_id=volume["id"])
    assert volume_transitions.commit_gigabytes(db, volume["id"], reservation, HUGE_GIB)
    assert volumes.get(db, volume["id"])["size"] == HUGE_GIB
    usage = quota.usage(db, "p1", LIMITS)
    assert usage["gigabytes"] == {"in_use": HUGE_GIB, "reserved": 0, "limit": HUGE_GIB * 4}


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[db_api.Database]:
    for db in _database(request.param, tmp_path):
        migration.sync(db)
        yield db


def _managing(db: db_api.Database, name: str) -> str:
    vtype = volume_types.get_or_create(db, "__DEFAULT__")
    volume = volume_creation.create_managing(
        db, _manage_values(vtype["id"], name), {}, LIMITS, vtype["name"]
    )
    return volume["id"]


def test_one_identity_one_live_row_even_under_concurrency(database: db_api.Database) -> None:
    ids = [_managing(database, f"name-{i}") for i in range(12)]

    def record(volume_id: str) -> str:
        claim = volume_identity.IdentityClaim(volume_id, "node@files", "2049:4242")
        (refusal,) = volume_identity.record_identities(database, [claim])
        return "recorded" if refusal is None else type(refusal).__name__

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(record, ids))
    assert outcomes.count("recorded") == 1, outcomes
    assert outcomes.count("ManageExistingAlreadyManaged") == 11, outcomes
    winner = ids[outcomes.index("recorded")]
    assert volumes.get(database, winner)["backend_identity"] == "2049:4242"

    # Recording again (a resumed flow) is fine; the same object on another backend too.
    again = volume_identity.IdentityClaim(winner, "node@files", "2049:4242")
    assert volume_identity.record_identities(database, [again]) == [None]
    loser = ids[outcomes.index("ManageExistingAlreadyManaged")]
    elsewhere = volume_identity.IdentityClaim(loser, "node@other", "2049:4242")
    assert volume_identity.record_identities(database, [elsewhere]) == [None]

    # A failed manage frees the identity for the next request.
    assert volume_transitions.fail_manage(database, winner, "no", None) is not None
    third = ids[-1] if ids[-1] not in (winner, loser) else ids[-2]
    claim = volume_identity.IdentityClaim(third, "node@files", "2049:4242")
    assert volume_identity.record_identities(database, [claim]) == [None]


def test_a_batch_refuses_only_its_duplicates(database: db_api.Database) -> None:
    ids = [_managing(database, f"batch-{i}") for i in range(4)]
    claims = [
        volume_identity.IdentityClaim(ids[0], "node@files", "1:1"),
        volume_identity.IdentityClaim(ids[1], "node@files", "1:2"),
        volume_identity.IdentityClaim(ids[2], "node@files", "1:1"),
        volume_identity.IdentityClaim(ids[3], "node@files", "1:3"),
    ]
    outcomes = volume_identity.record_identities(database, claims)
    assert [None if o is None else type(o) for o in outcomes] == [
        None,
        None,
        exception.ManageExistingAlreadyManaged,
        None,
    ]
    # An earlier run recorded another object: the row refuses to change its identity.
    changed = volume_identity.IdentityClaim(ids[1], "node@files", "1:9")
    (refusal,) = volume_identity.record_identities(database, [changed])
    assert isinstance(refusal, exception.ManageExistingInvalidReference)
