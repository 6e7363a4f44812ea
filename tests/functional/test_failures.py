"""Functional tests: requests that fail, at every stage, through the running services.

A failed manage must end ``error_managing`` with its reason, hold no quota, leave
the backend object exactly as it was, record a user message and send
``volume.manage_existing.error``. A request the API refuses writes nothing.
"""

import datetime as dt
import time
from typing import Any

import pytest
import sqlalchemy as sa

from tests.functional.stack import CONTENT, GIB, PROJECT, Stack, head, make_file
from volmgr_common import exception, message_field
from volmgr_common.db import models, quota, reservations, volume_record
from volmgr_common.db import services as services_db
from volmgr_common.db import volume_types as types_db

STUCK_AFTER = 2.0  # a request takes well under a second here; longer means stuck
MANAGER_TASKS = [
    "NotifyStart",
    "PrepareForQuotaReservation",
    "QuotaReserve",
    "ManageExisting",
    "ManageExisting.after",
    "QuotaCommit",
    "OnFinish",
]


def assert_failed_cleanly(
    stack: Stack, volume_id: str, reason: str, detail: message_field.Field
) -> dict[str, Any]:
    """The volume failed with ``reason`` (the operator's), holds nothing, and the user
    was told ``detail`` in Cinder's words."""
    volume = stack.wait_terminal(volume_id)
    assert volume["status"] == volume_record.ERROR_MANAGING
    assert volume["failure_reason"] == reason
    assert volume["provider_location"] is None
    assert stack.usage() == {resource: (0, 0) for resource in stack.usage()}, (
        "a failed manage holds no quota"
    )
    assert reservations.reservation_ids_for(stack.db, volume_id) == []
    [message] = stack.messages(volume_id)
    action = message_field.Action.MANAGE_EXISTING
    assert (message["event_id"], message["user_message"]) == (
        message_field.event_id(action, detail),
        message_field.user_message(action, detail),
    )
    assert message["project_id"] == PROJECT
    error = stack.notifications.wait_for(volume_id, "volume.manage_existing.error")
    assert error["priority"] == "ERROR"
    assert error["payload"]["status"] == volume_record.ERROR_MANAGING
    assert error["payload"]["reason"] == reason
    assert "volume.manage_existing.end" not in stack.notifications.event_types(volume_id)
    return volume


def assert_file_untouched(stack: Stack, name: str, size: int) -> None:
    assert stack.listing() == [name]
    assert (stack.files / name).stat().st_size == size
    assert head(stack.files / name) == CONTENT


