"""Snapshots of LVM volumes through the REST API and the real ``cinder`` command.

A stack on the LVM driver over a scratch volume group (loop device, no
device-mapper: snapshot LVs are made in the VG's metadata, see
``tests/lvm_support.py``): an LV is managed as a volume, a snapshot LV of it is
managed with ``cinder snapshot-manage`` (renamed ``_snapshot-<id>``, its origin
still the volume's LV), unmanaged, and a snapshot of another LV ends in ``error``
with nothing renamed.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional.rest.conftest import Rest, fresh_admin, running_stack, unique
from tests.functional.rest.test_cinderclient import cinder, ok, row_value
from tests.functional.rest.test_snapshots import body, wait_snapshot
from tests.lvm_support import LvmSetupError, ScratchVolumeGroup

MIB = 1024**2


@pytest.fixture(scope="module")
def vg() -> Iterator[ScratchVolumeGroup]:
    try:
        group = ScratchVolumeGroup.create("1G")
    except LvmSetupError as error:
        pytest.fail(f"cannot set up the LVM test volume group: {error}", pytrace=False)
    try:
        yield group
    finally:
        group.destroy()


@pytest.fixture(scope="module")
def lvm(vg: ScratchVolumeGroup, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rest]:
    with running_stack(
        tmp_path_factory.mktemp("lvm"), volume__backend_name="lvm", **vg.driver_overrides()
    ) as stack:
        yield stack


def origins(vg: ScratchVolumeGroup) -> dict[str, str]:
    output = vg.lvm("lvs", "--reportformat", "json", "-o", "lv_name,origin", vg.name)
    rows = json.loads(output)["report"][0]["lv"]
    return {row["lv_name"]: row["origin"] for row in rows if row["origin"]}


def managed_lv(lvm: Rest, vg: ScratchVolumeGroup, headers: dict[str, str]) -> dict[str, Any]:
    name = unique("data")
    vg.create_lv(name, 8 * MIB)
    response = lvm.call("POST", "os-volume-manage", lvm.manage_body(name), headers=headers)
    assert response.status_int == 202, response.text
    volume = lvm.wait_status(response.json["volume"]["id"], headers=headers)
    assert volume["status"] == "available", volume
    return volume


def test_cinder_manages_and_unmanages_an_lvm_snapshot(lvm: Rest, vg: ScratchVolumeGroup) -> None:
    headers = fresh_admin()
    project = headers["X-Project-Id"]
    volume = managed_lv(lvm, vg, headers)
    origin = f"volume-{volume['id']}"
    snap = unique("snap")
    vg.create_snapshot(snap, origin, 4 * MIB)
    listed = ok(cinder(lvm, "admin", project, "snapshot-manageable-list", lvm.backend))
    [line] = [line for line in listed.splitlines() if snap in line]
    assert "True" in line and origin in line

    managed = ok(cinder(lvm, "admin", project, "snapshot-manage", volume["id"], snap))
    snapshot_id = row_value(managed, "id")
    assert wait_snapshot(lvm, snapshot_id, headers)["status"] == "available"
    assert origins(vg)[f"_snapshot-{snapshot_id}"] == origin

    ok(cinder(lvm, "admin", project, "snapshot-unmanage", snapshot_id))
    assert wait_snapshot(lvm, snapshot_id, headers)["status"] == "gone"
    assert origins(vg)[f"_snapshot-{snapshot_id}"] == origin  # the LV stays, still linked


def test_a_snapshot_of_another_lv_ends_in_error_and_nothing_is_renamed(
    lvm: Rest, vg: ScratchVolumeGroup
) -> None:
    headers = fresh_admin()
    volume = managed_lv(lvm, vg, headers)
    other = unique("other")
    vg.create_lv(other, 8 * MIB)
    stray = unique("stray")
    vg.create_snapshot(stray, other, 4 * MIB)
    before = vg.lvs()
    created = lvm.call("POST", "os-snapshot-manage", body(volume["id"], stray), headers=headers)
    assert created.status_int == 202, created.text
    assert wait_snapshot(lvm, created.json["snapshot"]["id"], headers)["status"] == "error"
    assert vg.lvs() == before
