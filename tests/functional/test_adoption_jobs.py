"""Adoption jobs on the in-process services: apply, stale objects, strict, pause,
resume, cancel, undo (after a partial failure, twice), overlapping jobs, quota and
bad input. Every object is a real file on the file backend."""

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.adoption_support import items_by_name, wait_job, write_plan
from tests.functional.stack import PROJECT, Stack, make_file
from volmgr_common import exception
from volmgr_common.context import RequestContext
from volmgr_common.db import adoption_jobs as jobs_db
from volmgr_common.db import quota
from volmgr_common.db import volumes as volumes_db

ADMIN = RequestContext(user_id="admin", project_id="admin", roles=["admin"])


def _files(stack: Stack, count: int, prefix: str = "obj") -> list[str]:
    names = [f"{prefix}-{n:03d}.img" for n in range(count)]
    for name in names:
        make_file(stack.files / name, 1024 * 1024)
    return names


def _plan(stack: Stack, names: list[str], **kwargs: Any) -> str:
    driver = stack.volume_manager()._worker.driver
    return write_plan(stack.db, driver, stack.backend, names, PROJECT, **kwargs)


def _adoption(stack: Stack) -> Any:
    return stack.api_manager()._api.adoption_jobs


def _apply(stack: Stack, plan_id: str, **kwargs: Any) -> dict[str, Any]:
    job = _adoption(stack).apply(ADMIN, plan_id, **kwargs)
    return wait_job(stack.db, job["id"])


def test_apply_manages_every_object_once_with_provenance_and_notifications(stack: Stack) -> None:
    names = _files(stack, 6)
    job = _apply(stack, _plan(stack, names, skip={names[5]: "not wanted"}))
    assert job["status"] == "completed"
    assert job["counters"]["available"] == 5 and job["counters"]["skipped"] == 1
    assert job["total"] == 6 and job["done"] == 6
    items = items_by_name(stack.db, job["id"])
    assert items[names[5]]["reason"] == "not wanted"
    for name in names[:5]:
        volume = volumes_db.get(stack.db, items[name]["volume_id"])
        assert volume["status"] == "available"
        assert volume["name"] == f"adopted-{name}"
        assert volume["provenance"]["adoption_job_id"] == job["id"]
        assert not (stack.files / name).exists()
    assert (stack.files / names[5]).exists()
    # Placed in the backend's pool, as the scheduler places a single manage.
    pool = stack.volume_manager()._worker.driver.get_capabilities()["pools"][0]["pool_name"]
    hosts = {volumes_db.get(stack.db, items[n]["volume_id"])["host"] for n in names[:5]}
    assert hosts == {f"{stack.backend}#{pool}"}
    assert stack.in_use() == {
        "volumes": 5,
        "gigabytes": 5,
        "volumes___DEFAULT__": 5,
        "gigabytes___DEFAULT__": 5,
    }
    events = [e["event_type"] for e in stack.notifications.events]
    deadline = time.monotonic() + 5
    while "adoption.job.end" not in events and time.monotonic() < deadline:
        time.sleep(0.05)
        events = [e["event_type"] for e in stack.notifications.events]
    assert "adoption.job.start" in events and "adoption.job.end" in events
    end = next(e for e in stack.notifications.events if e["event_type"] == "adoption.job.end")
    assert end["payload"]["counters"]["available"] == 5


def test_objects_changed_since_the_plan_are_stale_and_untouched(stack: Stack) -> None:
    names = _files(stack, 4)
    plan_id = _plan(stack, names)
    os.rename(stack.files / names[0], stack.files / "renamed.img")  # renamed
    os.truncate(stack.files / names[1], 3 * 1024 * 1024)  # resized
    make_file(stack.files / "new.img", 1024 * 1024)  # replaced by another file, same name
    os.replace(stack.files / "new.img", stack.files / names[2])
    job = _apply(stack, plan_id)
    items = items_by_name(stack.db, job["id"])
    assert [items[n]["status"] for n in names] == ["stale", "stale", "stale", "available"]
    assert items[names[0]]["detail"]["identity"]["current"] is None
    assert items[names[1]]["detail"]["size_bytes"] == {
        "planned": 1024 * 1024,
        "current": 3 * 1024 * 1024,
    }
    assert "identity" in items[names[2]]["detail"]
    assert "changed since the plan" in items[names[1]]["reason"]
    assert (stack.files / names[1]).exists() and (stack.files / names[2]).exists()


