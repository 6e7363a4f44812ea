"""Unit tests of the volume status transitions (volmgr_common.db.volume_*) on SQLite.

Each transition must keep quota usage equal to what the rows hold, and handling
the same transition twice must equal handling it once.
"""

import json
from typing import Any

import pytest

from volmgr_common import exception, message_field
from volmgr_common.db import api as db_api
from volmgr_common.db import messages as messages_db
from volmgr_common.db import (
    quota,
    reservations,
    volume_creation,
    volume_ownership,
    volume_record,
    volume_recovery,
    volume_transitions,
)
from volmgr_common.db import volume_types as types_db
from volmgr_common.db import volumes as volumes_db
from volmgr_common.page_request import PageRequest

PROJECT = "project-a"
BACKEND = "node1@files"
LIMITS = quota.DefaultLimits(volumes=10, gigabytes=100, per_type=-1, reservation_expire=600)
OLDEST_FIRST = PageRequest(sort=(("created_at", "asc"),))


@pytest.fixture
def gold(db: db_api.Database) -> dict[str, Any]:
    return types_db.create(db, "gold")


def values(vtype: dict[str, Any], source: str = "disk1", backend: str = BACKEND) -> dict[str, Any]:
    """The row values the API's ExtractManageRequest produces for ``source``."""
    ref = {"source-name": source}
    return {
        "project_id": PROJECT,
        "user_id": "user-a",
        "display_name": source,
        "display_description": None,
        "host": backend,
        "availability_zone": "nova",
        "volume_type_id": vtype["id"],
        "bootable": False,
        "reference": json.dumps(ref),
        "reference_key": volume_creation.reference_key(backend, ref),
        "request_id": "req-1",
    }


def create(db: db_api.Database, vtype: dict[str, Any], source: str = "disk1") -> dict[str, Any]:
    return volume_creation.create_managing(
        db, values(vtype, source), {"k": "v"}, LIMITS, vtype["name"]
    )


def in_use(db: db_api.Database) -> dict[str, int]:
    """``{resource: in_use}``, after checking that nothing is left reserved."""
    usage = quota.usage(db, PROJECT, LIMITS)
    assert {r: u["reserved"] for r, u in usage.items() if u["reserved"]} == {}
    return {resource: u["in_use"] for resource, u in usage.items() if u["in_use"]}


def commit_size(db: db_api.Database, volume_id: str, size: int) -> bool:
    """Reserve ``size`` GiB for the volume and commit it, as the volume flow does."""
    deltas = quota.volume_deltas("gold", gigabytes=size)
    reservation = reservations.reserve(db, PROJECT, deltas, LIMITS, volume_id=volume_id)
    committed = volume_transitions.commit_gigabytes(db, volume_id, reservation, size)
    if not committed:
        reservations.rollback(db, reservation)
    return committed


def fail(db: db_api.Database, volume_id: str, reason: str = "it broke") -> dict[str, Any] | None:
    return volume_transitions.fail_manage(db, volume_id, reason, "req-1")


def test_reference_key_ignores_key_order_and_depends_on_the_backend() -> None:
    key = volume_creation.reference_key(BACKEND, {"a": 1, "b": 2})
    assert key == volume_creation.reference_key(BACKEND, {"b": 2, "a": 1})
    assert key != volume_creation.reference_key("node2@files", {"a": 1, "b": 2})
    assert len(key) == 64


def test_create_managing_charges_one_volume(db: db_api.Database, gold: dict[str, Any]) -> None:
    volume = create(db, gold)
    assert volume["status"] == volume_record.MANAGING
    assert volume["volume_type"] == "gold"
    assert volume["reference"] == {"source-name": "disk1"}
    assert volume["metadata"] == {"k": "v"}
    assert volume["size"] is None
    assert in_use(db) == {"volumes": 1, "volumes_gold": 1}
    assert volumes_db.get(db, volume["id"]) == volume


