"""Unit tests of the volume manager's manage-existing flow and each of its tasks.

Tasks run against a SQLite database with the fake driver (in memory) or the file
driver (real files in a temporary directory); notifications go to oslo.messaging's
``test`` notification driver, which keeps them in memory.
"""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import oslo_messaging as messaging
import pytest
from oslo_config import cfg
from oslo_messaging.notify import _impl_test
from taskflow.types import failure

from tests.fault_plugin import FaultInjected, FaultPlugin
from volmgr_common import context, exception, notifications
from volmgr_common.db import api as db_api
from volmgr_common.db import (
    quota,
    reservations,
    volume_creation,
    volume_ownership,
    volume_record,
    volume_transitions,
)
from volmgr_common.db import volume_types as types_db
from volmgr_common.db import volumes as volumes_db
from volmgr_common.flows import run_flow, run_flow_batch
from volmgr_volume.drivers.base import GIB, VolumeDriver
from volmgr_volume.drivers.fake import FakeDriver
from volmgr_volume.drivers.file import FileDriver
from volmgr_volume.flows import manage_existing as flow_mod

PROJECT = "project-a"
BACKEND = "test-node@files"
CTXT = context.RequestContext(user_id="user-a", project_id=PROJECT, roles=["member"])
TASKS = [
    "NotifyStart",
    "PrepareForQuotaReservation",
    "QuotaReserve",
    "RecordIdentity",
    "ManageExisting",
    "QuotaCommit",
    "OnFinish",
]


@pytest.fixture
def vconf(conf_factory: Callable[..., cfg.ConfigOpts], fault_plugin: FaultPlugin) -> cfg.ConfigOpts:
    """Config of the tasks, with the fault plugin registered (to make one task fail)."""
    return conf_factory()


@pytest.fixture
def notifier(vconf: cfg.ConfigOpts) -> Iterator[messaging.Notifier]:
    transport = messaging.get_notification_transport(vconf, url="fake:")
    _impl_test.reset()
    yield messaging.Notifier(transport, publisher_id="volmgr.volume.test", driver="test")
    _impl_test.reset()
    transport.cleanup()


def sent() -> list[tuple[str, str, dict[str, Any]]]:
    """``(priority, event_type, payload)`` of every notification sent so far."""
    return [
        (priority, message["event_type"], message["payload"])
        for _ctxt, message, priority, _retry in _impl_test.NOTIFICATIONS
    ]


@pytest.fixture
def fake(vconf: cfg.ConfigOpts) -> FakeDriver:
    driver = FakeDriver(vconf)
    driver.do_setup()
    return driver


@pytest.fixture
def files(vconf: cfg.ConfigOpts) -> FileDriver:
    driver = FileDriver(vconf)
    driver.do_setup()
    return driver


def limits(conf: cfg.ConfigOpts) -> quota.DefaultLimits:
    return quota.DefaultLimits.from_conf(conf)


def new_volume(
    conf: cfg.ConfigOpts, db: db_api.Database, ref: dict[str, Any], fault: str | None = None
) -> dict[str, Any]:
    """A ``managing`` row placed on BACKEND and claimed, as the worker gives it to the flow."""
    vtype = types_db.get_or_create(db, "__DEFAULT__")
    metadata = {"_fault": fault} if fault else {}
    values = {
        "project_id": PROJECT,
        "user_id": "user-a",
        "host": BACKEND,
        "availability_zone": "nova",
        "volume_type_id": vtype["id"],
        "reference": json.dumps(ref),
        "reference_key": volume_creation.reference_key(BACKEND, ref),
        "request_id": CTXT.request_id,
    }
    volume = volume_creation.create_managing(db, values, metadata, limits(conf), vtype["name"])
    volume_transitions.update_if(
        db, volume["id"], volume_record.MANAGING, host=f"{BACKEND}#default"
    )
    claimed = volume_ownership.claim_flow(db, volume["id"], "unit-test-worker")
    assert claimed is not None
    return claimed


