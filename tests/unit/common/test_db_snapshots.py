"""Unit tests of the snapshot rooms (volmgr_common.db.snapshot_*) on SQLite.

A snapshot is managed only on an available volume of the caller's project; its row
holds ``snapshots`` (and ``snapshots_<type>``) from creation and its gigabytes from
the size charge on; every transition keeps usage equal to what the rows hold (the
quota audit finds no drift), handling one twice equals once, and one object is
never held by two rows, volume or snapshot.
"""

from typing import Any

import pytest

from tests.unit.common.test_db_volumes import LIMITS, PROJECT, commit_size, create, in_use
from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import messages as messages_db
from volmgr_common.db import (
    quota,
    quota_audit,
    snapshot_creation,
    snapshot_identity,
    snapshot_ownership,
    snapshot_recovery,
    snapshot_transitions,
    snapshots,
    volume_identity,
    volume_transitions,
)
from volmgr_common.db import volume_types as types_db
from volmgr_common.page_request import PageRequest

BACKEND = "node1@files"


@pytest.fixture
def volume(db: db_api.Database) -> dict[str, Any]:
    """An available volume of type gold holding 4 GiB, its object's identity dev:9."""
    vtype = types_db.create(db, "gold")
    created = create(db, vtype)
    claim = volume_identity.IdentityClaim(created["id"], BACKEND, "dev:9")
    assert volume_identity.record_identities(db, [claim]) == [None]
    assert commit_size(db, created["id"], 4)
    assert volume_transitions.finish_manage(db, created["id"], "volume-x")
    return created


def new(volume: dict[str, Any], source: str = "snap1", **kwargs: Any) -> Any:
    return snapshot_creation.NewSnapshot(
        volume_id=volume["id"],
        project_id=kwargs.pop("project_id", PROJECT),
        user_id="user-a",
        reference={"source-name": source},
        name=source,
        metadata={"k": "v"},
        **kwargs,
    )


def test_a_snapshot_row_holds_a_snapshot_then_its_gigabytes_then_is_available(
    db: db_api.Database, volume: dict[str, Any]
) -> None:
    snap = snapshot_creation.create_managing(db, new(volume), LIMITS)
    assert (snap["status"], snap["host"], snap["metadata"]) == ("managing", BACKEND, {"k": "v"})
    assert in_use(db) == {"volumes": 1, "volumes_gold": 1, "gigabytes": 4, "gigabytes_gold": 4,
                          "snapshots": 1, "snapshots_gold": 1}  # fmt: skip
    claimed = snapshot_ownership.claim_flow(db, snap["id"], "proc-1")
    assert claimed is not None
    assert snapshot_ownership.claim_flow(db, snap["id"], "proc-2") is None
    token = claimed["flow_owner"]
    snapshot_identity.record_identity(db, snap["id"], BACKEND, "dev:1", token)
    assert snapshot_transitions.charge_gigabytes(db, snap["id"], token, 2, True, LIMITS)
    assert snapshot_transitions.charge_gigabytes(db, snap["id"], token, 2, True, LIMITS)  # once
    assert in_use(db)["gigabytes"] == 6
    assert snapshot_transitions.finish_manage(db, snap["id"], token, "snapshot-x")
    assert not snapshot_transitions.finish_manage(db, snap["id"], token, "snapshot-x")
    shown = snapshots.get(db, snap["id"], project_id=PROJECT)
    assert (shown["status"], shown["volume_size"], shown["provider_location"]) == (
        "available", 2, "snapshot-x"
    )  # fmt: skip
    assert quota_audit.check(db) == []
    with pytest.raises(exception.SnapshotNotFound):
        snapshots.get(db, snap["id"], project_id="another")


def test_no_snapshot_gb_quota_leaves_gigabytes_alone(
    db: db_api.Database, volume: dict[str, Any]
) -> None:
    snap = snapshot_creation.create_managing(db, new(volume), LIMITS)
    claimed = snapshot_ownership.claim_flow(db, snap["id"], "proc-1")
    assert claimed is not None
    assert snapshot_transitions.charge_gigabytes(
        db, snap["id"], claimed["flow_owner"], 3, False, LIMITS
    )
    assert in_use(db)["gigabytes"] == 4
    assert snapshots.get(db, snap["id"])["volume_size"] == 3
    assert quota_audit.check(db) == []


