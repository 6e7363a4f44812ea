"""The VolumeDriver contract, checked on real objects of every real backend.

Each test runs on the file driver (a directory of raw files), the image driver (a
directory of qcow2 images) and the LVM driver (a scratch volume group on a loop
device): sizes round up to whole GiB, manage renames and returns the provider
location, undo puts back exactly the same object, both are idempotent, managed
and missing objects are refused, the listing shows what is managed, unmanage
leaves the object in place and capabilities have the shape the scheduler reads.
"""

import threading
import uuid
from typing import Any

import pytest

from tests.contract.conftest import Backend
from tests.driver_support import vol
from volmgr_common import exception
from volmgr_common.page_request import PageRequest

GIB = 1024**3
MIB = 1024**2
VOLUME_ID = "11111111-2222-3333-4444-555555555555"
OTHER_ID = "66666666-7777-8888-9999-aaaaaaaaaaaa"
MANAGED = f"volume-{VOLUME_ID}"
ENTRY_KEYS = {"reference", "size", "safe_to_manage", "reason_not_safe", "cinder_id", "extra_info"}
POOL_KEYS = {"pool_name", "total_capacity_gb", "free_capacity_gb", "allocated_capacity_gb"}


def _names(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["reference"]["source-name"] for entry in entries]


@pytest.mark.parametrize(
    ("size_bytes", "expected_gib"),
    [(4 * MIB, 1), (GIB, 1), (GIB + 4 * MIB, 2), (3 * GIB - 4 * MIB, 3), (3 * GIB, 3)],
)
def test_size_rounds_up_to_whole_gib(backend: Backend, size_bytes: int, expected_gib: int) -> None:
    reference = backend.make("disk1", size_bytes)
    assert backend.driver.get_size(vol(VOLUME_ID), reference) == expected_gib


def test_manage_renames_and_returns_the_provider_location(backend: Backend) -> None:
    reference = backend.make("disk1", GIB)
    before = backend.fingerprint("disk1")
    location = backend.driver.manage(vol(VOLUME_ID), reference)
    assert location == MANAGED
    assert backend.names() == {MANAGED}
    assert backend.fingerprint(MANAGED)[:2] == before[:2]


def test_manage_is_idempotent_and_size_is_still_reported(backend: Backend) -> None:
    reference = backend.make("disk1", 2 * GIB)
    identity = backend.driver.get_identity(vol(VOLUME_ID), reference)
    first = backend.driver.manage(vol(VOLUME_ID), reference, identity=identity)
    after_first = backend.fingerprint(MANAGED)
    # A resumed flow: its volume holds the identity recorded before the rename.
    resumed = vol(VOLUME_ID, identity)
    assert backend.driver.manage(resumed, reference, identity=identity) == first
    assert backend.fingerprint(MANAGED) == after_first
    assert backend.driver.get_size(resumed, reference) == 2


def manage_recorded(backend: Backend, volume_id: str, reference: dict[str, Any]) -> str:
    """Manage as the flow does (identity first, then the rename); the identity."""
    identity = backend.driver.get_identity(vol(volume_id), reference)
    backend.driver.manage(vol(volume_id), reference, identity=identity)
    return identity


def test_undo_restores_exactly(backend: Backend) -> None:
    reference = backend.make("disk1", GIB)
    backend.make("other", GIB)
    before = {name: backend.fingerprint(name) for name in backend.names()}
    identity = manage_recorded(backend, VOLUME_ID, reference)
    backend.driver.undo_manage(vol(VOLUME_ID), reference, identity=identity)
    assert {name: backend.fingerprint(name) for name in backend.names()} == before


def test_undo_is_idempotent_and_harmless_without_manage(backend: Backend) -> None:
    reference = backend.make("disk1", GIB)
    before = backend.fingerprint("disk1")
    backend.driver.undo_manage(vol(VOLUME_ID), reference)
    identity = manage_recorded(backend, VOLUME_ID, reference)
    backend.driver.undo_manage(vol(VOLUME_ID), reference, identity=identity)
    backend.driver.undo_manage(vol(VOLUME_ID), reference, identity=identity)
    assert backend.names() == {"disk1"}
    assert backend.fingerprint("disk1") == before


