"""Adoption plans on every real backend: real files, qcow2 images and LVs.

The planner is the same for every driver; what differs is what the driver reads:
sizes (an image's virtual size, an LV's extents), identities (``device:inode``,
LV uuid) and why an object is not safe. A plan of each backend matches what a
manage would see, and leaves every object exactly as it was.
"""

import uuid
from pathlib import Path

from tests.contract.conftest import Backend
from tests.driver_support import make_conf, vol
from tests.image_support import qcow2_header, write_image
from volmgr_common.adoption import PlanRequest
from volmgr_common.db import adoption_plans
from volmgr_common.db import api as db_api
from volmgr_common.db import volume_types as types_db
from volmgr_volume.drivers import load_driver
from volmgr_volume.planner import Planner

GIB = 1024**3
MANAGED_FORM = "volume-11111111-2222-3333-4444-555555555555"


def test_a_plan_sees_what_a_manage_would_and_touches_nothing(
    backend: Backend, db: db_api.Database
) -> None:
    references = {name: backend.make(name, size) for name, size in (("a", GIB), ("b", 3 * GIB))}
    backend.make(MANAGED_FORM, GIB)
    before = {name: backend.fingerprint(name) for name in backend.names()}
    vtype = types_db.get_or_create(db, "__DEFAULT__")
    planner = Planner(backend.driver.conf, db, backend.driver, ("node@backend",))
    request = PlanRequest(
        plan_id=str(uuid.uuid4()),
        host="node@backend",
        backend="node@backend",
        project_id="admin-project",
        user_id="admin",
        target_project_id="p1",
        volume_type={key: vtype[key] for key in ("id", "name", "extra_specs")},
    )
    plan = planner.plan(request)
    items = {i["source_name"]: i for i in adoption_plans.items_page(db, plan["id"])}
    assert set(items) == {"a", "b", MANAGED_FORM}
    for name, reference in references.items():
        described = backend.driver.describe(vol(str(uuid.uuid4())), reference)
        assert items[name]["verdict"] == adoption_plans.MANAGE
        assert items[name]["size"] == backend.driver.get_size(vol(str(uuid.uuid4())), reference)
        assert items[name]["fingerprint"]["identity"] == described.identity
    assert items[MANAGED_FORM]["verdict"] == adoption_plans.SKIP
    assert items[MANAGED_FORM]["reason"].startswith("not safe: name is in managed form")
    assert plan["totals"]["gigabytes"] == 1 + 3
    assert {name: backend.fingerprint(name) for name in backend.names()} == before


def test_an_image_with_a_backing_file_is_skipped_with_the_reason(
    tmp_path: Path, db: db_api.Database
) -> None:
    driver = load_driver(make_conf(tmp_path, volume__volume_driver="image"))
    driver.do_setup()
    root = Path(driver.conf.image_backend.directory)
    write_image(root / "overlay", qcow2_header(2 * GIB, backing_file_offset=512), 4096)
    write_image(root / "flat", qcow2_header(5 * GIB), 4096)
    vtype = types_db.get_or_create(db, "__DEFAULT__")
    planner = Planner(driver.conf, db, driver, ("node@images",))
    request = PlanRequest(
        plan_id=str(uuid.uuid4()),
        host="node@images",
        backend="node@images",
        project_id="admin-project",
        user_id="admin",
        target_project_id="p1",
        volume_type={key: vtype[key] for key in ("id", "name", "extra_specs")},
    )
    plan = planner.plan(request)
    items = {i["source_name"]: i for i in adoption_plans.items_page(db, plan["id"])}
    assert items["overlay"]["reason"] == (
        "not safe: the image has a backing file; flatten it first (qemu-img convert)"
    )
    assert (items["flat"]["verdict"], items["flat"]["size"]) == ("manage", 5)