def test_refusals_change_nothing(db: db_api.Database, volume: dict[str, Any]) -> None:
    before = in_use(db)
    with pytest.raises(exception.VolumeNotFound):
        snapshot_creation.create_managing(db, new(volume, project_id="another"), LIMITS)
    snapshot_creation.create_managing(db, new(volume), LIMITS)
    with pytest.raises(exception.ManageExistingAlreadyManaged):
        snapshot_creation.create_managing(db, new(volume), LIMITS)
    with pytest.raises(exception.ManageExistingAlreadyManaged):  # the volume's own object
        snapshot_creation.create_managing(db, new(volume, source="disk1"), LIMITS)
    one_snapshot = quota.DefaultLimits(10, 100, -1, 600, snapshots=1)
    with pytest.raises(exception.OverQuota):
        snapshot_creation.create_managing(db, new(volume, source="snap2"), one_snapshot)
    assert in_use(db) == {**before, "snapshots": 1, "snapshots_gold": 1}
    assert len(snapshots.list_snapshots(db)) == 1


def test_a_snapshot_of_a_volume_that_is_not_available_is_refused(
    db: db_api.Database, volume: dict[str, Any]
) -> None:
    volume_transitions.start_unmanage(db, volume["id"], PROJECT)
    with pytest.raises(exception.InvalidVolume, match="available"):
        snapshot_creation.create_managing(db, new(volume), LIMITS)


def test_an_identity_held_by_a_volume_or_another_snapshot_is_refused(
    db: db_api.Database, volume: dict[str, Any]
) -> None:
    first, second = (
        snapshot_creation.create_managing(db, new(volume, source=s), LIMITS) for s in ("a", "b")
    )
    tokens = [snapshot_ownership.claim_flow(db, s["id"], "p") for s in (first, second)]
    assert tokens[0] is not None and tokens[1] is not None
    snapshot_identity.record_identity(db, first["id"], BACKEND, "dev:1", tokens[0]["flow_owner"])
    with pytest.raises(exception.ManageExistingAlreadyManaged, match=first["id"]):
        snapshot_identity.record_identity(
            db, second["id"], BACKEND, "dev:1", tokens[1]["flow_owner"]
        )
    with pytest.raises(exception.ManageExistingAlreadyManaged, match=volume["id"]):
        snapshot_identity.record_identity(
            db, second["id"], BACKEND, "dev:9", tokens[1]["flow_owner"]
        )
    with pytest.raises(exception.FlowOwnershipLost):
        snapshot_identity.record_identity(db, second["id"], BACKEND, "dev:2", "not-the-token")


def test_a_failure_releases_everything_once_and_tells_the_user(
    db: db_api.Database, volume: dict[str, Any]
) -> None:
    before = in_use(db)
    snap = snapshot_creation.create_managing(db, new(volume), LIMITS)
    claimed = snapshot_ownership.claim_flow(db, snap["id"], "p")
    assert claimed is not None
    token = claimed["flow_owner"]
    snapshot_identity.record_identity(db, snap["id"], BACKEND, "dev:1", token)
    snapshot_transitions.charge_gigabytes(db, snap["id"], token, 2, True, LIMITS)
    assert snapshot_recovery.record_failure(db, snap["id"], "boom", token, "901")
    failed = snapshot_transitions.fail_manage(db, snap["id"], "boom", "req-9")
    assert failed is not None and failed["status"] == "error_managing"
    assert snapshot_transitions.fail_manage(db, snap["id"], "boom", "req-9") is None
    assert in_use(db) == before
    [message] = messages_db.list_for(db, PROJECT, resource_uuid=snap["id"])
    assert message["event_id"] == "VOLUME_VOLUME_SNAPSHOT_902_901"
    assert message["resource_type"] == "VOLUME_SNAPSHOT"
    # The reference and identity are free again: a new request may take them.
    again = snapshot_creation.create_managing(db, new(volume), LIMITS)
    with pytest.raises(exception.InvalidSnapshot):
        snapshot_transitions.delete_failed(db, again["id"], PROJECT)
    snapshot_transitions.delete_failed(db, snap["id"], PROJECT)
    assert quota_audit.check(db) == []


