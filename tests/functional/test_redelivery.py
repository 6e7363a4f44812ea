"""Functional tests: a message delivered twice has the effect of one delivery.

oslo.messaging may hand the same cast to a service twice (a redelivery after a
reconnect, a recovery scan racing the original message). The services' endpoints
are called directly here, as their RPC servers would call them, while everything
else keeps running.
"""

import concurrent.futures
import json
from typing import Any

from tests.functional.stack import GIB, PROJECT, Stack, make_file
from volmgr_common.db import quota, volume_creation, volume_record, volume_transitions
from volmgr_common.db import volume_types as types_db
from volmgr_common.db import volumes as volumes_db


def placed_row(stack: Stack, source_name: str) -> dict[str, Any]:
    """A ``managing`` row the API wrote and the scheduler placed; no cast was sent."""
    vtype = types_db.get_or_create(stack.db, stack.conf.default_volume_type)
    ref = {"source-name": source_name}
    values = {
        "project_id": PROJECT,
        "user_id": "user-a",
        "host": stack.backend,
        "availability_zone": "nova",
        "volume_type_id": vtype["id"],
        "reference": json.dumps(ref),
        "reference_key": volume_creation.reference_key(stack.backend, ref),
        "request_id": stack.ctxt.request_id,
    }
    limits = quota.DefaultLimits.from_conf(stack.conf)
    volume = volume_creation.create_managing(stack.db, values, {}, limits, vtype["name"])
    # ``scheduled_at`` stays empty, as if the scheduler's own update were still on its
    # way: the volume service's recovery scan, which may run at any moment after it
    # starts, leaves such rows alone, so only the test delivers messages for this one.
    volume_transitions.update_if(
        stack.db, volume["id"], volume_record.MANAGING, host=f"{stack.backend}#default"
    )
    return volume


def test_the_manage_cast_twice_runs_one_flow(stack: Stack) -> None:
    make_file(stack.files / "disk.img", 2 * GIB)
    volume = placed_row(stack, "disk.img")
    manager = stack.volume_manager()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        deliveries = [pool.submit(manager.manage_existing, stack.ctxt, volume["id"]) for _ in "ab"]
        assert [delivery.result() for delivery in deliveries] == [None, None]
    manager.manage_existing(stack.ctxt, volume["id"])

    done = volumes_db.get(stack.db, volume["id"])
    assert (done["status"], done["size"]) == (volume_record.AVAILABLE, 2)
    assert stack.listing() == [f"volume-{volume['id']}"]
    assert stack.in_use() == {
        "volumes": 1,
        "volumes___DEFAULT__": 1,
        "gigabytes": 2,
        "gigabytes___DEFAULT__": 2,
    }
    stack.notifications.wait_for(volume["id"], "volume.manage_existing.end")
    stack.notifications.wait_for(volume["id"], "volume.manage_existing.start")
    assert stack.notifications.counts(volume["id"]) == {
        "volume.manage_existing.start": 1,
        "volume.manage_existing.end": 1,
    }


def test_every_message_of_a_finished_manage_again_changes_nothing(stack: Stack) -> None:
    make_file(stack.files / "disk.img", GIB)
    accepted = stack.manage("disk.img")
    before = stack.wait_terminal(accepted["id"])
    stack.notifications.wait_for(accepted["id"], "volume.manage_existing.end")
    stack.notifications.wait_for(accepted["id"], "volume.manage_existing.start")
    spec = {"host": stack.backend, "availability_zone": "nova", "extra_specs": {}, "size": None}

    stack.scheduler_manager().manage_existing(stack.ctxt, accepted["id"], spec)
    stack.volume_manager().manage_existing(stack.ctxt, accepted["id"])
    stack.api_manager().manage_existing_failed(stack.ctxt, accepted["id"], "late", "volume")

    assert volumes_db.get(stack.db, accepted["id"]) == before
    assert stack.listing() == [f"volume-{accepted['id']}"]
    assert stack.in_use() == {
        "volumes": 1,
        "volumes___DEFAULT__": 1,
        "gigabytes": 1,
        "gigabytes___DEFAULT__": 1,
    }
    assert stack.messages(accepted["id"]) == []
    assert stack.notifications.counts(accepted["id"]) == {
        "volume.manage_existing.start": 1,
        "volume.manage_existing.end": 1,
    }


def test_the_compensation_twice_equals_once(stack: Stack) -> None:
    make_file(stack.files / "kept.img", GIB)
    kept = stack.wait_terminal(stack.manage("kept.img")["id"])
    volume = placed_row(stack, "gone.img")
    api = stack.api_manager()

    api.manage_existing_failed(stack.ctxt, volume["id"], "the disk went away", "volume")
    api.manage_existing_failed(stack.ctxt, volume["id"], "the disk went away", "volume")
    api.manage_existing_failed(stack.ctxt, volume["id"], "another reason", "scheduler")

    failed = volumes_db.get(stack.db, volume["id"])
    assert failed["status"] == volume_record.ERROR_MANAGING
    assert failed["failure_reason"] == "the disk went away"
    [message] = stack.messages(volume["id"])
    assert message["event_id"] == "VOLUME_VOLUME_901_001"  # nothing noted: unknown
    # The available volume still holds exactly its own quota.
    assert kept["size"] == 1
    assert stack.in_use() == {
        "volumes": 1,
        "volumes___DEFAULT__": 1,
        "gigabytes": 1,
        "gigabytes___DEFAULT__": 1,
    }
    stack.notifications.wait_for(volume["id"], "volume.manage_existing.error")
    assert stack.notifications.counts(volume["id"]) == {"volume.manage_existing.error": 1}


def test_a_failed_flow_compensated_again_changes_nothing(stack: Stack) -> None:
    make_file(stack.files / "disk.img", GIB)
    accepted = stack.manage("disk.img", metadata={"_fault": "fail:QuotaCommit"})
    before = stack.wait_terminal(accepted["id"])
    stack.notifications.wait_for(accepted["id"], "volume.manage_existing.error")

    for _ in range(2):
        stack.api_manager().manage_existing_failed(
            stack.ctxt, accepted["id"], before["failure_reason"], "volume"
        )
        stack.volume_manager().manage_existing(stack.ctxt, accepted["id"])

    assert volumes_db.get(stack.db, accepted["id"]) == before
    assert len(stack.messages(accepted["id"])) == 1
    assert stack.in_use() == {}
    assert stack.listing() == ["disk.img"]
    assert stack.notifications.counts(accepted["id"])["volume.manage_existing.error"] == 1