def test_identity_names_the_object_before_and_after_the_rename(backend: Backend) -> None:
    reference = backend.make("disk1", GIB)
    other = backend.make("disk2", GIB)
    identity = backend.driver.get_identity(vol(VOLUME_ID), reference)
    assert identity != backend.driver.get_identity(vol(VOLUME_ID), other)
    backend.driver.manage(vol(VOLUME_ID), reference, identity=identity)
    assert backend.driver.get_identity(vol(VOLUME_ID, identity), reference) == identity


def test_manage_and_undo_move_only_the_identified_object(backend: Backend) -> None:
    reference = backend.make("disk1", GIB)
    other = backend.make("disk2", GIB)
    before = {name: backend.fingerprint(name) for name in backend.names()}
    wrong = backend.driver.get_identity(vol(VOLUME_ID), other)
    with pytest.raises(exception.ManageExistingInvalidReference):
        backend.driver.manage(vol(VOLUME_ID), reference, identity=wrong)
    assert {name: backend.fingerprint(name) for name in backend.names()} == before
    manage_recorded(backend, VOLUME_ID, reference)
    managed = backend.fingerprint(MANAGED)
    with pytest.raises(exception.VolumeDriverException, match="leaving it where it is"):
        backend.driver.undo_manage(vol(VOLUME_ID), reference, identity=wrong)
    assert backend.names() == {MANAGED, "disk2"}
    assert backend.fingerprint(MANAGED) == managed


