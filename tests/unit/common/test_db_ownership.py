"""Unit tests of the ownership fence (volmgr_common.db.volume_ownership) on SQLite.

A claim's token is the only way to change the backend for a ``managing`` row: once
the row was taken over (or decided), every step of the old flow is refused and
changes neither the backend (the step is not called) nor the row.
"""

import time
from typing import Any

import pytest

from tests.unit.common.test_db_volumes import commit_size, create, gold, in_use
from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import models, volume_ownership, volume_recovery, volume_transitions
from volmgr_common.db import volumes as volumes_db
from volmgr_common.db.volume_record import ClaimedVolume

__all__ = ["gold"]  # the fixture, shared with test_db_volumes

SOON = 1.0  # seconds


def claimed(
    db: db_api.Database, vtype: dict[str, Any], instance: str = "worker-1", source: str = "disk1"
) -> ClaimedVolume:
    volume = volume_ownership.claim_flow(db, create(db, vtype, source)["id"], instance)
    assert volume is not None
    return volume


def taken_over(db: db_api.Database, volume: ClaimedVolume, instance: str) -> ClaimedVolume:
    """Another process takes the flow over once its claim is not renewed, and claims it."""
    # A negative age: the claim counts as unrenewed whenever it was stamped.
    assert volume_ownership.take_over_flow(db, volume["id"], volume["flow_owner"], -SOON)
    again = volume_ownership.claim_flow(db, volume["id"], instance)
    assert again is not None
    return again


def owner_of(db: db_api.Database, volume_id: str) -> str | None:
    with db.session(write=False) as session:
        return session.get(models.Volume, volume_id).flow_owner  # type: ignore[union-attr]


def test_each_claim_writes_a_token_of_its_own(db: db_api.Database, gold: dict[str, Any]) -> None:
    first = claimed(db, gold)
    assert owner_of(db, first["id"]) == first["flow_owner"]
    assert volume_ownership.instance_of(first["flow_owner"]) == "worker-1"
    second = taken_over(db, first, "worker-1")  # the same process claims it again
    assert second["flow_owner"] != first["flow_owner"]
    assert volume_ownership.instance_of(second["flow_owner"]) == "worker-1"


