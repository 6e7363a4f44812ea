"""Functional tests: managing objects that exist, through the three running services.

A request goes in through the API's RPC interface, as another service would send
it; what is checked is what a user sees: the volume's status and size, the file
on the backend, quota usage, user messages and notifications on the bus.
"""

from collections.abc import Callable

import pytest
from oslo_config import cfg

from tests.functional.stack import CONTENT, GIB, PROJECT, Stack, head, make_file
from volmgr_common import exception
from volmgr_common.db import volume_record
from volmgr_common.db import volume_types as types_db
from volmgr_volume import service as volume_service


@pytest.mark.parametrize(
    ("size", "gib"),
    [(GIB + GIB // 2, 2), (GIB, 1), (1, 1)],
    ids=["1.5GiB", "1GiB", "1byte"],
)
def test_a_file_becomes_a_volume(stack: Stack, size: int, gib: int) -> None:
    make_file(stack.files / "disk.img", size)
    accepted = stack.manage("disk.img", name="web-data", metadata={"team": "a"})
    assert (accepted["status"], accepted["size"]) == (volume_record.MANAGING, None)

    volume = stack.wait_terminal(accepted["id"])
    managed = f"volume-{accepted['id']}"
    assert volume["status"] == volume_record.AVAILABLE
    assert volume["size"] == gib
    assert volume["provider_location"] == managed
    assert volume["host"] == f"{stack.backend}#default"
    assert (volume["name"], volume["metadata"]) == ("web-data", {"team": "a"})
    assert volume["failure_reason"] is None
    assert stack.listing() == [managed]
    assert (stack.files / managed).stat().st_size == size
    assert head(stack.files / managed) == CONTENT[:size]
    assert stack.in_use() == {
        "volumes": 1,
        "volumes___DEFAULT__": 1,
        "gigabytes": gib,
        "gigabytes___DEFAULT__": gib,
    }
    assert stack.messages(accepted["id"]) == []
    assert stack.api.get_volume(stack.ctxt, accepted["id"])["status"] == volume_record.AVAILABLE


def test_an_empty_file_is_a_volume_of_size_zero(stack: Stack) -> None:
    make_file(stack.files / "empty.img", 0)
    volume = stack.wait_terminal(stack.manage("empty.img")["id"])
    assert (volume["status"], volume["size"]) == (volume_record.AVAILABLE, 0)
    assert stack.in_use() == {"volumes": 1, "volumes___DEFAULT__": 1}


def test_start_and_end_are_notified(stack: Stack) -> None:
    make_file(stack.files / "disk.img", 2 * GIB)
    volume_id = stack.manage("disk.img")["id"]
    end = stack.notifications.wait_for(volume_id, "volume.manage_existing.end")
    start = stack.notifications.wait_for(volume_id, "volume.manage_existing.start")
    assert stack.notifications.counts(volume_id) == {
        "volume.manage_existing.start": 1,
        "volume.manage_existing.end": 1,
    }
    assert end["priority"] == "INFO"
    assert end["publisher_id"] == f"volmgr.volume.{stack.backend}"
    assert end["payload"]["status"] == volume_record.AVAILABLE
    assert end["payload"]["size"] == 2
    assert end["payload"]["project_id"] == PROJECT
    assert start["payload"]["status"] == volume_record.MANAGING


def test_a_named_type_and_pool(stack: Stack) -> None:
    types_db.create(stack.db, "files", {"capabilities:storage_protocol": "file"})
    make_file(stack.files / "disk.img", GIB)
    accepted = stack.manage("disk.img", host=f"{stack.backend}#default", volume_type="files")
    volume = stack.wait_terminal(accepted["id"])
    assert (volume["status"], volume["volume_type"]) == (volume_record.AVAILABLE, "files")
    assert stack.in_use() == {
        "volumes": 1,
        "volumes_files": 1,
        "gigabytes": 1,
        "gigabytes_files": 1,
    }


def test_the_same_file_is_never_managed_twice(stack: Stack) -> None:
    make_file(stack.files / "disk.img", GIB)
    first = stack.manage("disk.img")
    with pytest.raises(exception.ManageExistingAlreadyManaged) as raised:
        stack.manage("disk.img")
    assert first["id"] in raised.value.msg
    assert stack.wait_terminal(first["id"])["status"] == volume_record.AVAILABLE
    assert [v["id"] for v in stack.volumes()] == [first["id"]]
    assert stack.in_use()["volumes"] == 1


def test_unmanage_keeps_the_file_under_its_managed_name(stack: Stack) -> None:
    make_file(stack.files / "disk.img", GIB)
    st = (stack.files / "disk.img").stat()
    volume_id = stack.manage("disk.img")["id"]
    stack.wait_terminal(volume_id)
    stack.api.unmanage_volume(stack.ctxt, volume_id)
    end = stack.notifications.wait_for(volume_id, "volume.unmanage.end")
    # The row is gone; the notification keeps where the object came from.
    origin = end["payload"]["provenance"]
    assert (origin["reference"], origin["original_name"]) == (
        {"source-name": "disk.img"},
        "disk.img",
    )
    assert (origin["size_bytes"], origin["backend_identity"]) == (GIB, f"{st.st_dev}:{st.st_ino}")
    with pytest.raises(exception.VolumeNotFound):
        stack.api.get_volume(stack.ctxt, volume_id)
    assert stack.listing() == [f"volume-{volume_id}"]
    assert stack.in_use() == {}


def test_the_fake_backend_works_beside_the_file_backend(
    stack: Stack, conf_factory: Callable[..., cfg.ConfigOpts]
) -> None:
    fake_conf = conf_factory(
        transport_url=stack.conf.transport_url,
        volume__backend_name="fakes",
        volume__volume_driver="fake",
    )
    fake_service = stack.start(volume_service.build(fake_conf, stack.db, stack.messaging))
    assert fake_service.host == f"{stack.conf.host}@fakes"
    make_file(stack.files / "disk.img", GIB)

    on_fake = stack.manage(
        "lun7", host=fake_service.host, ref={"source-name": "lun7", "size_gb": 3}
    )
    on_file = stack.manage("disk.img")

    fake_volume = stack.wait_terminal(on_fake["id"])
    assert fake_volume["status"] == volume_record.AVAILABLE
    assert fake_volume["size"] == 3
    assert fake_volume["host"] == f"{fake_service.host}#pool0"
    assert fake_volume["provider_location"] == f"volume-{on_fake['id']}"
    assert stack.wait_terminal(on_file["id"])["status"] == volume_record.AVAILABLE
    assert stack.listing() == [f"volume-{on_file['id']}"]
    assert stack.in_use() == {
        "volumes": 2,
        "volumes___DEFAULT__": 2,
        "gigabytes": 4,
        "gigabytes___DEFAULT__": 4,
    }
    end = stack.notifications.wait_for(on_fake["id"], "volume.manage_existing.end")
    assert end["publisher_id"] == f"volmgr.volume.{fake_service.host}"
