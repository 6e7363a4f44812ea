"""Adoption plans made by the planner of a file backend, on real files and SQLite.

Each check a manage would run shows as a verdict: safe or not (the driver's
reason), already or being managed (by reference, identity or managed name), the
volume type's extra specs against the backend, the rendered name, the target
project's quota for the whole plan. A plan writes no volume, charges no quota and
renames nothing; it is stored with its items and expires.
"""

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from volmgr_common import adoption
from volmgr_common.adoption import PlanFilters, PlanRequest
from volmgr_common.db import adoption_plans, models, quota, volume_creation, volume_identity
from volmgr_common.db import api as db_api
from volmgr_common.db import volume_types as types_db
from volmgr_common.db import volumes as volumes_db
from volmgr_volume.drivers import load_driver
from volmgr_volume.planner import Planner

GIB = 1024**3
BACKEND = "test-node@files"
PROJECT = "project-a"


def make_file(directory: Path, name: str, size: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    with open(path, "wb") as f:
        f.write(b"data of " + name.encode())
        f.truncate(size)
    return path


@pytest.fixture
def files(conf: cfg.ConfigOpts) -> Path:
    return Path(conf.file_backend.directory)


@pytest.fixture
def planner(conf: cfg.ConfigOpts, db: db_api.Database, files: Path) -> Planner:
    files.mkdir(parents=True, exist_ok=True)
    driver = load_driver(conf)
    driver.do_setup()
    return Planner(conf, db, driver, (BACKEND,))


def request(db: db_api.Database, **fields: Any) -> PlanRequest:
    vtype = fields.pop("volume_type", None) or types_db.get_or_create(db, "__DEFAULT__")
    values: dict[str, Any] = {
        "plan_id": str(uuid.uuid4()),
        "host": BACKEND,
        "backend": BACKEND,
        "project_id": "admin-project",
        "user_id": "admin",
        "target_project_id": PROJECT,
        "volume_type": {key: vtype[key] for key in ("id", "name", "extra_specs")},
    }
    values.update(fields)
    return PlanRequest(**values)


def items(db: db_api.Database, plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["source_name"]: item for item in adoption_plans.items_page(db, plan["id"])}


def test_a_plan_of_safe_files_manages_each_and_touches_nothing(
    planner: Planner, db: db_api.Database, files: Path
) -> None:
    for name, size in (("b", 3 * GIB), ("a", GIB), ("c", GIB + 1)):
        make_file(files, name, size)
    before = {p.name: os.lstat(p) for p in files.iterdir()}
    plan = planner.plan(request(db, name_template="{source-name}-{size-gb}-{position}"))
    assert plan["status"] == adoption_plans.READY
    found = adoption_plans.items_page(db, plan["id"])
    assert [i["source_name"] for i in found] == ["a", "b", "c"]
    assert [i["position"] for i in found] == [0, 1, 2]
    assert [i["volume_name"] for i in found] == ["a-1-1", "b-3-2", "c-2-3"]
    assert {i["verdict"] for i in found} == {adoption_plans.MANAGE}
    assert found[0]["fingerprint"]["identity"] == f"{before['a'].st_dev}:{before['a'].st_ino}"
    assert found[0]["fingerprint"]["mtime_ns"] == before["a"].st_mtime_ns
    assert found[0]["reference"] == {"source-name": "a"}
    totals = plan["totals"]
    assert totals["objects"] == totals["manage"] == totals["objects_seen"] == 3
    assert totals["gigabytes"] == 1 + 3 + 2
    assert totals["quota"]["volumes"]["after"] == 3
    assert totals["quota"]["gigabytes"]["after"] == 6
    # Look, never touch: the backend, the volumes and the quota are as they were.
    assert {p.name: os.lstat(p) for p in files.iterdir()} == before
    assert volumes_db.list_volumes(db) == []
    usage = quota.usage(db, PROJECT, quota.DefaultLimits(10, 1000, -1, 86400))
    assert usage["volumes"]["in_use"] == usage["gigabytes"]["in_use"] == 0


def test_filters_select_by_glob_size_and_safety(
    planner: Planner, db: db_api.Database, files: Path
) -> None:
    for name, size in (("web-1", GIB), ("web-2", 5 * GIB), ("db-1", GIB), ("web-3", 2 * GIB)):
        make_file(files, name, size)
    os.link(files / "web-3", files.parent / "outside-link")
    by_glob = planner.plan(request(db, filters=PlanFilters(name="web-*")))
    assert sorted(items(db, by_glob)) == ["web-1", "web-2", "web-3"]
    by_size = planner.plan(request(db, filters=PlanFilters(min_size=2, max_size=5)))
    assert sorted(items(db, by_size)) == ["web-2", "web-3"]
    safe = planner.plan(request(db, filters=PlanFilters(name="web-*", safe_only=True)))
    assert sorted(items(db, safe)) == ["web-1", "web-2"]


def test_a_filter_that_matches_nothing_makes_an_empty_plan(
    planner: Planner, db: db_api.Database, files: Path
) -> None:
    make_file(files, "a", GIB)
    plan = planner.plan(request(db, filters=PlanFilters(name="nothing-*")))
    assert plan["totals"]["objects"] == plan["totals"]["manage"] == 0
    assert plan["totals"]["objects_seen"] == 1
    assert adoption_plans.items_page(db, plan["id"]) == []


def test_unsafe_objects_are_skipped_with_the_drivers_reason(
    planner: Planner, db: db_api.Database, files: Path
) -> None:
    make_file(files, "linked", GIB)
    os.link(files / "linked", files.parent / "elsewhere")
    (files / "a-directory").mkdir()
    os.symlink("linked", files / "a-symlink")
    make_file(files, "volume-11111111-2222-3333-4444-555555555555", GIB)
    plan = planner.plan(request(db))
    found = items(db, plan)
    assert {i["verdict"] for i in found.values()} == {adoption_plans.SKIP}
    assert "hard links" in found["linked"]["reason"]
    assert "directory" in found["a-directory"]["reason"]
    assert "symbolic link" in found["a-symlink"]["reason"]
    assert all(i["reason"].startswith("not safe: ") for i in found.values())
    assert plan["totals"]["skipped_by_reason"] == {adoption.NOT_SAFE: 4}


def test_objects_held_by_volumes_are_skipped_with_the_volume(
    planner: Planner, db: db_api.Database, files: Path
) -> None:
    make_file(files, "by-reference", GIB)
    make_file(files, "by-identity", GIB)
    make_file(files, "free", GIB)
    limits = quota.DefaultLimits(10, 1000, -1, 86400)
    vtype = types_db.get_or_create(db, "__DEFAULT__")

    def managing(name: str) -> dict[str, Any]:
        values = {
            "project_id": PROJECT,
            "host": f"{BACKEND}#files",
            "availability_zone": "nova",
            "volume_type_id": vtype["id"],
            "reference": f'{{"source-name": "{name}"}}',
            "reference_key": volume_creation.reference_key(BACKEND, {"source-name": name}),
        }
        return volume_creation.create_managing(db, values, {}, limits, vtype["name"])

    held = managing("by-reference")
    # Another name that reached the object "by-identity" (a rename race, a hard link).
    other = managing("renamed-away")
    st = os.lstat(files / "by-identity")
    claim = volume_identity.IdentityClaim(other["id"], BACKEND, f"{st.st_dev}:{st.st_ino}")
    assert volume_identity.record_identities(db, [claim]) == [None]
    found = items(db, planner.plan(request(db)))
    assert found["by-reference"]["reason"].startswith(f"{adoption.BEING_MANAGED}: ")
    assert held["id"] in found["by-reference"]["reason"]
    assert other["id"] in found["by-identity"]["reason"]
    assert found["free"]["verdict"] == adoption_plans.MANAGE
    safe = items(db, planner.plan(request(db, filters=PlanFilters(safe_only=True))))
    assert list(safe) == ["free"]


def test_a_type_no_pool_satisfies_skips_everything(
    planner: Planner, db: db_api.Database, files: Path
) -> None:
    make_file(files, "a", GIB)
    fast = types_db.create(db, "fast", {"volume_backend_name": "ssd"})
    plan = planner.plan(request(db, volume_type=fast))
    (item,) = items(db, plan).values()
    assert item["verdict"] == adoption_plans.SKIP
    assert item["reason"].startswith(f"{adoption.VOLUME_TYPE}: ")
    assert "'ssd'" in item["reason"]
    fitting = types_db.create(db, "files", {"volume_backend_name": "files"})
    assert planner.plan(request(db, volume_type=fitting))["totals"]["manage"] == 1


def test_a_plan_that_does_not_fit_the_quota_skips_the_objects_beyond_it(
    planner: Planner, db: db_api.Database, files: Path
) -> None:
    for name, size in (("a", GIB), ("b", 3 * GIB), ("c", GIB), ("d", GIB)):
        make_file(files, name, size)
    quota.set_limit(db, PROJECT, "gigabytes", 3)
    quota.set_limit(db, PROJECT, "volumes", 2)
    plan = planner.plan(request(db))
    found = items(db, plan)
    assert [found[n]["verdict"] for n in "abcd"] == ["manage", "skip", "manage", "skip"]
    assert found["b"]["reason"].startswith("quota exceeded: gigabytes limit is 3")
    assert found["d"]["reason"].startswith("quota exceeded: volumes limit is 2")
    assert plan["totals"]["skipped_by_reason"] == {adoption.QUOTA_EXCEEDED: 2}
    assert plan["totals"]["quota"]["volumes"] == {
        "limit": 2, "in_use": 0, "reserved": 0, "planned": 2, "after": 2,
    }  # fmt: skip
    assert plan["totals"]["quota"]["gigabytes"]["after"] == 2


def test_a_rendered_name_too_long_is_skipped(
    planner: Planner, conf: cfg.ConfigOpts, db: db_api.Database, files: Path
) -> None:
    make_file(files, "x" * 200, GIB)
    make_file(files, "short", GIB)
    template = "{source-name}" + "-" * (conf.api.max_name_length - 10)
    found = items(db, planner.plan(request(db, name_template=template)))
    assert found["x" * 200]["reason"].startswith(f"{adoption.NAME}: ")
    assert found["short"]["verdict"] == adoption_plans.MANAGE


def test_a_plan_expires_and_applies_once(
    planner: Planner, db: db_api.Database, files: Path
) -> None:
    make_file(files, "a", GIB)
    plan = planner.plan(request(db))
    with db.session(True) as session:
        assert adoption_plans.mark_applied(session, plan["id"], "job-1")
    with db.session(True) as session:
        assert not adoption_plans.mark_applied(session, plan["id"], "job-2")
    applied = adoption_plans.get(db, plan["id"])
    assert (applied["status"], applied["job_id"]) == (adoption_plans.APPLIED, "job-1")

    stale = planner.plan(request(db))
    with db.session(True) as session:
        session.execute(
            sa.update(models.AdoptionPlan)
            .where(models.AdoptionPlan.id == stale["id"])
            .values(expires_at=stale["created_at"])
        )
    assert adoption_plans.get(db, stale["id"])["status"] == adoption_plans.EXPIRED
    with db.session(True) as session:
        assert not adoption_plans.mark_applied(session, stale["id"], "job-3")


def test_items_page_by_position_and_plans_list_newest_first(
    planner: Planner, db: db_api.Database, files: Path
) -> None:
    for n in range(7):
        make_file(files, f"disk-{n}", GIB)
    first = planner.plan(request(db))
    second = planner.plan(request(db))
    page = adoption_plans.items_page(db, first["id"], after_position=2, limit=3)
    assert [i["source_name"] for i in page] == ["disk-3", "disk-4", "disk-5"]
    listed = adoption_plans.list_plans(db)
    assert [p["id"] for p in listed] == [second["id"], first["id"]] or {
        p["id"] for p in listed
    } == {first["id"], second["id"]}
    after = adoption_plans.list_plans(db, marker=listed[0]["id"])
    assert [p["id"] for p in after] == [listed[1]["id"]]
