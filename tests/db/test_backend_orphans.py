"""The orphans an audit records, on SQLite, PostgreSQL and MariaDB; migration 0011.

``backend_orphans`` keeps per backend what the last audit found: a new orphan gets
its first-seen time, one seen again keeps it (unless another object took its name),
a reading older than the recorded one changes nothing, what no reading since an
audit's own saw is dropped; the listing sorts and pages as the other listings do
and leaves out an orphan whose volume id a row has.
"""

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from tests.db.test_backends import _synced
from tests.db.test_identity_and_sizes import empty_database, insert_old_volume  # noqa: F401
from tests.db.test_models_match_migrations import _differences
from tests.db.test_orphan_search import _add
from tests.db.test_upgrade_schema import _alembic_config
from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import backend_orphans, migration, volume_types, volumes
from volmgr_common.db.backend_orphans import SeenOrphan
from volmgr_common.page_request import PageRequest

BACKEND = "node@files"
GIB = 1024**3
T0 = dt.datetime(2026, 12, 2, 10, 0, 0)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[db_api.Database]:
    yield from _synced(request.param, tmp_path)


def orphan(
    volume_id: str | None = None, identity: str = "1:1", size: int | None = GIB
) -> SeenOrphan:
    volume_id = volume_id or str(uuid.uuid4())
    return SeenOrphan(
        name=f"volume-{volume_id}",
        volume_id=volume_id,
        identity=identity,
        size_bytes=size,
        original_name="disk.img",
        project_id="p1",
        marks=("user.volmgr.origin={}",),
    )


EVERY = PageRequest(limit=100)


def listed(db: db_api.Database, page: PageRequest = EVERY) -> list[dict]:
    return backend_orphans.list_orphans(db, BACKEND, page)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_first_seen_is_kept_while_the_same_object_stays_an_orphan(
    database: db_api.Database,
) -> None:
    one, two = orphan(identity="1:1"), orphan(identity="1:2")
    assert backend_orphans.record_seen(database, BACKEND, [one, two], at(0)) == [one, two]
    assert backend_orphans.record_seen(database, BACKEND, [one, two], at(5)) == []
    replaced = SeenOrphan(**{**one.__dict__, "identity": "1:9", "size_bytes": 2 * GIB})
    assert backend_orphans.record_seen(database, BACKEND, [replaced], at(10)) == [replaced]
    rows = {row["name"]: row for row in listed(database)}
    assert rows[two.name]["first_seen_at"] == at(0).isoformat()
    assert rows[two.name]["last_seen_at"] == at(5).isoformat()
    assert rows[one.name]["first_seen_at"] == at(10).isoformat(), "another object: new"
    assert (rows[one.name]["identity"], rows[one.name]["size"]) == ("1:9", 2)
    assert rows[two.name]["marks"] == ["user.volmgr.origin={}"]


def test_an_older_reading_changes_nothing_and_what_no_later_reading_saw_is_dropped(
    database: db_api.Database,
) -> None:
    one, two = orphan(), orphan()
    backend_orphans.record_seen(database, BACKEND, [one, two], at(10))
    older = SeenOrphan(**{**one.__dict__, "size_bytes": 5})
    assert backend_orphans.record_seen(database, BACKEND, [older], at(5)) == []
    assert {row["size_bytes"] for row in listed(database)} == {GIB}
    assert backend_orphans.drop_unseen(database, BACKEND, at(5), 100) == []
    backend_orphans.record_seen(database, BACKEND, [one], at(20))
    assert backend_orphans.drop_unseen(database, "other@files", at(20), 100) == []
    assert backend_orphans.drop_unseen(database, BACKEND, at(20), 100) == [two]
    assert [row["name"] for row in listed(database)] == [one.name]


def test_drops_go_by_pages(database: db_api.Database) -> None:
    seen = [orphan() for _ in range(5)]
    backend_orphans.record_seen(database, BACKEND, seen, at(0))
    first = backend_orphans.drop_unseen(database, BACKEND, at(1), 2)
    second = backend_orphans.drop_unseen(database, BACKEND, at(1), 2)
    third = backend_orphans.drop_unseen(database, BACKEND, at(1), 2)
    assert (len(first), len(second), len(third)) == (2, 2, 1)
    assert sorted(o.name for o in first + second + third) == sorted(o.name for o in seen)
    assert backend_orphans.drop_unseen(database, BACKEND, at(1), 2) == []


def test_the_listing_sorts_pages_and_leaves_out_what_a_row_knows(
    database: db_api.Database,
) -> None:
    sizes = [3 * GIB, None, GIB, 2 * GIB]
    seen = [orphan(identity=f"1:{n}", size=size) for n, size in enumerate(sizes)]
    backend_orphans.record_seen(database, BACKEND, seen, at(0))
    backend_orphans.record_seen(database, "other@files", [orphan()], at(0))
    names = sorted(o.name for o in seen)
    assert [row["name"] for row in listed(database)] == names

    page1 = listed(database, PageRequest(limit=2))
    page2 = listed(database, PageRequest(marker=page1[-1]["name"], limit=2))
    assert [row["name"] for row in page1 + page2] == names
    assert listed(database, PageRequest(marker=names[-1], limit=2)) == []
    assert [row["name"] for row in listed(database, PageRequest(offset=3))] == names[3:]

    by_size = listed(database, PageRequest(sort=(("size_bytes", "desc"),)))
    assert [row["size_bytes"] for row in by_size] == [3 * GIB, 2 * GIB, GIB, None]
    after = listed(database, PageRequest(marker=by_size[1]["name"], sort=(("size_bytes", "desc"),)))
    assert [row["size_bytes"] for row in after] == [GIB, None]

    with pytest.raises(exception.InvalidMarker):
        listed(database, PageRequest(marker="volume-nosuch"))
    with pytest.raises(exception.InvalidInput):
        listed(database, PageRequest(sort=(("colour", "asc"),)))

    type_id = volume_types.get_or_create(database, "gold")["id"]
    _add(database, type_id, seen[0].volume_id, None)  # re-adopted since the audit
    assert seen[0].name not in {row["name"] for row in listed(database)}
    assert volumes.get(database, seen[0].volume_id)["status"] == "error_managing"


def test_0011_makes_the_orphan_table_of_the_models_and_goes_back_down(
    empty_database: db_api.Database,  # noqa: F811
) -> None:
    db = empty_database
    migration.sync(db, "0010")
    old_id = insert_old_volume(db)
    migration.sync(db)
    assert migration.is_current(db)
    assert _differences(db) == []
    assert volumes.get(db, old_id)["status"] == "available"
    command.downgrade(_alembic_config(db), "0010")
    assert "backend_orphans" not in set(sa.inspect(db.engine).get_table_names())
    assert volumes.get(db, old_id)["status"] == "available"
