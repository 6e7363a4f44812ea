"""Adoption plans on SQLite, PostgreSQL and MariaDB: bulk insert, paging, expiry, once.

The items of a plan go in as multi-row INSERTs (RETURNING makes SQLAlchemy batch
them), in chunks, in the plan's transaction; the JSON columns (reference,
fingerprint) come back as they went in, also with text every server must keep
(quotes, non-ASCII, a name of 255 characters); ``mark_applied`` is the database's
once-only guard against the database's clock.
"""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.db.test_backends import _synced
from volmgr_common import exception
from volmgr_common.db import adoption_plans, models
from volmgr_common.db import api as db_api

NAMES = ["disk-ascii", "d'quote\"", "dïsk-ünïcode-€", "x" * 255]


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[db_api.Database]:
    yield from _synced(request.param, tmp_path_factory.mktemp("adoption-plans"))


def new_plan(ttl: int = 3600) -> adoption_plans.NewPlan:
    return adoption_plans.NewPlan(
        {
            "id": str(uuid.uuid4()),
            "project_id": "admin-project",
            "user_id": "admin",
            "host": "node@files",
            "backend": "node@files",
            "target_project_id": "p1",
            "volume_type_id": str(uuid.uuid4()),
            "filters": {"name": "d*"},
            "values": {"name_template": "{source-name}"},
            "totals": {"objects": 0},
        },
        ttl,
    )


def item(position: int) -> dict[str, Any]:
    name = f"{NAMES[position % len(NAMES)]}"[:250] + f"{position}"
    return {
        "position": position,
        "source_name": name,
        "reference": {"source-name": name},
        "size": position % 7,
        "fingerprint": {"name": name, "size_bytes": position * 1024**3, "identity": f"8:{position}",
                        "reason_not_safe": None, "mtime_ns": 1_700_000_000_123_456_789},
        "verdict": "manage" if position % 3 else "skip",
        "reason": None if position % 3 else "not safe: the LV is open",
        "volume_name": f"v-{name}"[:255],
    }  # fmt: skip


def test_items_go_in_by_chunks_and_page_back_by_position(database: db_api.Database) -> None:
    items = [item(n) for n in range(2345)]
    plan = adoption_plans.create(database, new_plan(), items, 1000)
    assert plan["status"] == adoption_plans.READY
    assert plan["expires_at"] > plan["created_at"]
    read: list[dict[str, Any]] = []
    after = None
    while page := adoption_plans.items_page(database, plan["id"], after, 500):
        read += page
        after = page[-1]["position"]
    assert [{k: v for k, v in r.items() if k != "id"} for r in read] == items
    skips = adoption_plans.items_page(database, plan["id"], verdict="skip")
    assert len(skips) == len([i for i in items if i["verdict"] == "skip"])


def test_a_failed_insert_leaves_no_plan(database: db_api.Database) -> None:
    items = [item(0), item(1), item(1)]  # the same position twice breaks the unique key
    new = new_plan()
    with pytest.raises(sa.exc.IntegrityError):
        adoption_plans.create(database, new, items, 2)
    with pytest.raises(exception.AdoptionPlanNotFound):
        adoption_plans.get(database, new.values["id"])


def test_a_plan_applies_once_and_not_once_expired(database: db_api.Database) -> None:
    plan = adoption_plans.create(database, new_plan(), [item(1)], 10)
    with database.session(True) as session:
        assert adoption_plans.mark_applied(session, plan["id"], "job-1")
        assert not adoption_plans.mark_applied(session, plan["id"], "job-2")
    assert adoption_plans.get(database, plan["id"])["job_id"] == "job-1"
    expired = adoption_plans.create(database, new_plan(), [], 10)
    with database.session(True) as session:
        session.execute(
            sa.update(models.AdoptionPlan)
            .where(models.AdoptionPlan.id == expired["id"])
            .values(expires_at=expired["created_at"])
        )
    assert adoption_plans.get(database, expired["id"])["status"] == adoption_plans.EXPIRED
    with database.session(True) as session:
        assert not adoption_plans.mark_applied(session, expired["id"], "job-3")
    with pytest.raises(exception.AdoptionPlanApplied):
        adoption_plans.delete(database, plan["id"])
    adoption_plans.delete(database, expired["id"])
    assert adoption_plans.items_page(database, expired["id"]) == []


def test_plans_list_newest_first_and_continue_after_a_marker(database: db_api.Database) -> None:
    project = f"p-{uuid.uuid4().hex[:8]}"
    made = []
    for _ in range(5):
        template = new_plan()
        new = adoption_plans.NewPlan(dict(template.values, project_id=project), template.ttl)
        made.append(adoption_plans.create(database, new, [], 10)["id"])
    listed = [p["id"] for p in adoption_plans.list_plans(database, project)]
    assert sorted(listed) == sorted(made)
    created = {p["id"]: p["created_at"] for p in adoption_plans.list_plans(database, project)}
    assert [created[i] for i in listed] == sorted(created.values(), reverse=True)
    pages, marker = [], None
    while page := adoption_plans.list_plans(database, project, marker, 2):
        pages += [p["id"] for p in page]
        marker = page[-1]["id"]
    assert pages == listed
    with pytest.raises(exception.InvalidMarker):
        adoption_plans.list_plans(database, "another-project", listed[0], 2)
