"""Migration 0008 and the drift it stores, on SQLite, PostgreSQL and MariaDB.

A row from before 0008 keeps its values and has no drift; the audit's page reads
only available rows of a backend, in id order after a given id; a recorded drift
is read back as written and found by the ``drifted`` and ``drift_kind`` filters; a
change whose row no longer has the kind the audit read is not made; downgrading
drops the columns and keeps the rows.
"""

import sqlalchemy as sa
from alembic import command

from tests.db.test_identity_and_sizes import empty_database, insert_old_volume  # noqa: F401
from volmgr_common.db import api as db_api
from volmgr_common.db import migration, volume_drift, volumes
from volmgr_common.db.migration import _alembic_config

TEMPLATE = "volume-%s"
DRIFT = {
    "kind": "renamed",
    "expected": {"name": "volume-x", "identity": "2049:7"},
    "found": {"name": "dïsk-by-hand.img", "identity": "2049:7", "managed_name_holder": None},
    "since": "2026-12-02T16:00:00",
}


def test_0008_adds_drift_that_the_audit_records_and_listings_filter_on(
    empty_database: db_api.Database,  # noqa: F811
) -> None:
    db = empty_database
    migration.sync(db, "0007")
    old_id = insert_old_volume(db, "n@b#p", "available", "old.img")
    migration.sync(db)
    assert volumes.get(db, old_id)["drift"] is None

    ids = sorted(insert_old_volume(db, "n@b#p", "available", f"d{i}.img") for i in range(3))
    insert_old_volume(db, "n@b#p", "error_managing", "failed.img")
    insert_old_volume(db, "other@b", "available", "elsewhere.img")
    everything = sorted([old_id, *ids])
    first = volume_drift.audit_page(db, ["n@b"], TEMPLATE, None, 2)
    rest = volume_drift.audit_page(db, ["n@b"], TEMPLATE, first[-1].id, 10)
    assert [v.id for v in first + rest] == everything
    assert first[0].managed_name == TEMPLATE % first[0].id
    assert first[0].reference["source-name"].endswith(".img")

    target = ids[1]
    change = volume_drift.DriftChange(target, None, DRIFT)
    [(made, record)] = volume_drift.record_changes(db, [change], "req-1")
    assert (made, record["drift"]) == (change, DRIFT)
    # Made again from the same reading: the row no longer has no drift, so nothing.
    assert volume_drift.record_changes(db, [change], "req-1") == []
    assert volumes.get(db, target)["drift"] == DRIFT
    drifted = volumes.list_volumes(db, filters={"drifted": "true"})
    assert [v["id"] for v in drifted] == [target]
    assert [v["id"] for v in volumes.list_volumes(db, filters={"drift_kind": "renamed"})] == [
        target
    ]
    assert len(volumes.list_volumes(db, filters={"drifted": False})) == 5

    cleared = volume_drift.DriftChange(target, "renamed", None)
    assert [c for c, _ in volume_drift.record_changes(db, [cleared], "req-2")] == [cleared]
    assert volumes.get(db, target)["drift"] is None
    assert volumes.list_volumes(db, filters={"drifted": True}) == []

    volume_drift.record_changes(db, [change], "req-3")
    command.downgrade(_alembic_config(db), "0007")
    assert migration.current_revision(db) == "0007"
    with db.engine.connect() as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("volumes")}
        count = connection.execute(sa.text("SELECT COUNT(*) FROM volumes")).scalar_one()
    assert not columns & {"drift", "drift_kind"} and count == 6
    migration.sync(db)
    assert volumes.get(db, target)["drift"] is None
