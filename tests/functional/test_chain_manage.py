"""A qcow2 disk with two overlays, adopted with its snapshots in one request.

The in-process services (API, scheduler, volume service on the real image driver,
real qemu-img chains, SQLite): ``manage ... with_snapshots`` makes the base a volume
and each overlay a snapshot of it, in order, with every backing reference still
valid and quota charged for the volume, both snapshots and their gigabytes. A
failure injected at any step of the chain flow puts every file back under its
original name with its original backing reference, leaves the volume and both
snapshot rows in error with the reason, and holds no quota. Bad chains (a backing
loop, a member already managed, a member outside the directory) are refused with
a reason and nothing is renamed; an older volume service's version cap refuses the
request (400) before any row is written.
"""

import fcntl
import json
import os
import struct
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from tests.functional.stack import WAIT_SECONDS, Stack
from tests.image_support import backing_of, make_chain, qemu_img, state
from volmgr_common import exception, hooks
from volmgr_common.db import api as db_api
from volmgr_common.db import chain_snapshots, quota_audit, snapshot_record, snapshots
from volmgr_volume import rpcapi as volume_rpcapi
from volmgr_volume.drivers.file import file_identity

GIB = 1024**3


@pytest.fixture
def stack_conf(conf_factory: Callable[..., cfg.ConfigOpts], tmp_path: Path) -> cfg.ConfigOpts:
    """The in-process services on the image driver."""
    return conf_factory(
        transport_url=f"kombu+memory:////{uuid.uuid4().hex}",
        api__bind_port=0,
        volume__volume_driver="image",
        volume__backend_name="images",
        image_backend__directory=str(tmp_path / "images"),
    )


def images_of(stack: Stack) -> Path:
    return Path(stack.conf.image_backend.directory)