def usage(conf: cfg.ConfigOpts, db: db_api.Database) -> dict[str, tuple[int, int]]:
    """``{resource: (in_use, reserved)}`` of the global resources."""
    values = quota.usage(db, PROJECT, limits(conf))
    return {r: (values[r]["in_use"], values[r]["reserved"]) for r in ("volumes", "gigabytes")}


def make_file(path: Path, size: int, content: bytes = b"precious data") -> None:
    with open(path, "wb") as image:
        image.write(content)
        image.truncate(size)


def head(path: Path) -> bytes:
    """The first bytes of a (large, sparse) file, where the test data was written."""
    with open(path, "rb") as image:
        return image.read(13)


def run(
    conf: cfg.ConfigOpts,
    db: db_api.Database,
    driver: VolumeDriver,
    notifier: messaging.Notifier,
    volume: dict[str, Any],
) -> dict[str, Any]:
    flow = flow_mod.get_flow(conf, db, driver, notifier)
    return run_flow(flow, {flow_mod.CONTEXT: CTXT, flow_mod.VOLUME: volume})


# -- the flow, not run -----------------------------------------------------------------


def test_flow_task_order(
    vconf: cfg.ConfigOpts, db: db_api.Database, fake: FakeDriver, notifier: messaging.Notifier
) -> None:
    flow = flow_mod.get_flow(vconf, db, fake, notifier)
    assert [task.name for task in flow] == TASKS


def test_flow_requires_context_and_volume_and_provides_its_results(
    vconf: cfg.ConfigOpts, db: db_api.Database, fake: FakeDriver, notifier: messaging.Notifier
) -> None:
    flow = flow_mod.get_flow(vconf, db, fake, notifier)
    assert set(flow.requires) == {flow_mod.CONTEXT, flow_mod.VOLUME}
    assert set(flow.provides) == {
        flow_mod.SIZE,
        flow_mod.RESERVATION,
        flow_mod.IDENTITY,
        flow_mod.PROVIDER_LOCATION,
    }
    provided_by = {task.name: set(task.provides) for task in flow}
    assert provided_by["PrepareForQuotaReservation"] == {flow_mod.SIZE}
    assert provided_by["QuotaReserve"] == {flow_mod.RESERVATION}
    assert provided_by["RecordIdentity"] == {flow_mod.IDENTITY}
    assert provided_by["ManageExisting"] == {flow_mod.PROVIDER_LOCATION}
    available = {flow_mod.CONTEXT, flow_mod.VOLUME}
    for task in flow:
        assert set(task.requires) <= available, task.name
        available |= set(task.provides)


# -- NotifyStart -----------------------------------------------------------------------