def test_strict_apply_refuses_when_anything_changed_and_writes_nothing(stack: Stack) -> None:
    names = _files(stack, 3)
    plan_id = _plan(stack, names)
    os.truncate(stack.files / names[1], 5)
    with pytest.raises(exception.AdoptionPlanStale) as refused:
        _adoption(stack).apply(ADMIN, plan_id, strict=True)
    assert refused.value.code == 409 and names[1] in str(refused.value)
    assert jobs_db.list_jobs(stack.db, None, None, 10) == []
    # Not applied: the plan can still be applied (without strict).
    job = _apply(stack, plan_id)
    assert job["counters"] == dict(job["counters"], available=2, stale=1)


def test_pause_resume_and_cancel(stack: Stack) -> None:
    names = _files(stack, 5)
    # A job written but not started yet, paused before its runner looks at it.
    job = jobs_db.create_adopt_job(stack.db, _plan(stack, names), None, {"max_in_flight": 2})
    paused = _adoption(stack).pause(ADMIN, job["id"])
    assert paused["status"] == "paused"
    runner = stack.volume_manager()._adoption
    runner.start(job["id"])
    runner.wait(job["id"], 5)
    assert jobs_db.get(stack.db, job["id"])["counters"]["pending"] == 5
    with pytest.raises(exception.AdoptionConflict):
        _adoption(stack).pause(ADMIN, job["id"])
    _adoption(stack).resume(ADMIN, job["id"])
    assert wait_job(stack.db, job["id"])["counters"]["available"] == 5

    more = _files(stack, 3, prefix="more")
    other = jobs_db.create_adopt_job(stack.db, _plan(stack, more), None, {"max_in_flight": 1})
    cancelled = _adoption(stack).cancel(ADMIN, other["id"])
    assert cancelled["status"] == "cancelled" and cancelled["counters"]["skipped"] == 3
    assert {i["reason"] for i in items_by_name(stack.db, other["id"]).values()} == {"cancelled"}
    assert all((stack.files / name).exists() for name in more)
    with pytest.raises(exception.AdoptionConflict):
        _adoption(stack).cancel(ADMIN, other["id"])


def test_undo_after_a_partial_failure_gives_every_adopted_object_back(stack: Stack) -> None:
    names = _files(stack, 5)
    quota.set_limit(stack.db, PROJECT, "volumes", 3)  # two of five do not fit
    job = _apply(stack, _plan(stack, names))
    assert job["counters"]["available"] == 3 and job["counters"]["failed"] == 2
    failed = [i for i in items_by_name(stack.db, job["id"]).values() if i["status"] == "failed"]
    assert all("quota" in i["reason"] for i in failed)
    undo = _adoption(stack).undo(ADMIN, job["id"])
    assert undo["kind"] == "undo" and undo["undo_of"] == job["id"]
    undone = wait_job(stack.db, undo["id"])
    assert undone["counters"]["undone"] == 3 and undone["total"] == 3
    assert sorted(stack.listing()) == sorted(names)
    assert stack.in_use() == {}
    assert volumes_db.list_volumes(stack.db) == []
    # Undo twice: the same undo job answers; nothing more is done.
    again = _adoption(stack).undo(ADMIN, job["id"])
    assert again["id"] == undo["id"] and again["status"] == "completed"


def test_undo_skips_volumes_that_changed_since(stack: Stack) -> None:
    names = _files(stack, 3)
    job = _apply(stack, _plan(stack, names))
    items = items_by_name(stack.db, job["id"])
    resized = volumes_db.get(stack.db, items[names[0]]["volume_id"])
    os.truncate(stack.files / resized["provider_location"], 7 * 1024 * 1024)
    moved = volumes_db.get(stack.db, items[names[1]]["volume_id"])
    os.rename(stack.files / moved["provider_location"], stack.files / "elsewhere.img")
    undo = wait_job(stack.db, _adoption(stack).undo(ADMIN, job["id"])["id"])
    undo_items = items_by_name(stack.db, undo["id"])
    assert undo_items[names[0]]["status"] == "skipped"
    assert "resized" in undo_items[names[0]]["reason"]
    assert undo_items[names[1]]["status"] == "skipped"
    assert undo_items[names[2]]["status"] == "undone"
    assert (stack.files / names[2]).exists()
    assert volumes_db.get(stack.db, resized["id"])["status"] == "available"
    assert (stack.files / resized["provider_location"]).exists()  # nothing deleted
    assert (stack.files / "elsewhere.img").exists()