def test_a_fenced_step_runs_and_is_recorded_while_owned(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    volume = claimed(db, gold)
    location = volume_ownership.fenced(
        db,
        volume["id"],
        volume["flow_owner"],
        lambda: "volume-x",
        lambda result: {"provider_location": result},
    )
    assert location == "volume-x"
    assert volumes_db.get(db, volume["id"])["provider_location"] == "volume-x"


def test_a_step_that_fails_records_nothing(db: db_api.Database, gold: dict[str, Any]) -> None:
    volume = claimed(db, gold)

    def step() -> str:
        raise exception.VolumeDriverException(reason="no")

    with pytest.raises(exception.VolumeDriverException):
        volume_ownership.fenced(
            db, volume["id"], volume["flow_owner"], step, lambda r: {"provider_location": r}
        )
    assert volumes_db.get(db, volume["id"])["provider_location"] is None
    assert owner_of(db, volume["id"]) == volume["flow_owner"]


def test_a_flow_taken_over_can_change_nothing(db: db_api.Database, gold: dict[str, Any]) -> None:
    stale = claimed(db, gold, "paused-worker")
    assert commit_size(db, stale["id"], 3)
    current = taken_over(db, stale, "live-worker")
    calls: list[str] = []

    with pytest.raises(exception.FlowOwnershipLost):
        volume_ownership.fenced(
            db, stale["id"], stale["flow_owner"], lambda: calls.append("step"), lambda _: {}
        )
    assert calls == []
    token = stale["flow_owner"]
    assert not volume_transitions.uncommit_gigabytes(db, stale["id"], token)
    assert not volume_recovery.record_failure(db, stale["id"], "stale", token)
    assert volume_transitions.finish_manage_many(
        db, [(stale["id"], "x")], {stale["id"]: token}
    ) == [False]
    row = volumes_db.get(db, stale["id"])
    assert (row["status"], row["failure_reason"], row["provider_location"]) == (
        "managing",
        None,
        None,
    )
    assert in_use(db) == {"volumes": 1, "gigabytes": 3, "volumes_gold": 1, "gigabytes_gold": 3}
    # The flow that owns the row now goes on.
    assert volume_transitions.finish_manage_many(
        db, [(current["id"], "volume-y")], {current["id"]: current["flow_owner"]}
    ) == [True]


def test_a_decided_row_is_no_longer_any_flows(db: db_api.Database, gold: dict[str, Any]) -> None:
    volume = claimed(db, gold)
    volume_transitions.fail_manage(db, volume["id"], "gave up", None)
    with pytest.raises(exception.FlowOwnershipLost):
        volume_ownership.fenced(db, volume["id"], volume["flow_owner"], lambda: None, lambda _: {})


def test_a_renewed_claim_is_not_taken_over(db: db_api.Database, gold: dict[str, Any]) -> None:
    mine, theirs = claimed(db, gold), claimed(db, gold, "worker-2", "disk2")
    time.sleep(0.3)  # both claims are older than 0.2 s...
    assert volume_ownership.renew_claims(db, [mine["flow_owner"]]) == 1  # ...until renewed
    assert not volume_ownership.take_over_flow(db, mine["id"], mine["flow_owner"], 0.2)
    assert volume_ownership.take_over_flow(db, theirs["id"], theirs["flow_owner"], 0.2)
    # Only the named claim is taken: another token of the same row is not.
    assert not volume_ownership.take_over_flow(db, mine["id"], "worker-1:other", -SOON)


def test_renew_claims_leaves_failed_and_other_claims_alone(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    mine, failed = claimed(db, gold), claimed(db, gold, source="disk2")
    claimed(db, gold, "worker-1", "disk3")  # the same process, a claim not named
    assert volume_recovery.record_failure(db, failed["id"], "no", failed["flow_owner"])
    assert volume_ownership.renew_claims(db, [mine["flow_owner"], failed["flow_owner"]]) == 1
    assert volume_ownership.renew_claims(db, ["nobody:0"]) == 0
    assert owner_of(db, mine["id"]) == mine["flow_owner"]


def test_fenced_many_runs_one_step_for_the_rows_still_owned(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    kept = claimed(db, gold, source="disk1")
    failing = claimed(db, gold, source="disk2")
    lost = claimed(db, gold, source="disk3")
    taken_over(db, lost, "worker-2")
    owners = [(v["id"], v["flow_owner"]) for v in (kept, failing, lost)]
    seen: list[list[int]] = []

    def step(positions: Any) -> list[Any]:
        seen.append(list(positions))
        return ["volume-kept", RuntimeError("the driver failed")]

    results = volume_ownership.fenced_many(
        db, owners, step, lambda location: {"provider_location": location}
    )
    assert seen == [[0, 1]]  # the row taken over is not handed to the step
    assert results[0] == "volume-kept"
    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], exception.FlowOwnershipLost)
    assert volumes_db.get(db, kept["id"])["provider_location"] == "volume-kept"
    assert volumes_db.get(db, failing["id"])["provider_location"] is None
    assert volumes_db.get(db, lost["id"])["provider_location"] is None


def test_fenced_many_with_no_row_owned_runs_nothing(
    db: db_api.Database, gold: dict[str, Any]
) -> None:
    volume = claimed(db, gold)
    taken_over(db, volume, "worker-2")

    def step(positions: Any) -> list[Any]:
        raise AssertionError("must not run")

    (result,) = volume_ownership.fenced_many(
        db, [(volume["id"], volume["flow_owner"])], step, lambda _: {}
    )
    assert isinstance(result, exception.FlowOwnershipLost)