def test_notify_start_sends_manage_existing_start(
    vconf: cfg.ConfigOpts, db: db_api.Database, notifier: messaging.Notifier
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    flow_mod.NotifyStart(vconf, notifier).execute(CTXT, volume)
    [(priority, event_type, payload)] = sent()
    assert (priority, event_type) == ("INFO", "volume.manage_existing.start")
    assert payload["volume_id"] == volume["id"]
    assert payload["status"] == volume_record.MANAGING


def test_notify_start_fault_sends_nothing(
    vconf: cfg.ConfigOpts, db: db_api.Database, notifier: messaging.Notifier
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"}, fault="fail:NotifyStart")
    with pytest.raises(FaultInjected, match="NotifyStart"):
        flow_mod.NotifyStart(vconf, notifier).execute(CTXT, volume)
    assert sent() == []


# -- PrepareForQuotaReservation --------------------------------------------------------


def test_prepare_reports_the_fake_object_size(
    vconf: cfg.ConfigOpts, db: db_api.Database, fake: FakeDriver
) -> None:
    task = flow_mod.PrepareForQuotaReservation(vconf, fake)
    assert task.execute(new_volume(vconf, db, {"source-name": "lun1", "size_gb": 3})) == 3
    assert task.execute(new_volume(vconf, db, {"source-name": "lun2"})) == 1


def test_prepare_rounds_a_file_up_to_whole_gib(
    vconf: cfg.ConfigOpts, db: db_api.Database, files: FileDriver
) -> None:
    make_file(Path(files.directory) / "disk.img", GIB + 1)
    volume = new_volume(vconf, db, {"source-name": "disk.img"})
    assert flow_mod.PrepareForQuotaReservation(vconf, files).execute(volume) == 2


def test_prepare_refuses_a_missing_object(
    vconf: cfg.ConfigOpts, db: db_api.Database, fake: FakeDriver
) -> None:
    volume = new_volume(vconf, db, {"source-name": "missing-lun"})
    with pytest.raises(exception.ManageExistingInvalidReference, match="does not exist"):
        flow_mod.PrepareForQuotaReservation(vconf, fake).execute(volume)


# -- QuotaReserve ----------------------------------------------------------------------


def test_quota_reserve_reserves_the_size(vconf: cfg.ConfigOpts, db: db_api.Database) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    reservation = flow_mod.QuotaReserve(vconf, db).execute(volume, 3)
    assert reservations.reservation_ids_for(db, volume["id"]) == [reservation]
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (0, 3)}


def test_fault_metadata_means_nothing_without_the_plugin(
    conf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    volume = new_volume(conf, db, {"source-name": "lun1"}, fault="fail:QuotaReserve")
    reservation = flow_mod.QuotaReserve(conf, db).execute(volume, 3)
    assert reservations.reservation_ids_for(db, volume["id"]) == [reservation]
    assert usage(conf, db) == {"volumes": (1, 0), "gigabytes": (0, 3)}


def test_quota_reserve_revert_rolls_back(vconf: cfg.ConfigOpts, db: db_api.Database) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    task = flow_mod.QuotaReserve(vconf, db)
    reservation = task.execute(volume, 3)
    task.revert(result=reservation, volume=volume)
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (0, 0)}
    task.revert(result=reservation, volume=volume)
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (0, 0)}


