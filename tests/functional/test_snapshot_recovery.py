"""A snapshot manage whose volume service dies mid-flow is finished by the next one.

Real SQLite, the real image driver on real qcow2 files, the real flows and workers:
worker A runs the flow until a hook point where the process "dies" (a BaseException
that nothing in volmgr catches, as a SIGKILL would stop it: no revert, no failure
recorded, the fenced transaction of the step rolled back). Worker B, a new process
instance of the same backend, then runs its recovery scan once A's claim has gone
unrenewed for ``[recovery] stale_after``: the snapshot ends ``available`` under its
managed name, renamed once, its backing still valid, with nothing left in a
transitional status and quota usage equal to what the rows hold. A failure met by a
resumed flow is compensated as a first run's is.
"""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from tests.image_support import qemu_img
from volmgr_common import exception, hooks
from volmgr_common.context import RequestContext, get_admin_context
from volmgr_common.db import api as db_api
from volmgr_common.db import (
    quota,
    quota_audit,
    snapshot_creation,
    snapshot_record,
    snapshot_recovery,
    snapshot_transitions,
    snapshots,
    volume_creation,
    volume_identity,
    volume_transitions,
)
from volmgr_common.db import volume_types as types_db
from volmgr_volume.drivers import load_driver
from volmgr_volume.drivers.file import file_identity
from volmgr_volume.snapshot_worker import SnapshotWorker

BACKEND = "node1@images"
PROJECT = "project-a"


class Killed(BaseException):
    """The process dies here: nothing catches it, nothing is reverted."""