def test_create_managing_over_quota_writes_nothing(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    quota.set_limit(db, PROJECT, "volumes", 1)
    create(db, gold, "disk1")
    with pytest.raises(exception.OverQuota):
        create(db, gold, "disk2")
    assert [v["name"] for v in volumes_db.list_volumes(db)] == ["disk1"]
    assert in_use(db) == {"volumes": 1, "volumes_gold": 1}


def test_duplicate_reference_names_the_holder(db: db_api.Database, gold: dict[str, Any]) -> None:
    holder = create(db, gold)
    with pytest.raises(exception.ManageExistingAlreadyManaged) as raised:
        create(db, gold)
    assert holder["id"] in str(raised.value)
    assert raised.value.kwargs["volume_id"] == holder["id"]
    assert raised.value.code == 409
    assert len(volumes_db.list_volumes(db)) == 1
    assert in_use(db) == {"volumes": 1, "volumes_gold": 1}


def test_a_retry_that_meets_its_own_committed_row_returns_it(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    """The commit of a first attempt went through but its answer was lost."""
    row = values(gold)
    first = volume_creation.create_managing(db, row, {}, LIMITS, "gold")
    again = volume_creation.create_managing(db, dict(row, id=first["id"]), {}, LIMITS, "gold")
    assert again == first
    assert in_use(db) == {"volumes": 1, "volumes_gold": 1}


def test_same_reference_on_another_backend_is_another_object(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    create(db, gold)
    volume_creation.create_managing(
        db, values(gold, backend="node2@files"), {}, LIMITS, gold["name"]
    )
    assert in_use(db)["volumes"] == 2


def test_fail_manage_records_the_failure_and_releases_all_quota(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    volume = create(db, gold)
    assert commit_size(db, volume["id"], 3)
    failed = fail(db, volume["id"], "the disk is gone")
    assert failed is not None
    assert failed["status"] == volume_record.ERROR_MANAGING
    assert failed["failure_reason"] == "the disk is gone"
    assert in_use(db) == {}
    [message] = messages_db.list_for(db, resource_uuid=volume["id"])
    assert message["user_message"] == "manage existing volume: An unknown error occurred."
    assert message["event_id"] == "VOLUME_VOLUME_901_001"
    assert message["request_id"] == "req-1"
    assert message["project_id"] == PROJECT


def test_fail_manage_tells_the_user_the_detail_its_stage_noted(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    volume = create(db, gold)
    detail = message_field.detail_for(exception.NoValidBackend(reason="/srv/x is full"))
    assert volume_recovery.record_failure(db, volume["id"], "/srv/x is full", detail=detail.id)
    assert fail(db, volume["id"], "/srv/x is full") is not None
    [message] = messages_db.list_for(db, resource_uuid=volume["id"])
    assert message["event_id"] == "VOLUME_VOLUME_901_003"
    assert message["user_message"] == (
        "manage existing volume: Could not find any available weighted backend."
    )


def test_fail_manage_twice_equals_once(db: db_api.Database, gold: dict[str, Any]) -> None:
    other = create(db, gold, "other")
    volume = create(db, gold)
    assert fail(db, volume["id"]) is not None
    assert fail(db, volume["id"], "again") is None
    assert volumes_db.get(db, volume["id"])["failure_reason"] == "it broke"
    assert len(messages_db.list_for(db, resource_uuid=volume["id"])) == 1
    # The other volume still holds its quota: the second call released nothing.
    assert in_use(db) == {"volumes": 1, "volumes_gold": 1}
    assert volumes_db.get(db, other["id"])["status"] == volume_record.MANAGING


def test_fail_manage_frees_the_reference_for_a_new_manage(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    first = create(db, gold)
    fail(db, first["id"])
    second = create(db, gold)
    assert second["id"] != first["id"]
    assert volumes_db.get(db, first["id"])["status"] == volume_record.ERROR_MANAGING
    assert in_use(db) == {"volumes": 1, "volumes_gold": 1}


def test_fail_manage_of_an_unknown_or_available_volume_does_nothing(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    assert fail(db, "no-such-volume") is None
    volume = create(db, gold)
    commit_size(db, volume["id"], 2)
    assert volume_transitions.finish_manage(db, volume["id"], "volume-x")
    assert fail(db, volume["id"]) is None
    assert volumes_db.get(db, volume["id"])["status"] == volume_record.AVAILABLE
    assert in_use(db) == {"volumes": 1, "volumes_gold": 1, "gigabytes": 2, "gigabytes_gold": 2}
    assert messages_db.list_for(db) == []


def test_commit_gigabytes_once(db: db_api.Database, gold: dict[str, Any]) -> None:
    volume = create(db, gold)
    assert commit_size(db, volume["id"], 3)
    assert not commit_size(db, volume["id"], 3)
    assert volumes_db.get(db, volume["id"])["size"] == 3
    assert in_use(db) == {"volumes": 1, "volumes_gold": 1, "gigabytes": 3, "gigabytes_gold": 3}


def test_uncommit_gigabytes_once(db: db_api.Database, gold: dict[str, Any]) -> None:
    volume = create(db, gold)
    commit_size(db, volume["id"], 3)
    assert volume_transitions.uncommit_gigabytes(db, volume["id"])
    assert not volume_transitions.uncommit_gigabytes(db, volume["id"])
    assert in_use(db) == {"volumes": 1, "volumes_gold": 1}
    # Given back, the size may be committed again (a resumed flow).
    assert commit_size(db, volume["id"], 3)


def test_commit_needs_a_managing_row(db: db_api.Database, gold: dict[str, Any]) -> None:
    volume = create(db, gold)
    fail(db, volume["id"])
    assert not commit_size(db, volume["id"], 3)
    assert not volume_transitions.uncommit_gigabytes(db, volume["id"])
    assert in_use(db) == {}


def test_claim_flow_only_once(db: db_api.Database, gold: dict[str, Any]) -> None:
    volume = create(db, gold)
    claimed = volume_ownership.claim_flow(db, volume["id"], "worker-1")
    assert claimed is not None and claimed["id"] == volume["id"]
    assert volume_ownership.claim_flow(db, volume["id"], "worker-1") is None
    assert volume_ownership.claim_flow(db, volume["id"], "worker-2") is None
    assert volume_ownership.claim_flow(db, "no-such-volume", "worker-1") is None


def test_a_failed_row_cannot_be_claimed(db: db_api.Database, gold: dict[str, Any]) -> None:
    volume = create(db, gold)
    fail(db, volume["id"])
    assert volume_ownership.claim_flow(db, volume["id"], "worker-1") is None


def test_destroy_managing_gives_quota_back(db: db_api.Database, gold: dict[str, Any]) -> None:
    volume = create(db, gold)
    assert volume_creation.destroy_managing(db, volume["id"])
    with pytest.raises(exception.VolumeNotFound):
        volumes_db.get(db, volume["id"])
    assert in_use(db) == {}
    assert not volume_creation.destroy_managing(db, volume["id"])
    create(db, gold)


def test_destroy_managing_keeps_a_failed_record(db: db_api.Database, gold: dict[str, Any]) -> None:
    volume = create(db, gold)
    fail(db, volume["id"])
    assert not volume_creation.destroy_managing(db, volume["id"])
    assert volumes_db.get(db, volume["id"])["status"] == volume_record.ERROR_MANAGING


def test_finish_manage_makes_the_volume_available(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    volume = create(db, gold)
    volume_ownership.claim_flow(db, volume["id"], "worker-1")
    assert volume_transitions.finish_manage(db, volume["id"], "volume-abc")
    done = volumes_db.get(db, volume["id"])
    assert (done["status"], done["provider_location"]) == (volume_record.AVAILABLE, "volume-abc")
    assert done["launched_at"] is not None
    assert not volume_transitions.finish_manage(db, volume["id"], "volume-other")
    assert volumes_db.get(db, volume["id"])["provider_location"] == "volume-abc"


def test_update_if_checks_the_status(db: db_api.Database, gold: dict[str, Any]) -> None:
    volume = create(db, gold)
    assert not volume_transitions.update_if(db, volume["id"], volume_record.AVAILABLE, host="x@y#z")
    assert volume_transitions.update_if(db, volume["id"], volume_record.MANAGING, host="x@y#z")
    assert volumes_db.get(db, volume["id"])["host"] == "x@y#z"


def test_deleting_a_failed_record_changes_no_usage(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    create(db, gold, "kept")
    volume = create(db, gold)
    fail(db, volume["id"])
    volume_transitions.delete_failed(db, volume["id"], PROJECT)
    with pytest.raises(exception.VolumeNotFound):
        volumes_db.get(db, volume["id"])
    assert in_use(db) == {"volumes": 1, "volumes_gold": 1}


def test_only_failed_records_of_the_project_are_deleted(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    volume = create(db, gold)
    with pytest.raises(exception.InvalidStatus):
        volume_transitions.delete_failed(db, volume["id"], PROJECT)
    fail(db, volume["id"])
    with pytest.raises(exception.VolumeNotFound):
        volume_transitions.delete_failed(db, volume["id"], "project-b")
    assert volumes_db.get(db, volume["id"])["status"] == volume_record.ERROR_MANAGING


def test_unmanage_releases_what_the_volume_held(db: db_api.Database, gold: dict[str, Any]) -> None:
    volume = create(db, gold)
    commit_size(db, volume["id"], 4)
    volume_transitions.finish_manage(db, volume["id"], "volume-abc")
    assert (
        volume_transitions.start_unmanage(db, volume["id"], PROJECT)["status"]
        == volume_record.UNMANAGING
    )
    with pytest.raises(exception.InvalidStatus):
        volume_transitions.start_unmanage(db, volume["id"], PROJECT)
    removed = volume_transitions.remove_unmanaged(db, volume["id"])
    assert removed is not None and removed["provider_location"] == "volume-abc"
    assert volume_transitions.remove_unmanaged(db, volume["id"]) is None
    assert in_use(db) == {}


def test_claim_flows_takes_only_unowned_managing_rows(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    free, owned, failed = (create(db, gold, name)["id"] for name in ("a", "b", "c"))
    assert volume_ownership.claim_flow(db, owned, "other-worker") is not None
    fail(db, failed)
    claimed = volume_ownership.claim_flows(db, [free, owned, failed, "no-such-id", free], "me")
    assert list(claimed) == [free]
    assert claimed[free]["metadata"] == {"k": "v"}
    assert claimed[free]["volume_type"] == "gold"
    assert claimed[free]["held_gigabytes"] == 0
    assert volume_ownership.claim_flows(db, [free], "someone-else") == {}


def test_commit_gigabytes_many_commits_each_once(db: db_api.Database, gold: dict[str, Any]) -> None:
    first, second = (create(db, gold, name)["id"] for name in ("a", "b"))
    reserved = [
        reservations.reserve(
            db, PROJECT, quota.volume_deltas("gold", gigabytes=size), LIMITS, volume_id
        )
        for volume_id, size in ((first, 2), (second, 5))
    ]
    commits = [
        volume_transitions.SizeCommit(first, reserved[0], 2),
        volume_transitions.SizeCommit(second, reserved[1], 5),
    ]
    assert volume_transitions.commit_gigabytes_many(db, commits) == [True, True]
    assert volume_transitions.commit_gigabytes_many(db, commits) == [False, False]
    assert in_use(db)["gigabytes"] == 7
    assert [volumes_db.get(db, v)["size"] for v in (first, second)] == [2, 5]


def test_finish_manage_many_finishes_the_managing_rows(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    first, second, failed = (create(db, gold, name)["id"] for name in ("a", "b", "c"))
    fail(db, failed)
    finished = [(first, "volume-1"), (failed, "volume-3"), (second, "volume-2"), (first, "x")]
    assert volume_transitions.finish_manage_many(db, finished) == [True, False, True, False]
    done = volumes_db.get(db, first)
    assert (done["status"], done["provider_location"]) == (volume_record.AVAILABLE, "volume-1")
    assert done["launched_at"] is not None
    assert volumes_db.get(db, failed)["status"] == volume_record.ERROR_MANAGING
    assert volume_transitions.finish_manage_many(db, [(second, "again")]) == [False]


def test_create_managing_many_gives_each_row_its_own_outcome(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    quota.set_limit(db, PROJECT, "volumes", 3)
    holder = create(db, gold, "held")
    new = [
        volume_creation.NewVolume(values(gold, source), {"n": source}, "gold")
        for source in ("a", "held", "b", "a", "c", "d")
    ]
    outcomes = volume_creation.create_managing_many(db, new, LIMITS)
    a, held, b, a_again, c, d = outcomes
    assert isinstance(a, dict) and isinstance(b, dict)
    assert (a["name"], a["metadata"], a["status"]) == ("a", {"n": "a"}, volume_record.MANAGING)
    assert isinstance(held, exception.ManageExistingAlreadyManaged)
    assert held.kwargs["volume_id"] == holder["id"]
    # The same object twice in one batch: the second names the first as holder.
    assert isinstance(a_again, exception.ManageExistingAlreadyManaged)
    assert a_again.kwargs["volume_id"] == a["id"]
    # Three volumes fit: the held one, a and b; c and d are over quota.
    assert isinstance(c, exception.OverQuota) and isinstance(d, exception.OverQuota)
    assert in_use(db) == {"volumes": 3, "volumes_gold": 3}
    assert sorted(v["name"] for v in volumes_db.list_volumes(db)) == ["a", "b", "held"]
    assert volumes_db.get(db, a["id"]) == a


def test_place_many_places_each_waiting_row_once(db: db_api.Database, gold: dict[str, Any]) -> None:
    first, second, failed = (create(db, gold, name)["id"] for name in ("a", "b", "c"))
    fail(db, failed)
    placed = volume_ownership.place_many(
        db, [(first, f"{BACKEND}#p1"), (failed, f"{BACKEND}#p1"), (second, f"{BACKEND}#p2")]
    )
    assert placed == [True, False, True]
    assert volumes_db.get(db, second)["host"] == f"{BACKEND}#p2"
    assert volumes_db.get(db, second)["scheduled_at"] is not None
    assert volume_ownership.place_many(db, [(first, f"{BACKEND}#p9")]) == [False]
    assert volumes_db.get(db, first)["host"] == f"{BACKEND}#p1"


def test_count_and_size(db: db_api.Database, gold: dict[str, Any]) -> None:
    assert volumes_db.count_and_size(db) == (0, 0)
    first, second = create(db, gold, "disk1"), create(db, gold, "disk2")
    commit_size(db, first["id"], 3)
    assert volumes_db.count_and_size(db, PROJECT) == (2, 3)
    assert volumes_db.count_and_size(db, "another-project") == (0, 0)
    commit_size(db, second["id"], 4)
    assert volumes_db.count_and_size(db) == (2, 7)


def test_list_volumes_filters_in_the_database(db: db_api.Database, gold: dict[str, Any]) -> None:
    def make(source: str, metadata: dict[str, str], bootable: bool) -> str:
        row = dict(values(gold, source), bootable=bootable)
        return volume_creation.create_managing(db, row, metadata, LIMITS, gold["name"])["id"]

    a = make("a", {"tier": "fast", "owner": "ops"}, bootable=True)
    b = make("b", {"tier": "fast"}, bootable=False)
    c = make("c", {"tier": "slow", "owner": "ops"}, bootable=True)

    def listed(page: PageRequest = OLDEST_FIRST, **filters: Any) -> list[str]:
        project = filters.pop("project_id", None)
        return [v["id"] for v in volumes_db.list_volumes(db, page, project, filters)]

    assert listed(metadata={"tier": "fast"}) == [a, b]
    assert listed(metadata={"tier": "fast", "owner": "ops"}) == [a]
    assert listed(metadata={"owner": "dev"}) == []
    assert listed(bootable=True) == [a, c]
    assert listed(bootable=False, name="b") == [b]
    assert listed(name="c", project_id="another-project") == []
    # Paging goes over the matching rows only.
    assert listed(PageRequest(limit=1, sort=OLDEST_FIRST.sort), bootable=True) == [a]
    assert listed(PageRequest(marker=a, limit=1, sort=OLDEST_FIRST.sort), bootable=True) == [c]
    # Newest first unless the page names an order.
    assert [v["id"] for v in volumes_db.list_volumes(db)] == [c, b, a]