def test_quota_reserve_over_quota_leaves_nothing_to_undo(
    vconf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    other = new_volume(vconf, db, {"source-name": "lun2"})
    task = flow_mod.QuotaReserve(vconf, db)
    task.execute(other, 2)
    quota.set_limit(db, PROJECT, "gigabytes", 4)
    with pytest.raises(exception.OverQuota) as raised:
        task.execute(volume, 3)
    task.revert(result=failure.Failure.from_exception(raised.value), volume=volume)
    assert usage(vconf, db) == {"volumes": (2, 0), "gigabytes": (0, 2)}


def test_quota_reserve_of_an_empty_object_reserves_nothing(
    vconf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    task = flow_mod.QuotaReserve(vconf, db)
    assert task.execute(volume, 0) is None
    task.revert(result=None, volume=volume)
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (0, 0)}


# -- ManageExisting --------------------------------------------------------------------


def recorded(
    conf: cfg.ConfigOpts, db: db_api.Database, driver: VolumeDriver, volume: dict[str, Any]
) -> str:
    """RecordIdentity for ``volume``: the identity it recorded on the row."""
    identity: str = flow_mod.RecordIdentity(conf, db, driver).execute(volume)
    assert volumes_db.get(db, volume["id"])["backend_identity"] == identity
    return identity


@pytest.fixture
def disk(files: FileDriver) -> Path:
    path = Path(files.directory) / "disk.img"
    make_file(path, GIB // 2)
    return path


def test_record_identity_records_the_provenance_once(
    vconf: cfg.ConfigOpts, db: db_api.Database, files: FileDriver, disk: Path
) -> None:
    volume = new_volume(vconf, db, {"source-name": "disk.img"})
    identity = recorded(vconf, db, files, volume)
    origin = volumes_db.get(db, volume["id"])["provenance"]
    assert origin is not None
    st = disk.stat()
    assert identity == f"{st.st_dev}:{st.st_ino}"
    assert {k: origin[k] for k in ("reference", "original_name", "size_bytes")} == {
        "reference": {"source-name": "disk.img"},
        "original_name": "disk.img",
        "size_bytes": GIB // 2,
    }
    assert (origin["backend"], origin["backend_identity"]) == (BACKEND, identity)
    assert (origin["user_id"], origin["project_id"]) == ("user-a", PROJECT)
    assert (origin["request_id"], origin["adoption_job_id"]) == (CTXT.request_id, None)
    # A resumed flow (the object already renamed) finds the same object; nothing changes.
    flow_mod.ManageExisting(vconf, db, files).execute(volume, identity)
    resumed = volumes_db.get(db, volume["id"])
    assert recorded(vconf, db, files, resumed | {"flow_owner": volume["flow_owner"]}) == identity
    assert volumes_db.get(db, volume["id"])["provenance"] == origin


def test_a_driver_that_cannot_tell_bytes_records_null(
    vconf: cfg.ConfigOpts, db: db_api.Database, fake: FakeDriver
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    recorded(vconf, db, fake, volume)
    origin = volumes_db.get(db, volume["id"])["provenance"]
    assert (origin["original_name"], origin["size_bytes"]) == ("lun1", None)
    assert origin["backend_identity"] == "fake:lun1"


def test_manage_existing_renames_and_revert_renames_back(
    vconf: cfg.ConfigOpts, db: db_api.Database, files: FileDriver, disk: Path
) -> None:
    volume = new_volume(vconf, db, {"source-name": "disk.img"})
    identity = recorded(vconf, db, files, volume)
    task = flow_mod.ManageExisting(vconf, db, files)
    location = task.execute(volume, identity)
    managed = disk.with_name(f"volume-{volume['id']}")
    assert location == managed.name
    assert not disk.exists() and head(managed) == b"precious data"
    task.revert(result=location, volume=volume, backend_identity=identity)
    assert disk.exists() and not managed.exists()
    assert head(disk) == b"precious data"
    assert disk.stat().st_size == GIB // 2


def test_manage_existing_revert_after_a_late_failure_renames_back(
    vconf: cfg.ConfigOpts, db: db_api.Database, files: FileDriver, disk: Path
) -> None:
    volume = new_volume(vconf, db, {"source-name": "disk.img"}, fault="fail:ManageExisting.after")
    identity = recorded(vconf, db, files, volume)
    task = flow_mod.ManageExisting(vconf, db, files)
    with pytest.raises(FaultInjected) as raised:
        task.execute(volume, identity)
    assert not disk.exists()
    task.revert(
        result=failure.Failure.from_exception(raised.value),
        volume=volume,
        backend_identity=identity,
    )
    assert sorted(p.name for p in disk.parent.iterdir()) == ["disk.img"]


def test_manage_existing_revert_of_an_early_failure_touches_nothing(
    vconf: cfg.ConfigOpts, db: db_api.Database, files: FileDriver, disk: Path
) -> None:
    volume = new_volume(vconf, db, {"source-name": "disk.img"}, fault="fail:ManageExisting")
    identity = recorded(vconf, db, files, volume)
    task = flow_mod.ManageExisting(vconf, db, files)
    with pytest.raises(FaultInjected) as raised:
        task.execute(volume, identity)
    task.revert(
        result=failure.Failure.from_exception(raised.value),
        volume=volume,
        backend_identity=identity,
    )
    assert sorted(p.name for p in disk.parent.iterdir()) == ["disk.img"]
    assert head(disk) == b"precious data"


def test_manage_existing_revert_never_overwrites_or_deletes(
    vconf: cfg.ConfigOpts, db: db_api.Database, files: FileDriver, disk: Path
) -> None:
    volume = new_volume(vconf, db, {"source-name": "disk.img"})
    identity = recorded(vconf, db, files, volume)
    task = flow_mod.ManageExisting(vconf, db, files)
    location = task.execute(volume, identity)
    make_file(disk, 10, b"newcomer")
    task.revert(result=location, volume=volume, backend_identity=identity)
    assert disk.read_bytes() == b"newcomer\x00\x00"
    assert head(disk.parent / location) == b"precious data"


def test_manage_existing_of_a_flow_taken_over_touches_nothing(
    vconf: cfg.ConfigOpts, db: db_api.Database, files: FileDriver, disk: Path
) -> None:
    stale = new_volume(vconf, db, {"source-name": "disk.img"})
    identity = recorded(vconf, db, files, stale)
    task = flow_mod.ManageExisting(vconf, db, files)
    location = task.execute(stale, identity)
    # The process froze here; another took the flow over (its claim went unrenewed).
    assert volume_ownership.take_over_flow(db, stale["id"], stale["flow_owner"], -1.0)
    current = volume_ownership.claim_flow(db, stale["id"], "unit-test-worker-2")
    assert current is not None
    with pytest.raises(exception.FlowOwnershipLost):
        task.execute(stale, identity)
    task.revert(result=location, volume=stale, backend_identity=identity)
    assert not disk.exists() and head(disk.parent / location) == b"precious data"
    assert task.execute(current, identity) == location  # the owner's run finds it renamed
    assert volumes_db.get(db, current["id"])["provider_location"] == location


def test_manage_existing_revert_with_the_fake_driver(
    vconf: cfg.ConfigOpts, db: db_api.Database, fake: FakeDriver
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1", "size_gb": 5})
    identity = recorded(vconf, db, fake, volume)
    task = flow_mod.ManageExisting(vconf, db, fake)
    location = task.execute(volume, identity)
    assert fake.get_capabilities()["pools"][0]["allocated_capacity_gb"] == 5
    task.revert(result=location, volume=volume, backend_identity=identity)
    assert fake.get_capabilities()["pools"][0]["allocated_capacity_gb"] == 0


def test_manage_existing_renames_a_batch_in_one_driver_call(
    vconf: cfg.ConfigOpts, db: db_api.Database, files: FileDriver
) -> None:
    volumes, identities = [], []
    for name in ("a.img", "b.img", "c.img"):
        make_file(Path(files.directory) / name, GIB // 4)
        volume = new_volume(vconf, db, {"source-name": name})
        volumes.append(volume)
        identities.append(recorded(vconf, db, files, volume))
    # The second request names another object than the one it identified: refused alone.
    calls = [
        {"volume": volumes[0], "backend_identity": identities[0]},
        {"volume": volumes[1], "backend_identity": identities[2]},
        {"volume": volumes[2], "backend_identity": identities[2]},
    ]
    batches: list[int] = []
    manage_many = files.manage_many

    def counted(requests: Any) -> list[Any]:
        batches.append(len(requests))
        return manage_many(requests)

    files.manage_many = counted  # type: ignore[method-assign]
    task = flow_mod.ManageExisting(vconf, db, files)
    results = task.execute_batch(calls)
    assert batches == [3]
    assert results[0] == f"volume-{volumes[0]['id']}"
    assert isinstance(results[1], failure.Failure)
    assert results[1].check(exception.ManageExistingInvalidReference)
    assert results[2] == f"volume-{volumes[2]['id']}"
    for volume, result in zip(volumes, results, strict=True):
        location = None if isinstance(result, failure.Failure) else result
        assert volumes_db.get(db, volume["id"])["provider_location"] == location
    assert (Path(files.directory) / "b.img").exists()


# -- QuotaCommit -----------------------------------------------------------------------


def reserve(conf: cfg.ConfigOpts, db: db_api.Database, volume: dict[str, Any], size: int) -> str:
    reservation = flow_mod.QuotaReserve(conf, db).execute(volume, size)
    assert reservation is not None
    return reservation


def test_quota_commit_charges_the_size(vconf: cfg.ConfigOpts, db: db_api.Database) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    flow_mod.QuotaCommit(vconf, db).execute(volume, 3, reserve(vconf, db, volume, 3))
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (3, 0)}
    assert volumes_db.get(db, volume["id"])["size"] == 3


def test_quota_commit_revert_gives_the_size_back(
    vconf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    task = flow_mod.QuotaCommit(vconf, db)
    task.execute(volume, 3, reserve(vconf, db, volume, 3))
    task.revert(result=None, volume=volume)
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (0, 0)}
    task.revert(result=None, volume=volume)
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (0, 0)}


def test_quota_commit_revert_of_its_own_failure_does_nothing(
    vconf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"}, fault="fail:QuotaCommit")
    task = flow_mod.QuotaCommit(vconf, db)
    reservation = reserve(vconf, db, volume, 3)
    with pytest.raises(FaultInjected) as raised:
        task.execute(volume, 3, reservation)
    task.revert(result=failure.Failure.from_exception(raised.value), volume=volume)
    # Still reserved: undoing the reservation is QuotaReserve's revert.
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (0, 3)}


def test_quota_commit_of_an_empty_object_records_size_zero(
    vconf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    flow_mod.QuotaCommit(vconf, db).execute(volume, 0, None)
    assert volumes_db.get(db, volume["id"])["size"] == 0
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (0, 0)}


def test_quota_commit_in_a_resumed_flow_charges_once(
    vconf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    task = flow_mod.QuotaCommit(vconf, db)
    task.execute(volume, 3, reserve(vconf, db, volume, 3))
    task.execute(volume, 3, reserve(vconf, db, volume, 3))
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (3, 0)}


def test_quota_reserve_in_a_resumed_flow_reserves_nothing_again(
    vconf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    flow_mod.QuotaCommit(vconf, db).execute(volume, 3, reserve(vconf, db, volume, 3))
    # The process died here; a new one takes the flow over (the claim is not renewed
    # any more) and claims the row again.
    assert volume_ownership.take_over_flow(db, volume["id"], volume["flow_owner"], -1.0)
    resumed = volume_ownership.claim_flow(db, volume["id"], "unit-test-worker-2")
    assert resumed is not None and resumed["held_gigabytes"] == 3
    result = flow_mod.QuotaReserve(vconf, db).execute(resumed, 3)
    assert result == flow_mod.ALREADY_COMMITTED
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (3, 0)}


# -- OnFinish --------------------------------------------------------------------------


def test_on_finish_makes_the_volume_available_and_notifies(
    vconf: cfg.ConfigOpts, db: db_api.Database, notifier: messaging.Notifier
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    flow_mod.QuotaCommit(vconf, db).execute(volume, 3, reserve(vconf, db, volume, 3))
    flow_mod.OnFinish(vconf, db, notifier).execute(CTXT, volume, 3, "volume-x")
    done = volumes_db.get(db, volume["id"])
    assert (done["status"], done["provider_location"]) == (volume_record.AVAILABLE, "volume-x")
    assert done["launched_at"] is not None
    [(priority, event_type, payload)] = sent()
    assert (priority, event_type) == ("INFO", "volume.manage_existing.end")
    # The payload is built without reading the row back: it must say what the row says.
    assert payload == notifications.volume_payload(done)
    assert (payload["status"], payload["size"]) == (volume_record.AVAILABLE, 3)


def test_on_finish_refuses_a_volume_no_longer_managing(
    vconf: cfg.ConfigOpts, db: db_api.Database, notifier: messaging.Notifier
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1"})
    volume_transitions.fail_manage(db, volume["id"], "gave up", None)
    # A row decided meanwhile is no longer the flow's: it ends as a lost claim.
    with pytest.raises(exception.FlowOwnershipLost):
        flow_mod.OnFinish(vconf, db, notifier).execute(CTXT, volume, 1, "volume-x")
    assert volumes_db.get(db, volume["id"])["status"] == volume_record.ERROR_MANAGING
    assert sent() == []


# -- the flow, run ---------------------------------------------------------------------


def test_the_flow_manages_a_fake_object(
    vconf: cfg.ConfigOpts, db: db_api.Database, fake: FakeDriver, notifier: messaging.Notifier
) -> None:
    volume = new_volume(vconf, db, {"source-name": "lun1", "size_gb": 3})
    results = run(vconf, db, fake, notifier, volume)
    assert results[flow_mod.SIZE] == 3
    assert results[flow_mod.PROVIDER_LOCATION] == f"volume-{volume['id']}"
    done = volumes_db.get(db, volume["id"])
    assert (done["status"], done["size"]) == (volume_record.AVAILABLE, 3)
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (3, 0)}
    assert [event for _p, event, _payload in sent()] == [
        "volume.manage_existing.start",
        "volume.manage_existing.end",
    ]


@pytest.mark.parametrize("point", [*TASKS, "ManageExisting.after"])
def test_a_failing_task_reverts_every_earlier_one(
    vconf: cfg.ConfigOpts,
    db: db_api.Database,
    files: FileDriver,
    notifier: messaging.Notifier,
    point: str,
) -> None:
    disk = Path(files.directory) / "disk.img"
    make_file(disk, 2 * GIB)
    volume = new_volume(vconf, db, {"source-name": "disk.img"}, fault=f"fail:{point}")
    with pytest.raises(FaultInjected, match=point):
        run(vconf, db, files, notifier, volume)
    # Only the volume the API charged is left; the manager's own quota is undone.
    assert usage(vconf, db) == {"volumes": (1, 0), "gigabytes": (0, 0)}
    assert reservations.reservation_ids_for(db, volume["id"]) == []
    assert sorted(p.name for p in disk.parent.iterdir()) == ["disk.img"]
    assert head(disk) == b"precious data"
    assert volumes_db.get(db, volume["id"])["status"] == volume_record.MANAGING
    assert "volume.manage_existing.end" not in [event for _p, event, _payload in sent()]


# -- a batch of requests -----------------------------------------------------------------


@pytest.mark.parametrize("point", ["QuotaReserve", "ManageExisting", "QuotaCommit", "OnFinish"])
def test_a_batch_fails_and_reverts_only_the_request_that_failed(
    vconf: cfg.ConfigOpts,
    db: db_api.Database,
    files: FileDriver,
    notifier: messaging.Notifier,
    point: str,
) -> None:
    names = ["a.img", "b.img", "c.img"]
    for name in names:
        make_file(Path(files.directory) / name, GIB)
    volumes = [
        new_volume(
            vconf, db, {"source-name": name}, fault=f"fail:{point}" if name == "b.img" else None
        )
        for name in names
    ]
    flow = flow_mod.get_flow(vconf, db, files, notifier)
    stores = [{flow_mod.CONTEXT: CTXT, flow_mod.VOLUME: volume} for volume in volumes]
    outcomes = run_flow_batch(flow, stores)

    assert isinstance(outcomes[1], failure.Failure)
    assert outcomes[1].check(FaultInjected) is FaultInjected
    for index in (0, 2):
        assert outcomes[index][flow_mod.SIZE] == 1
        done = volumes_db.get(db, volumes[index]["id"])
        assert (done["status"], done["size"]) == (volume_record.AVAILABLE, 1)
    # The failed request holds only the volume the API charged; its file is as it was.
    assert volumes_db.get(db, volumes[1]["id"])["status"] == volume_record.MANAGING
    assert reservations.reservation_ids_for(db, volumes[1]["id"]) == []
    assert usage(vconf, db) == {"volumes": (3, 0), "gigabytes": (2, 0)}
    assert head(Path(files.directory) / "b.img") == b"precious data"
    assert sorted(p.name for p in Path(files.directory).iterdir()) == sorted(
        ["b.img", f"volume-{volumes[0]['id']}", f"volume-{volumes[2]['id']}"]
    )
    ends = [p["id"] for _pr, event, p in sent() if event == "volume.manage_existing.end"]
    # A batch's notifications are sent side by side: in no particular order.
    assert sorted(ends) == sorted([volumes[0]["id"], volumes[2]["id"]])


def test_a_batch_over_quota_fails_the_request_that_does_not_fit(
    vconf: cfg.ConfigOpts, db: db_api.Database, fake: FakeDriver, notifier: messaging.Notifier
) -> None:
    quota.set_limit(db, PROJECT, "gigabytes", 5)
    volumes = [
        new_volume(vconf, db, {"source-name": name, "size_gb": size})
        for name, size in (("lun1", 3), ("lun2", 3), ("lun3", 2))
    ]
    flow = flow_mod.get_flow(vconf, db, fake, notifier)
    outcomes = run_flow_batch(
        flow, [{flow_mod.CONTEXT: CTXT, flow_mod.VOLUME: volume} for volume in volumes]
    )
    assert isinstance(outcomes[1], failure.Failure)
    assert outcomes[1].check(exception.OverQuota) is exception.OverQuota
    statuses = [volumes_db.get(db, v["id"])["status"] for v in volumes]
    assert statuses == [volume_record.AVAILABLE, volume_record.MANAGING, volume_record.AVAILABLE]
    assert usage(vconf, db) == {"volumes": (3, 0), "gigabytes": (5, 0)}