def test_two_jobs_over_the_same_objects_manage_each_object_once(stack: Stack) -> None:
    names = _files(stack, 8)
    first, second = _plan(stack, names), _plan(stack, names[4:] + _files(stack, 2, "x"))
    a = _adoption(stack).apply(ADMIN, first, max_in_flight=3)
    b = _adoption(stack).apply(ADMIN, second, max_in_flight=3)
    done = [wait_job(stack.db, a["id"]), wait_job(stack.db, b["id"])]
    available = sum(job["counters"]["available"] for job in done)
    assert available == 10  # 8 + 2 distinct objects, each managed once
    assert len(volumes_db.list_volumes(stack.db)) == 10
    assert stack.in_use()["volumes"] == 10


def test_bad_input_writes_nothing(stack: Stack) -> None:
    names = _files(stack, 2)
    adoption = _adoption(stack)
    with pytest.raises(exception.AdoptionPlanNotFound):
        adoption.apply(ADMIN, "no-such-plan")
    with pytest.raises(exception.InvalidInput):
        adoption.apply(ADMIN, _plan(stack, names), max_in_flight=0)
    with pytest.raises(exception.InvalidInput):
        adoption.apply(ADMIN, _plan(stack, names), max_in_flight=10**6)
    expired = _plan(stack, names, expires_in=-1)
    with pytest.raises(exception.AdoptionConflict, match="expired"):
        adoption.apply(ADMIN, expired)
    plan_id = _plan(stack, names)
    job = wait_job(stack.db, adoption.apply(ADMIN, plan_id)["id"])
    with pytest.raises(exception.AdoptionPlanApplied, match="was applied by job"):
        adoption.apply(ADMIN, plan_id)
    with pytest.raises(exception.AdoptionJobNotFound):
        adoption.undo(ADMIN, "no-such-job")
    other = jobs_db.create_adopt_job(stack.db, _plan(stack, ["gone"]), None, {"max_in_flight": 1})
    adoption.pause(ADMIN, other["id"])
    with pytest.raises(exception.AdoptionConflict, match="paused"):
        adoption.undo(ADMIN, other["id"])
    assert len(jobs_db.list_jobs(stack.db, None, None, 10)) == 2
    assert job["counters"]["available"] == 2


def test_counters_equal_the_items(stack: Stack, tmp_path: Path) -> None:
    names = _files(stack, 7)
    job = _apply(stack, _plan(stack, names, skip={names[0]: "no"}), max_in_flight=2)
    items = items_by_name(stack.db, job["id"])
    counted: dict[str, int] = {}
    for item in items.values():
        counted[item["status"]] = counted.get(item["status"], 0) + 1
    assert {k: v for k, v in job["counters"].items() if v} == counted


def test_a_plan_or_job_of_another_project_is_not_found_outside_the_admin_scope(
    stack: Stack,
) -> None:
    # The REST policy lets only admins in (403 for others); were it opened to project
    # members, each would see its own project's plans and jobs only.
    names = _files(stack, 1)
    plan_id = _plan(stack, names)  # a plan of PROJECT
    job = _apply(stack, _plan(stack, _files(stack, 1, "own")))
    other = RequestContext(user_id="u", project_id="another-project", roles=["member"])
    with pytest.raises(exception.AdoptionPlanNotFound) as refused:
        _adoption(stack).apply(other, plan_id)
    assert refused.value.code == 404
    with pytest.raises(exception.AdoptionJobNotFound):
        _adoption(stack).undo(other, job["id"])
    with pytest.raises(exception.AdoptionJobNotFound):
        _adoption(stack).pause(other, job["id"])
    assert [j["id"] for j in jobs_db.list_jobs(stack.db, None, None, 10)] == [job["id"]]
