"""The orphan search (volmgr_volume.orphans) on SQLite, with the fake driver's objects.

An object is an orphan unless a row has the volume id its name carries or a row of
the backend holds its identity; the search compares the driver's objects with the
database one page at a time and keeps the order it was given.
"""

import json
import uuid
from typing import Any

import pytest
from oslo_config import cfg

from volmgr_common.db import api as db_api
from volmgr_common.db import quota, volume_creation, volume_identity
from volmgr_common.db import volume_types as types_db
from volmgr_volume import orphans
from volmgr_volume.drivers.base import ManagedObject
from volmgr_volume.drivers.fake import FakeDriver

BACKEND = "node1@fake"
LIMITS = quota.DefaultLimits(volumes=100, gigabytes=1000, per_type=-1, reservation_expire=600)


def row(db: db_api.Database, volume_id: str, source: str) -> None:
    """A ``managing`` row with id ``volume_id`` for the object ``source``."""
    vtype = types_db.get_or_create(db, "gold")
    ref = {"source-name": source}
    values = {
        "id": volume_id,
        "project_id": "p",
        "user_id": "u",
        "display_name": source,
        "display_description": None,
        "host": BACKEND,
        "availability_zone": "nova",
        "bootable": False,
        "request_id": "req-1",
        "volume_type_id": vtype["id"],
        "reference": json.dumps(ref),
        "reference_key": volume_creation.reference_key(BACKEND, ref),
    }
    volume_creation.create_managing(db, values, {}, LIMITS, "gold")


@pytest.fixture
def driver(conf: cfg.ConfigOpts) -> FakeDriver:
    return FakeDriver(conf)


def manage(driver: FakeDriver, count: int) -> list[ManagedObject]:
    """``count`` objects managed by the fake driver; as it lists them."""
    for n in range(count):
        volume = {"id": str(uuid.uuid4()), "project_id": f"project-{n}"}
        driver.manage(volume, {"source-name": f"disk{n}"})
    return list(driver.list_managed_objects())


@pytest.mark.parametrize("page_size", [1, 2, 500])
def test_objects_no_row_knows_are_orphans_in_every_page(
    db: db_api.Database, driver: FakeDriver, page_size: int
) -> None:
    objects = manage(driver, 5)
    known_by_id, known_by_identity = objects[0], objects[3]
    row(db, known_by_id.volume_id, "disk0")
    other_id = str(uuid.uuid4())  # the object's row is another id: drift, not an orphan
    row(db, other_id, "renamed-by-hand")
    claim = volume_identity.IdentityClaim(other_id, BACKEND, known_by_identity.identity)
    assert volume_identity.record_identities(db, [claim]) == [None]
    found = list(orphans.find_orphans(db, [BACKEND], objects, page_size))
    assert found == [objects[1], objects[2], objects[4]]
    assert [obj.project_id for obj in found] == ["project-1", "project-2", "project-4"]
    assert [obj.original_name for obj in found] == ["disk1", "disk2", "disk4"]


def test_an_identity_held_on_another_backend_does_not_count(
    db: db_api.Database, driver: FakeDriver
) -> None:
    [obj] = manage(driver, 1)
    other_id = str(uuid.uuid4())
    row(db, other_id, "elsewhere")
    claim = volume_identity.IdentityClaim(other_id, "node2@fake", obj.identity)
    volume_identity.record_identities(db, [claim])
    assert list(orphans.find_orphans(db, [BACKEND], [obj])) == [obj]
    # A cluster member searches under the cluster's name and its own.
    assert list(orphans.find_orphans(db, [BACKEND, "node2@fake"], [obj])) == []


def test_the_fake_driver_lists_what_it_manages_with_its_project(driver: FakeDriver) -> None:
    [obj] = manage(driver, 1)
    entry: dict[str, Any] = obj.as_dict()
    assert entry["name"] == f"volume-{obj.volume_id}"
    assert (entry["project_id"], entry["original_name"]) == ("project-0", "disk0")
    assert entry["identity"] == "fake:disk0"