def test_an_object_swapped_in_before_the_rename_is_put_back_and_refused(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = backend.make("disk1", GIB)
    backend.make("disk2", GIB)
    first, second = backend.fingerprint("disk1"), backend.fingerprint("disk2")
    identity = backend.driver.get_identity(vol(VOLUME_ID), reference)
    backend.swap_before_next_rename(monkeypatch, "disk1", "disk2")
    with pytest.raises(exception.ManageExistingInvalidReference, match="rename was undone"):
        backend.driver.manage(vol(VOLUME_ID), reference, identity=identity)
    # Only the other process's swap remains: nothing is under the managed name.
    assert backend.names() == {"disk1", "disk2"}
    assert backend.fingerprint("disk1")[0] == second[0]
    assert backend.fingerprint("disk2")[0] == first[0]


def test_names_in_managed_form_are_refused(backend: Backend) -> None:
    reference = backend.make(f"volume-{OTHER_ID}", GIB)
    for call in (backend.driver.get_size, backend.driver.manage):
        with pytest.raises(exception.ManageExistingInvalidReference, match="managed form"):
            call(vol(VOLUME_ID), reference)
    assert backend.names() == {f"volume-{OTHER_ID}"}


def test_missing_objects_are_refused(backend: Backend) -> None:
    backend.make("present", GIB)
    reference = {"source-name": "absent"}
    for call in (backend.driver.get_size, backend.driver.manage):
        with pytest.raises(exception.ManageExistingInvalidReference, match="absent"):
            call(vol(VOLUME_ID), reference)
    backend.driver.undo_manage(vol(VOLUME_ID), reference)
    assert backend.names() == {"present"}


def test_an_object_managed_by_one_volume_is_refused_to_another(backend: Backend) -> None:
    reference = backend.make("disk1", GIB)
    backend.driver.manage(vol(VOLUME_ID), reference)
    managed = backend.fingerprint(MANAGED)
    with pytest.raises(exception.ManageExistingInvalidReference):
        backend.driver.manage(vol(OTHER_ID), reference)
    backend.driver.undo_manage(vol(OTHER_ID), reference)
    assert backend.names() == {MANAGED}
    assert backend.fingerprint(MANAGED) == managed


def test_concurrent_manages_of_one_object_succeed_once(backend: Backend) -> None:
    reference = backend.make("disk1", GIB)
    volume_ids = [str(uuid.uuid4()) for _ in range(4)]
    outcomes: dict[str, Any] = {}

    def manage(volume_id: str) -> None:
        try:
            outcomes[volume_id] = backend.driver.manage(vol(volume_id), reference)
        except exception.VolmgrException as error:
            outcomes[volume_id] = error

    threads = [threading.Thread(target=manage, args=(v,)) for v in volume_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [v for v, outcome in outcomes.items() if isinstance(outcome, str)]
    assert len(winners) == 1
    assert backend.names() == {f"volume-{winners[0]}"}


def test_listing_shows_managed_objects_as_not_safe(backend: Backend) -> None:
    reference = backend.make("disk1", GIB)
    backend.make("disk2", 2 * GIB)
    location = backend.driver.manage(vol(VOLUME_ID), reference)
    entries = backend.driver.list_manageable(
        {location: VOLUME_ID}, PageRequest(limit=10, sort=(("size", "asc"),))
    )
    assert _names(entries) == [MANAGED, "disk2"]
    assert all(set(entry) == ENTRY_KEYS for entry in entries)
    managed, free = entries
    assert (managed["safe_to_manage"], managed["cinder_id"], managed["size"]) == (
        False,
        VOLUME_ID,
        1,
    )
    assert managed["reason_not_safe"] == "already managed"
    assert (free["safe_to_manage"], free["reason_not_safe"], free["cinder_id"]) == (
        True,
        None,
        None,
    )
    assert free["size"] == 2


@pytest.mark.parametrize("sort_key", ["reference", "size"])
@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
def test_listing_pages_cover_everything_once(
    backend: Backend, sort_key: str, sort_dir: str
) -> None:
    for index, size in enumerate((2, 1, 3, 1, 2)):
        backend.make(f"disk{index}", size * GIB)
    full = _names(
        backend.driver.list_manageable({}, PageRequest(limit=100, sort=((sort_key, sort_dir),)))
    )
    assert sorted(full) == sorted(backend.names())
    pages: list[str] = []
    marker = None
    while page := _names(
        backend.driver.list_manageable(
            {}, PageRequest(marker=marker, limit=2, sort=((sort_key, sort_dir),))
        )
    ):
        pages.extend(page)
        marker = page[-1]
    assert pages == full


def test_listing_refuses_an_unknown_marker(backend: Backend) -> None:
    backend.make("disk1", GIB)
    with pytest.raises(exception.InvalidInput, match="marker"):
        backend.driver.list_manageable(
            {}, PageRequest(marker="nothing", limit=10, sort=(("reference", "asc"),))
        )


def test_unmanage_leaves_the_object_under_its_managed_name(backend: Backend) -> None:
    reference = backend.make("disk1", GIB)
    location = backend.driver.manage(vol(VOLUME_ID), reference)
    (managed,) = backend.driver.list_managed_objects()
    assert managed.released_at is None
    backend.driver.unmanage(dict(vol(VOLUME_ID), provider_location=location))
    assert backend.names() == {MANAGED}
    (released,) = backend.driver.list_managed_objects()
    assert (released.identity, released.size_bytes) == (managed.identity, managed.size_bytes)
    assert released.released_at is not None, "marked as let go, on the object itself"


def test_capabilities_have_the_pool_shape(backend: Backend) -> None:
    backend.driver.manage(vol(VOLUME_ID), backend.make("disk1", 2 * GIB))
    backend.make("disk2", GIB)
    caps = backend.driver.get_capabilities()
    assert {"backend_name", "vendor_name", "driver_version", "storage_protocol"} <= set(caps)
    (pool,) = caps["pools"]
    assert set(pool) >= POOL_KEYS
    assert pool["allocated_capacity_gb"] == 2
    assert 0 <= pool["free_capacity_gb"] <= pool["total_capacity_gb"]
    assert pool["total_capacity_gb"] > 0
