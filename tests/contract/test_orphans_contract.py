"""The orphan part of the VolumeDriver contract, on real objects of every real backend.

``list_managed_objects`` (what an audit's one reading of the backend lists, less
the objects the audit says it knows) lists the objects in managed form with the
volume id their name carries, their identity and size, and what the backend recorded of their
original name and project; a reference naming the volume's own managed name
re-adopts the object where it stands (no rename, nothing to put back), and still
refuses another volume's managed name. On files, the manage's mark is removed when
the manage is undone.
"""

import os

import pytest

from tests.contract.conftest import Backend
from tests.contract.test_driver_contract import GIB, MANAGED, OTHER_ID, VOLUME_ID, manage_recorded
from tests.driver_support import vol
from volmgr_common import exception
from volmgr_volume.drivers import file_marks

PROJECT = "project-orphans"


def owned(volume_id: str, identity: str | None = None) -> dict:
    """A volume record of ``PROJECT`` (the part the drivers read)."""
    return {**vol(volume_id, identity), "project_id": PROJECT}


def listed(backend: Backend) -> dict:
    return {obj.name: obj for obj in backend.driver.list_managed_objects()}


def records_project(backend: Backend) -> bool:
    return backend.name != "lvm"


def test_managed_objects_are_listed_with_what_the_backend_records(backend: Backend) -> None:
    reference = backend.make("disk1", GIB + 1)
    backend.make("plain", GIB)
    identity = backend.driver.get_identity(owned(VOLUME_ID), reference)
    assert listed(backend) == {}, "nothing in managed form yet"
    backend.driver.manage(owned(VOLUME_ID), reference, identity=identity)
    [obj] = listed(backend).values()
    assert (obj.name, obj.volume_id, obj.identity) == (MANAGED, VOLUME_ID, identity)
    assert obj.as_dict()["size"] == 2
    if records_project(backend):
        assert (obj.project_id, obj.original_name) == (PROJECT, "disk1")
        assert obj.size_bytes == GIB + 1
    else:
        assert obj.project_id is None


def test_an_audits_reading_lists_the_same_objects_but_those_it_is_told_are_known(
    backend: Backend,
) -> None:
    for volume_id, name in ((VOLUME_ID, "disk1"), (OTHER_ID, "disk2")):
        reference = backend.make(name, GIB)
        identity = backend.driver.get_identity(owned(volume_id), reference)
        backend.driver.manage(owned(volume_id), reference, identity=identity)
    with backend.driver.start_audit() as reading:
        assert {obj.name: obj for obj in reading.managed_objects()} == listed(backend)
    with backend.driver.start_audit() as reading:
        left = list(reading.managed_objects(known_ids={VOLUME_ID}))
    assert [obj.volume_id for obj in left] == [OTHER_ID]


@pytest.mark.parametrize("backend", ["lvm"], indirect=True)
def test_an_lv_tagged_by_a_source_id_manage_records_its_original_name(backend: Backend) -> None:
    backend.make("disk1", GIB)
    uuid = backend.driver.get_identity(owned(VOLUME_ID), {"source-name": "disk1"})
    backend.driver.manage(owned(VOLUME_ID), {"source-id": uuid}, identity=uuid)
    [obj] = listed(backend).values()
    assert obj.original_name == "disk1"
    assert obj.marks == (f"volmgr-origin:{VOLUME_ID}:disk1",)


def test_readoption_claims_the_object_where_it_stands(backend: Backend) -> None:
    reference = backend.make("disk1", 2 * GIB)
    identity = manage_recorded(backend, VOLUME_ID, reference)
    before = backend.fingerprint(MANAGED)
    readopt = {"source-name": MANAGED}
    volume = owned(VOLUME_ID)
    assert backend.driver.is_readoption(volume, readopt)
    assert backend.driver.get_size(volume, readopt) == 2
    assert backend.driver.get_identity(volume, readopt) == identity
    assert backend.driver.manage(volume, readopt, identity=identity) == MANAGED
    assert backend.names() == {MANAGED}
    assert backend.fingerprint(MANAGED) == before, "not renamed, not changed"
    backend.driver.undo_manage(owned(VOLUME_ID, identity), readopt, identity=identity)
    assert backend.names() == {MANAGED}, "a re-adoption has nothing to put back"


def test_readoption_refuses_another_volumes_managed_name(backend: Backend) -> None:
    reference = backend.make("disk1", GIB)
    manage_recorded(backend, VOLUME_ID, reference)
    with pytest.raises(exception.ManageExistingInvalidReference):
        backend.driver.get_size(owned(OTHER_ID), {"source-name": MANAGED})
    with pytest.raises(exception.ManageExistingInvalidReference):
        backend.driver.manage(owned(OTHER_ID), {"source-name": MANAGED})
    assert backend.names() == {MANAGED}


def test_readoption_of_a_missing_object_is_refused(backend: Backend) -> None:
    with pytest.raises(exception.ManageExistingInvalidReference):
        backend.driver.manage(owned(VOLUME_ID), {"source-name": MANAGED})


@pytest.mark.parametrize("backend", ["file", "image"], indirect=True)
def test_the_file_mark_is_written_at_manage_and_removed_by_undo(backend: Backend) -> None:
    reference = backend.make("disk1", GIB)
    identity = backend.driver.get_identity(owned(VOLUME_ID), reference)
    backend.driver.manage(owned(VOLUME_ID), reference, identity=identity)
    mark = file_marks.read(str(backend.root / MANAGED))
    assert mark == {"volume_id": VOLUME_ID, "project_id": PROJECT, "original_name": "disk1"}
    backend.driver.undo_manage(vol(VOLUME_ID), reference, identity=identity)
    assert file_marks.read(str(backend.root / "disk1")) is None
    with pytest.raises(OSError):
        os.getxattr(backend.root / "disk1", file_marks.ATTRIBUTE)