def test_unmanage_and_the_volume_that_has_snapshots(
    db: db_api.Database, volume: dict[str, Any]
) -> None:
    before = in_use(db)
    snap = snapshot_creation.create_managing(db, new(volume), LIMITS)
    claimed = snapshot_ownership.claim_flow(db, snap["id"], "p")
    assert claimed is not None
    snapshot_transitions.charge_gigabytes(db, snap["id"], claimed["flow_owner"], 2, True, LIMITS)
    snapshot_transitions.finish_manage(db, snap["id"], claimed["flow_owner"], "snapshot-x")
    with pytest.raises(exception.InvalidVolume, match="snapshot"):
        volume_transitions.start_unmanage(db, volume["id"], PROJECT)
    assert snapshot_transitions.start_unmanage(db, snap["id"], PROJECT)["status"] == "unmanaging"
    with pytest.raises(exception.InvalidSnapshot):
        snapshot_transitions.start_unmanage(db, snap["id"], PROJECT)
    assert snapshot_transitions.remove_unmanaged(db, snap["id"]) is not None
    assert snapshot_transitions.remove_unmanaged(db, snap["id"]) is None
    assert in_use(db) == before
    assert volume_transitions.start_unmanage(db, volume["id"], PROJECT)["status"] == "unmanaging"


def test_listing_pages_and_filters(db: db_api.Database, volume: dict[str, Any]) -> None:
    made = [snapshot_creation.create_managing(db, new(volume, f"s{i}"), LIMITS) for i in range(3)]
    page = snapshots.list_snapshots(db, PageRequest(limit=2, sort=(("name", "asc"),)))
    assert [s["name"] for s in page] == ["s0", "s1"]
    rest = snapshots.list_snapshots(db, PageRequest(marker=page[-1]["id"], sort=(("name", "asc"),)))
    assert [s["name"] for s in rest] == ["s2"]
    assert snapshots.list_snapshots(db, filters={"name": "s1"})[0]["id"] == made[1]["id"]
    assert [s["id"] for s in snapshots.list_snapshots(db, filters={"name~": "2"})] == [
        made[2]["id"]
    ]
    assert len(snapshots.list_snapshots(db, filters={"metadata": {"k": "v"}})) == 3
    assert snapshots.list_snapshots(db, filters={"metadata": {"k": "other"}}) == []
    assert snapshots.list_snapshots(db, filters={"metadata": "not a mapping"}) == []
    assert snapshots.list_snapshots(db, filters={"no_such_column": "x"}) == []
    assert snapshots.list_snapshots(db, project_id="another") == []
    assert snapshots.count_of_volume(db, volume["id"]) == 3
    assert set(snapshots.managed_objects(db, BACKEND)) == {"s0", "s1", "s2"}
    with pytest.raises(exception.InvalidInput):
        snapshots.list_snapshots(db, PageRequest(sort=(("nonsense", "asc"),)))


def test_recovery_sees_transient_rows_and_takes_over_stale_claims(
    db: db_api.Database, volume: dict[str, Any]
) -> None:
    snap = snapshot_creation.create_managing(db, new(volume), LIMITS)
    claimed = snapshot_ownership.claim_flow(db, snap["id"], "dead-process")
    assert claimed is not None
    [row] = snapshot_recovery.transitional(db, ("managing",), backend=BACKEND, owned=True)
    assert row["flow_owner"] == claimed["flow_owner"]
    assert not snapshot_ownership.take_over_flow(db, snap["id"], claimed["flow_owner"], 3600)
    assert snapshot_ownership.take_over_flow(db, snap["id"], claimed["flow_owner"], -1)
    assert snapshot_ownership.claim_flow(db, snap["id"], "new-process") is not None