def announced(stack: Stack, volume_id: str, event_type: str, count: int = 2) -> set[str]:
    """The snapshot ids of the first ``count`` ``event_type`` notifications about the
    snapshots of ``volume_id`` (their payload names the volume too); waits for them."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        ids = {
            event["payload"]["snapshot_id"]
            for event in stack.notifications.for_volume(volume_id)
            if event["event_type"] == event_type
        }
        if len(ids) >= count or time.monotonic() > deadline:
            return ids
        time.sleep(0.01)


def adopt(stack: Stack, **kwargs: Any) -> dict[str, Any]:
    volume = stack.manage("base.qcow2", with_snapshots=True, **kwargs)
    return stack.wait_terminal(volume["id"])


def test_a_disk_with_two_overlays_is_adopted_in_one_request(stack: Stack) -> None:
    images = images_of(stack)
    make_chain(images)
    inodes = {name: ino for name, (ino, _) in state(images).items()}
    volume = adopt(stack)
    assert volume["status"] == "available", volume["failure_reason"]
    members = chain_snapshots.rows_of(stack.db, volume["id"])
    assert [m.name for m in members] == ["o1.qcow2", "o2.qcow2"]
    base = f"volume-{volume['id']}"
    names = [f"snapshot-{m.snapshot['id']}" for m in members]
    assert sorted(p.name for p in images.iterdir()) == sorted([base, *names])
    assert volume["provider_location"] == base and volume["size"] == 1
    for member, name, below in zip(members, names, [base, names[0]], strict=True):
        row = snapshots.get(stack.db, member.snapshot["id"])
        assert (row["status"], row["provider_location"]) == ("available", name)
        assert row["volume_id"] == volume["id"]
        assert backing_of(images / name) == (below, "qcow2")  # rewritten to the managed name
        assert (images / name).stat().st_ino == inodes[member.name]
    # qemu still opens the whole chain through the new names.
    chain = json.loads(qemu_img("info", "--output=json", "--backing-chain", str(images / names[1])))
    assert [Path(layer["filename"]).name for layer in chain] == [names[1], names[0], base]
    assert stack.in_use() == {
        "volumes": 1,
        "volumes___DEFAULT__": 1,
        "snapshots": 2,
        "snapshots___DEFAULT__": 2,
        "gigabytes": 1 + 2 + 2,
        "gigabytes___DEFAULT__": 1 + 2 + 2,
    }
    assert quota_audit.check(stack.db) == []
    assert announced(stack, volume["id"], "snapshot.manage_existing.end") == {
        m.snapshot["id"] for m in members
    }


@pytest.mark.parametrize(
    "point",
    ["RecordChain", "QuotaReserve", "ManageChain", hooks.MANAGE_CHAIN_AFTER, "QuotaCommit",
     "FinishChain"],
)  # fmt: skip
def test_a_failure_at_any_step_puts_every_file_back(stack: Stack, point: str) -> None:
    images = images_of(stack)
    make_chain(images)
    before = state(images)
    volume = adopt(stack, metadata={"_fault": f"fail:{point}"})
    assert volume["status"] == "error_managing"
    assert f"Fault injected at {point}" in (volume["failure_reason"] or "")
    assert state(images) == before  # every name and every backing reference
    members = chain_snapshots.rows_of(stack.db, volume["id"])
    if point != "RecordChain":  # the rows are written by RecordChain, after its point
        assert [m.snapshot["status"] for m in members] == [snapshot_record.ERROR_MANAGING] * 2
        assert all(f"Fault injected at {point}" in (m.snapshot["failure_reason"] or "")
                   for m in members)  # fmt: skip
        assert announced(stack, volume["id"], "snapshot.manage_existing.error") == {
            m.snapshot["id"] for m in members
        }
    assert stack.in_use() == {}
    assert quota_audit.check(stack.db) == []
    # The failed record goes with its members' records; the files stay.
    stack.api.delete_volume(stack.ctxt, volume["id"])
    assert chain_snapshots.rows_of(stack.db, volume["id"]) == []
    assert state(images) == before


def test_the_same_chain_adopted_again_later_succeeds(stack: Stack) -> None:
    images = images_of(stack)
    make_chain(images)
    failed = adopt(stack, metadata={"_fault": f"fail:{hooks.MANAGE_CHAIN_AFTER}"})
    assert failed["status"] == "error_managing"
    stack.api.delete_volume(stack.ctxt, failed["id"])
    volume = adopt(stack)
    assert volume["status"] == "available", volume["failure_reason"]
    assert len(chain_snapshots.rows_of(stack.db, volume["id"])) == 2


def refused(stack: Stack, images: Path, reason: str) -> None:
    before = state(images)
    volume = adopt(stack)
    assert volume["status"] == "error_managing"
    assert reason in (volume["failure_reason"] or ""), volume["failure_reason"]
    assert state(images) == before
    assert chain_snapshots.rows_of(stack.db, volume["id"]) == []
    assert stack.in_use() == {}


def test_a_backing_loop_is_refused_and_nothing_renamed(stack: Stack) -> None:
    images = images_of(stack)
    make_chain(images)
    # base.qcow2 made to refer to o2.qcow2: a loop through the whole chain.
    qemu_img("rebase", "-u", "-b", "o2.qcow2", "-F", "qcow2", str(images / "base.qcow2"))
    refused(stack, images, "backing loop")


def test_a_member_outside_the_directory_is_not_followed(stack: Stack, tmp_path: Path) -> None:
    images = images_of(stack)
    make_chain(images)
    outside = tmp_path / "elsewhere.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(outside), "1G")
    qemu_img("rebase", "-u", "-b", str(outside), "-F", "qcow2", str(images / "base.qcow2"))
    refused(stack, images, "outside the directory")


def test_a_chain_whose_member_is_already_managed_is_refused(stack: Stack) -> None:
    images = images_of(stack)
    make_chain(images)
    volume = adopt(stack)
    assert volume["status"] == "available"
    # A copy of the managed member's name is no way in: the old names are gone,
    # and a second request for the managed base is refused by the guard.
    second = stack.manage(f"volume-{volume['id']}", with_snapshots=True)
    failed = stack.wait_terminal(second["id"])
    assert failed["status"] == "error_managing"
    assert len(list(images.iterdir())) == 3


def test_a_member_in_use_is_refused_and_nothing_renamed(stack: Stack) -> None:
    images = images_of(stack)
    make_chain(images)
    # qemu's image lock, as a running VM holds it: an OFD write lock on the header.
    holder = _hold_qemu_lock(images / "o2.qcow2")
    try:
        refused(stack, images, "o2.qcow2")
    finally:
        holder()


def _hold_qemu_lock(path: Path) -> Callable[[], None]:
    """Take the lock qemu takes on an image it has open for writing; the release."""
    fd = os.open(path, os.O_RDWR)
    # qemu locks single bytes at 100 + permission bit (write = 1) and 200 + bit: an
    # open file description lock (F_OFD_SETLK = 37), as qemu takes them.
    for offset in (101, 201):
        lock = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0)
        fcntl.fcntl(fd, 37, lock)
    return lambda: os.close(fd)


def test_an_older_volume_service_cap_refuses_the_chain_with_400(
    stack: Stack, db: db_api.Database
) -> None:
    images = images_of(stack)
    make_chain(images)
    api = stack.endpoint("volmgr-api")._api
    api.volume.client.version_cap = "1.6"
    try:
        with pytest.raises(exception.InvalidInput, match=r"RPC version 1\.7"):
            volume_rpcapi.check_chains(api.volume, stack.backend)
        with pytest.raises(Exception, match=r"version 1\.7"):
            stack.manage("base.qcow2", with_snapshots=True)
    finally:
        api.volume.client.version_cap = None
    assert stack.volumes() == []
    assert state(images)["base.qcow2"][1] == (None, None)
    assert file_identity((images / "base.qcow2").stat())
