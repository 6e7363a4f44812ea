"""Adoption jobs on SQLite, PostgreSQL and MariaDB: a job made from a plan in one
transaction with the plan's guard (its items copied by INSERT ... SELECT), counters
by GROUP BY, listing after a marker, cancel, the undo made once, and the runner's
claim, heartbeat, settle and finish."""

from collections.abc import Iterator

import pytest

from tests.db.test_adoption_plans import item, new_plan
from tests.db.test_backends import _synced
from volmgr_common import exception
from volmgr_common.db import adoption_items as items_db
from volmgr_common.db import adoption_jobs as jobs_db
from volmgr_common.db import adoption_plans
from volmgr_common.db import api as db_api

COUNT = 30


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[db_api.Database]:
    yield from _synced(request.param, tmp_path_factory.mktemp("adoption-jobs"))


def _plan(database: db_api.Database, ttl: int = 3600) -> str:
    plan = adoption_plans.create(database, new_plan(ttl), [item(n) for n in range(COUNT)], 7)
    return str(plan["id"])


def test_a_job_from_a_plan_applies_it_once(database: db_api.Database) -> None:
    plan_id = _plan(database)
    job = jobs_db.create_adopt_job(database, plan_id, None, {"max_in_flight": 4})
    manage = sum(1 for n in range(COUNT) if n % 3)
    assert job["total"] == COUNT and job["counters"]["pending"] == manage
    assert job["counters"]["skipped"] == COUNT - manage
    skipped = jobs_db.list_items(database, job["id"], None, "skipped", None, 100)
    assert {i["reason"] for i in skipped} == {"not safe: the LV is open"}
    with pytest.raises(exception.AdoptionPlanApplied):
        jobs_db.create_adopt_job(database, plan_id, None, {"max_in_flight": 4})
    with pytest.raises(exception.AdoptionConflict, match="expired"):
        jobs_db.create_adopt_job(database, _plan(database, ttl=-1), None, {"max_in_flight": 4})
    with pytest.raises(exception.AdoptionPlanNotFound):
        jobs_db.create_adopt_job(database, plan_id, "another-project", {"max_in_flight": 4})


def test_runner_claims_settles_and_finishes(database: db_api.Database) -> None:
    job = jobs_db.create_adopt_job(database, _plan(database), None, {"max_in_flight": 4})
    assert items_db.claim(database, job["id"], "me", 60)
    assert not items_db.claim(database, job["id"], "other", 60)  # a live owner keeps it
    assert items_db.heartbeat(database, job["id"], "me") == "running"
    assert items_db.heartbeat(database, job["id"], "other") is None
    pending = items_db.next_pending(database, job["id"], 5)
    assert [p.position for p in pending] == [1, 2, 4, 5, 7]
    assert pending[0].fingerprint["identity"] == "8:1"
    items_db.mark(database, [(p.id, {"status": "failed", "reason": "x"}) for p in pending])
    assert items_db.finish(database, job["id"], "me") is None  # items still pending
    cancelled = jobs_db.cancel(database, job["id"], None)
    assert cancelled["status"] == "cancelled" and cancelled["counters"]["pending"] == 0
    assert items_db.settle(database, job["id"]) == 0


def test_listing_undo_once_and_undo_of_a_live_job(database: db_api.Database) -> None:
    first = jobs_db.create_adopt_job(database, _plan(database), None, {"max_in_flight": 4})
    second = jobs_db.create_adopt_job(database, _plan(database), None, {"max_in_flight": 4})
    listed = jobs_db.list_jobs(database, None, None, 1000)
    keys = [(job["created_at"], job["id"]) for job in listed]
    assert keys == sorted(keys, reverse=True)  # newest first (ties: by id)
    after = jobs_db.list_jobs(database, None, second["id"], 1000)
    assert second["id"] not in [job["id"] for job in after]
    with pytest.raises(exception.AdoptionConflict, match="running"):
        jobs_db.create_undo_job(database, first["id"], None, {"max_in_flight": 4})
    jobs_db.cancel(database, first["id"], None)
    undo, created = jobs_db.create_undo_job(database, first["id"], None, {"max_in_flight": 4})
    again, created_again = jobs_db.create_undo_job(
        database, first["id"], None, {"max_in_flight": 4}
    )
    assert created and not created_again and again["id"] == undo["id"]
    assert undo["total"] == 0  # nothing was available to undo