@pytest.mark.parametrize("task", MANAGER_TASKS)
def test_a_failure_at_each_manager_task(stack: Stack, task: str) -> None:
    make_file(stack.files / "disk.img", GIB + GIB // 2)
    accepted = stack.manage("disk.img", metadata={"_fault": f"fail:{task}"})
    reason = f"Fault injected at {task} (fault injection is enabled)."
    assert_failed_cleanly(stack, accepted["id"], reason, message_field.Detail.UNKNOWN_ERROR)
    assert_file_untouched(stack, "disk.img", GIB + GIB // 2)
    if task == "NotifyStart":
        assert "volume.manage_existing.start" not in stack.notifications.event_types(accepted["id"])
    else:
        stack.notifications.wait_for(accepted["id"], "volume.manage_existing.start")


def test_a_missing_file_fails_with_the_reason(stack: Stack) -> None:
    make_file(stack.files / "other.img", GIB)
    accepted = stack.manage("nope.img")
    volume = stack.wait_terminal(accepted["id"])
    assert volume["failure_reason"].startswith(
        "Manage existing volume failed due to invalid backend reference"
    )
    assert "no file 'nope.img' exists" in volume["failure_reason"]
    assert_failed_cleanly(
        stack, accepted["id"], volume["failure_reason"], message_field.Detail.INVALID_REFERENCE
    )
    assert_file_untouched(stack, "other.img", GIB)


def test_a_type_the_backend_cannot_serve_is_no_valid_backend(stack: Stack) -> None:
    types_db.create(stack.db, "iscsi", {"capabilities:storage_protocol": "iSCSI"})
    make_file(stack.files / "disk.img", GIB)
    accepted = stack.manage("disk.img", volume_type="iscsi")
    reason = (
        f"No valid backend was found. {stack.backend}#default has storage_protocol='file', "
        "the volume type requires 'iSCSI'."
    )
    assert_failed_cleanly(stack, accepted["id"], reason, message_field.Detail.NO_BACKEND_AVAILABLE)
    assert_file_untouched(stack, "disk.img", GIB)
    assert stack.notifications.counts(accepted["id"]) == {"volume.manage_existing.error": 1}


def test_a_pool_that_does_not_exist_is_no_valid_backend(stack: Stack) -> None:
    make_file(stack.files / "disk.img", GIB)
    accepted = stack.manage("disk.img", host=f"{stack.backend}#nopool")
    reason = f"No valid backend was found. backend {stack.backend} has no pool 'nopool'"
    assert_failed_cleanly(stack, accepted["id"], reason, message_field.Detail.NO_BACKEND_AVAILABLE)
    assert_file_untouched(stack, "disk.img", GIB)


def test_over_quota_fails_and_keeps_the_file(stack: Stack) -> None:
    quota.set_limit(stack.db, PROJECT, "gigabytes", 1)
    make_file(stack.files / "big.img", 3 * GIB)
    accepted = stack.manage("big.img")
    reason = (
        f"Requested 3 of gigabytes exceeds the quota of project {PROJECT}: "
        "limit 1, in use 0, reserved 0."
    )
    assert_failed_cleanly(stack, accepted["id"], reason, message_field.Detail.QUOTA_EXCEED)
    assert_file_untouched(stack, "big.img", 3 * GIB)


def test_a_malformed_capacity_report_fails_the_request(stack: Stack) -> None:
    # What a buggy driver's capability fanout would bring to the scheduler.
    report = {
        "pools": [
            {
                "pool_name": "default",
                "total_capacity_gb": 100.0,
                "free_capacity_gb": "lots",
                "reserved_percentage": 0,
            }
        ]
    }
    hosts = stack.scheduler_manager()._hosts
    # Let the volume service's own start-up report land first, so it cannot
    # overwrite the malformed one below.
    deadline = time.monotonic() + 10
    while hosts._fresh_report(stack.backend) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    stack.scheduler_manager().update_service_capabilities(stack.ctxt, stack.backend, report)
    make_file(stack.files / "disk.img", GIB)
    accepted = stack.manage("disk.img")
    volume = stack.wait_terminal(accepted["id"], timeout=STUCK_AFTER)
    assert volume["status"] == volume_record.ERROR_MANAGING
    assert volume["failure_reason"].startswith("No valid backend was found.")
    assert stack.in_use() == {}
    assert_file_untouched(stack, "disk.img", GIB)


def test_an_unexpected_scheduler_error_fails_the_request(stack: Stack) -> None:
    make_file(stack.files / "disk.img", GIB)
    accepted = stack.manage("disk.img", metadata={"_fault": "fail:SchedulerReceive"})
    volume = stack.wait_terminal(accepted["id"], timeout=STUCK_AFTER)
    assert volume["status"] == volume_record.ERROR_MANAGING
    assert len(stack.messages(accepted["id"])) == 1
    assert stack.in_use() == {}
    assert_file_untouched(stack, "disk.img", GIB)


def test_a_failure_after_the_row_is_written_leaves_nothing(stack: Stack) -> None:
    make_file(stack.files / "disk.img", GIB)
    with pytest.raises(exception.InternalError):
        stack.manage("disk.img", metadata={"_fault": "fail:AfterEntryCreate"})
    # The caller was told the request failed: no row may go on to be managed later.
    assert stack.volumes() == []
    assert stack.in_use() == {}
    assert_file_untouched(stack, "disk.img", GIB)


def test_a_failed_record_can_be_deleted_and_the_file_managed_again(stack: Stack) -> None:
    make_file(stack.files / "disk.img", GIB)
    failed = stack.manage("disk.img", metadata={"_fault": "fail:QuotaCommit"})
    stack.wait_terminal(failed["id"])
    stack.api.delete_volume(stack.ctxt, failed["id"])
    assert stack.listing() == ["disk.img"]
    again = stack.wait_terminal(stack.manage("disk.img")["id"])
    assert again["status"] == volume_record.AVAILABLE
    assert stack.in_use()["volumes"] == 1


# -- the API refuses: nothing is written ----------------------------------------------


def register_volume_service(stack: Stack, backend: str, heartbeat_age: int) -> None:
    service_id = services_db.register(stack.db, backend, "volmgr-volume", "volmgr-volume", "nova")
    with stack.db.session(write=True) as session:
        session.execute(
            sa.update(models.Service)
            .where(models.Service.id == service_id)
            .values(last_heartbeat=models.utcnow() - dt.timedelta(seconds=heartbeat_age))
        )


def assert_nothing_written(stack: Stack) -> None:
    assert stack.volumes() == []
    assert stack.in_use() == {}
    assert sa.inspect(stack.db.engine).has_table("messages")
    with stack.db.session(write=False) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(models.Message)) == 0
    assert stack.listing() == ["disk.img"]


def test_a_down_volume_service_is_refused(stack: Stack) -> None:
    register_volume_service(stack, "test-node@old", heartbeat_age=stack.conf.service_down_time + 50)
    make_file(stack.files / "disk.img", GIB)
    with pytest.raises(exception.ServiceUnavailable) as raised:
        stack.manage("disk.img", host="test-node@old")
    assert raised.value.msg == (
        "Service test-node@old is unavailable: no heartbeat for more than 10s"
    )
    assert_nothing_written(stack)


def test_a_host_that_never_registered_is_refused(stack: Stack) -> None:
    make_file(stack.files / "disk.img", GIB)
    with pytest.raises(exception.BackendNotFound) as raised:
        stack.manage("disk.img", host="ghost@nowhere#pool")
    assert raised.value.msg == "Host 'ghost@nowhere' not found"
    assert raised.value.code == 400
    assert_nothing_written(stack)


def test_a_disabled_volume_service_is_refused(stack: Stack) -> None:
    services_db.set_disabled(stack.db, stack.backend, "volmgr-volume", True, "maintenance")
    make_file(stack.files / "disk.img", GIB)
    with pytest.raises(exception.ServiceUnavailable, match="maintenance"):
        stack.manage("disk.img")
    assert_nothing_written(stack)


def test_an_invalid_request_is_refused(stack: Stack) -> None:
    make_file(stack.files / "disk.img", GIB)
    with pytest.raises(exception.InvalidHost):
        stack.manage("disk.img", host="no-at-sign")
    with pytest.raises(exception.InvalidInput):
        stack.manage("disk.img", ref={})
    with pytest.raises(exception.InvalidVolumeType, match="'platinum' volume type"):
        stack.manage("disk.img", volume_type="platinum")
    with pytest.raises(exception.InvalidInput, match="availability zone"):
        stack.manage("disk.img", availability_zone="elsewhere")
    assert_nothing_written(stack)


def test_over_the_volume_quota_is_refused(stack: Stack) -> None:
    quota.set_limit(stack.db, PROJECT, "volumes", 0)
    make_file(stack.files / "disk.img", GIB)
    with pytest.raises(exception.OverQuota):
        stack.manage("disk.img")
    assert_nothing_written(stack)