class Notifications:
    """The notifier of a worker: keeps the event types it was given, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def info(self, ctxt: Any, event_type: str, payload: Any) -> None:
        self.events.append(event_type)

    error = info


class DirectApi:
    """volmgr-api's compensation, taken without the message bus: what the API's
    ``manage_existing_snapshot_failed`` records."""

    def __init__(self, db: db_api.Database) -> None:
        self.db = db

    def manage_existing_snapshot_failed(
        self, ctxt: RequestContext, snapshot_id: str, reason: str
    ) -> None:
        snapshot_transitions.fail_manage(self.db, snapshot_id, reason, ctxt.request_id)


@pytest.fixture
def images_conf(conf_factory: Any, tmp_path: Path) -> cfg.ConfigOpts:
    return conf_factory(
        volume__volume_driver="image",
        volume__backend_name="images",
        image_backend__directory=str(tmp_path / "images"),
        recovery__stale_after=1,
    )


@pytest.fixture
def images_db(images_conf: cfg.ConfigOpts, db: db_api.Database) -> Iterator[db_api.Database]:
    yield db


def worker(conf: cfg.ConfigOpts, db: db_api.Database, owner: str) -> SnapshotWorker:
    driver = load_driver(conf)
    driver.do_setup()
    api: Any = DirectApi(db)
    return SnapshotWorker(conf, db, api, driver, (BACKEND,), owner, Notifications())


def managed_volume(conf: cfg.ConfigOpts, db: db_api.Database) -> dict[str, Any]:
    """A volume row, available, holding the qcow2 image it manages."""
    directory = Path(conf.image_backend.directory)
    directory.mkdir(parents=True, exist_ok=True)
    vtype = types_db.get_or_create(db, "__DEFAULT__")
    ref = {"source-name": "base.qcow2"}
    values = {
        "project_id": PROJECT,
        "user_id": "user-a",
        "host": f"{BACKEND}#images",
        "availability_zone": "nova",
        "volume_type_id": vtype["id"],
        "reference": json.dumps(ref),
        "reference_key": volume_creation.reference_key(BACKEND, ref),
    }
    limits = quota.DefaultLimits.from_conf(conf)
    volume = volume_creation.create_managing(db, values, {}, limits, vtype["name"])
    image = directory / f"volume-{volume['id']}"
    qemu_img("create", "-q", "-f", "qcow2", str(image), "1G")
    claim = volume_identity.IdentityClaim(volume["id"], BACKEND, file_identity(image.stat()))
    assert volume_identity.record_identities(db, [claim]) == [None]
    assert volume_transitions.finish_manage(db, volume["id"], image.name)
    return volume


def new_snapshot(
    conf: cfg.ConfigOpts, db: db_api.Database, volume: dict[str, Any], source: str
) -> dict[str, Any]:
    directory = Path(conf.image_backend.directory)
    backing = f"volume-{volume['id']}"
    qemu_img("create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", str(directory / source))
    return new_snapshot_of_file(conf, db, volume, source)


def new_snapshot_of_file(
    conf: cfg.ConfigOpts, db: db_api.Database, volume: dict[str, Any], source: str
) -> dict[str, Any]:
    """A managing snapshot row for ``source``, an object that already exists."""
    new = snapshot_creation.NewSnapshot(
        volume_id=volume["id"],
        project_id=PROJECT,
        user_id="user-a",
        reference={"source-name": source},
        request_id="req-snap",
    )
    return dict(snapshot_creation.create_managing(db, new, quota.DefaultLimits.from_conf(conf)))


def killed_at(point: str) -> Any:
    def callback(name: str, _record: Any) -> None:
        if name == point:
            raise Killed(point)

    return callback


def transitional(db: db_api.Database) -> list[Any]:
    statuses = (snapshot_record.MANAGING, snapshot_record.UNMANAGING)
    return snapshot_recovery.transitional(db, statuses)


@pytest.mark.parametrize(
    "point",
    [
        "NotifySnapshotStart",
        "RecordSnapshotIdentity",
        "ChargeSnapshotGigabytes",
        "ManageSnapshot",
        hooks.MANAGE_SNAPSHOT_AFTER,
        "FinishSnapshot",
    ],
)
def test_a_flow_killed_anywhere_is_finished_by_the_next_process(
    images_conf: cfg.ConfigOpts, images_db: db_api.Database, point: str
) -> None:
    conf, db = images_conf, images_db
    directory = Path(conf.image_backend.directory)
    volume = managed_volume(conf, db)
    snapshot = new_snapshot(conf, db, volume, "nightly.qcow2")
    identity = file_identity((directory / "nightly.qcow2").stat())
    ctxt = get_admin_context(request_id="req-snap")
    callback = killed_at(point)
    hooks.register(callback)
    try:
        with pytest.raises(Killed):
            worker(conf, db, "process-a").manage(ctxt, snapshot["id"])
    finally:
        hooks.unregister(callback)
    [left] = transitional(db)
    assert left["flow_owner"] is not None  # A's claim, never renewed again

    resumed = worker(conf, db, "process-b")
    resumed.recover()  # the first scan leaves a claim younger than stale_after alone
    time.sleep(conf.recovery.stale_after + 0.2)
    resumed.recover()

    done = snapshots.get(db, snapshot["id"])
    managed = directory / f"snapshot-{snapshot['id']}"
    assert (done["status"], done["provider_location"]) == ("available", managed.name)
    assert file_identity(managed.stat()) == identity == done["backend_identity"]
    assert not (directory / "nightly.qcow2").exists()
    info = json.loads(qemu_img("info", "--output=json", "--backing-chain", str(managed)))
    assert info[0]["full-backing-filename"] == str(directory / f"volume-{volume['id']}")
    assert transitional(db) == []
    assert quota_audit.check(db) == []
    assert quota.usage(db, PROJECT, quota.DefaultLimits.from_conf(conf))["snapshots"]["in_use"] == 1


def test_a_resumed_flow_that_fails_is_compensated_and_puts_nothing_back_wrongly(
    images_conf: cfg.ConfigOpts, images_db: db_api.Database
) -> None:
    conf, db = images_conf, images_db
    directory = Path(conf.image_backend.directory)
    volume = managed_volume(conf, db)
    snapshot = new_snapshot(conf, db, volume, "weekly.qcow2")
    callback = killed_at(hooks.MANAGE_SNAPSHOT_AFTER)
    hooks.register(callback)
    try:
        with pytest.raises(Killed):
            worker(conf, db, "process-a").manage(get_admin_context(), snapshot["id"])
    finally:
        hooks.unregister(callback)
    assert (directory / f"snapshot-{snapshot['id']}").exists()  # renamed before the crash
    # Meanwhile the volume stopped being available: the resumed flow must fail cleanly.
    volume_transitions.update_if(db, volume["id"], "available", status="unmanaging")
    time.sleep(conf.recovery.stale_after + 0.2)
    worker(conf, db, "process-b").recover()
    failed = snapshots.get(db, snapshot["id"])
    assert failed["status"] == snapshot_record.ERROR_MANAGING
    assert "not available" in (failed["failure_reason"] or "")
    assert (directory / "weekly.qcow2").exists()  # put back under its original name
    assert not (directory / f"snapshot-{snapshot['id']}").exists()
    assert transitional(db) == []
    assert quota_audit.check(db) == []


class OldApi:
    """An API client capped below 1.1 (``[upgrade_levels] api``): it cannot send the
    snapshot compensation."""

    def manage_existing_snapshot_failed(
        self, ctxt: RequestContext, snapshot_id: str, reason: str
    ) -> None:
        raise exception.SnapshotsNotSupported(backend="api", reason="capped at 1.0")


def test_a_failure_the_api_cannot_be_told_of_stays_noted_for_its_recovery_scan(
    images_conf: cfg.ConfigOpts, images_db: db_api.Database, caplog: pytest.LogCaptureFixture
) -> None:
    conf, db = images_conf, images_db
    directory = Path(conf.image_backend.directory)
    volume = managed_volume(conf, db)
    (directory / "notes.txt").write_text("not an overlay")
    snapshot = new_snapshot_of_file(conf, db, volume, "notes.txt")
    driver = load_driver(conf)
    driver.do_setup()
    api: Any = OldApi()
    old = SnapshotWorker(conf, db, api, driver, (BACKEND,), "process-a", Notifications())
    old.manage(get_admin_context(), snapshot["id"])
    row = snapshots.get(db, snapshot["id"])
    # The reason is on the managing row: volmgr-api's recovery scan records the error.
    assert row["status"] == snapshot_record.MANAGING and row["failure_reason"]
    assert "recovery scan will finish it" in caplog.text
    assert "could not be recorded" not in caplog.text
    assert (directory / "notes.txt").read_text() == "not an overlay"
