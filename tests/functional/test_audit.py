"""The audit through the running services: drift recorded on the volume, reported by a
user message and a ``volume.drift`` notification when it appears and when it clears,
nothing written while nothing changes; the periodic audit does the same on its own."""

import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from tests.functional.stack import Stack, make_file, reset_memory_broker
from volmgr_common import context, drift
from volmgr_common.db import api as db_api
from volmgr_common.db import volume_drift
from volmgr_common.db import volumes as volumes_db
from volmgr_volume import rpcapi as volume_rpcapi

GIB = 1024**3
ADMIN = context.RequestContext(user_id="admin", project_id="admin", roles=["admin"], is_admin=True)
DETECTED_MISSING = "VOLUME_VOLUME_903_905"
DETECTED_RESIZED = "VOLUME_VOLUME_903_908"
CLEARED = "VOLUME_VOLUME_903_910"


def managed_file(stack: Stack, name: str = "disk1.img") -> dict[str, Any]:
    make_file(stack.files / name, GIB)
    volume = stack.wait_terminal(stack.manage(name)["id"])
    assert volume["status"] == "available", volume
    return volume


def audit(stack: Stack) -> dict[str, Any]:
    """An audit asked of the volume service over RPC (1.2), as the API asks it."""
    return volume_rpcapi.VolumeAPI(stack.messaging).audit(ADMIN, stack.backend, 30)


def events(stack: Stack, volume_id: str) -> list[tuple[str, str]]:
    return [(m["event_id"], m["message_level"]) for m in stack.messages(volume_id)]


def test_drift_is_recorded_reported_and_cleared(stack: Stack, tmp_path: Path) -> None:
    volume = managed_file(stack)
    managed = stack.files / volume["provider_location"]
    summary = audit(stack)
    assert (summary["checked"], summary["drifted"], summary["detected"]) == (1, 0, 0)
    shutil.move(managed, tmp_path / "aside")

    summary = audit(stack)
    assert (summary["drifted"], summary["detected"], summary["kinds"]) == (1, 1, {"missing": 1})
    assert summary["drifts"] == [
        {"volume_id": volume["id"], "kind": "missing", "found": {"name": None, "identity": None}}
    ]
    recorded = volumes_db.get(stack.db, volume["id"])["drift"]
    assert recorded is not None and recorded["kind"] == drift.MISSING
    assert recorded["expected"]["identity"] == volume["backend_identity"]
    assert events(stack, volume["id"])[-1] == (DETECTED_MISSING, "WARNING")
    note = stack.notifications.wait_for(volume["id"], "volume.drift")
    assert (note["payload"]["state"], note["payload"]["drift"]) == ("detected", recorded)

    # Nothing changed: nothing written, no second message, since kept.
    updated = volumes_db.get(stack.db, volume["id"])["updated_at"]
    summary = audit(stack)
    assert (summary["drifted"], summary["detected"]) == (1, 0)
    assert volumes_db.get(stack.db, volume["id"])["updated_at"] == updated
    assert volumes_db.get(stack.db, volume["id"])["drift"] == recorded
    assert len(events(stack, volume["id"])) == 1

    shutil.move(tmp_path / "aside", managed)
    summary = audit(stack)
    assert (summary["drifted"], summary["cleared"]) == (0, 1)
    assert volumes_db.get(stack.db, volume["id"])["drift"] is None
    assert events(stack, volume["id"])[-1] == (CLEARED, "INFO")
    assert _wait_for_states(stack, volume["id"]) == ["detected", "cleared"]


def _wait_for_states(stack: Stack, volume_id: str, count: int = 2) -> list[str]:
    deadline = time.monotonic() + 10
    while True:
        notes = [
            e
            for e in stack.notifications.for_volume(volume_id)
            if e["event_type"] == "volume.drift"
        ]
        if len(notes) >= count or time.monotonic() > deadline:
            return [e["payload"]["state"] for e in notes]
        time.sleep(0.02)


def test_a_drift_that_changes_kind_is_reported_again_and_keeps_details_current(
    stack: Stack, tmp_path: Path
) -> None:
    volume = managed_file(stack)
    managed = stack.files / volume["provider_location"]
    with open(managed, "r+b") as image:
        image.truncate(GIB + 4096)
    audit(stack)
    first = volumes_db.get(stack.db, volume["id"])["drift"]
    assert first is not None and first["found"] == {"size_bytes": GIB + 4096}
    with open(managed, "r+b") as image:
        image.truncate(GIB + 8192)
    summary = audit(stack)
    assert (summary["detected"], summary["changed"]) == (0, 1)
    second = volumes_db.get(stack.db, volume["id"])["drift"]
    assert second is not None
    assert (second["found"], second["since"]) == ({"size_bytes": GIB + 8192}, first["since"])
    assert [e for e, _ in events(stack, volume["id"])] == [DETECTED_RESIZED]
    managed.unlink()
    summary = audit(stack)
    assert summary["detected"] == 1
    third = volumes_db.get(stack.db, volume["id"])["drift"]
    assert third is not None and third["kind"] == drift.MISSING
    assert [e for e, _ in events(stack, volume["id"])] == [DETECTED_RESIZED, DETECTED_MISSING]


def test_only_available_volumes_of_this_backend_are_audited(stack: Stack) -> None:
    volume = managed_file(stack)
    failed = stack.wait_terminal(stack.manage("not-there.img")["id"])
    assert failed["status"] == "error_managing"
    summary = audit(stack)
    assert summary["checked"] == 1
    assert volumes_db.get(stack.db, failed["id"])["drift"] is None
    assert volumes_db.get(stack.db, volume["id"])["drift"] is None


def test_audits_read_the_database_in_pages(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = sorted(managed_file(stack, f"disk{n}.img")["id"] for n in range(5))
    stack.conf.set_override("page_size", 2, group="audit")
    pages: list[list[str]] = []
    read_page = volume_drift.audit_page

    def recorded(*args: Any, **kwargs: Any) -> list[drift.AuditedVolume]:
        page = read_page(*args, **kwargs)
        pages.append([volume.id for volume in page])
        return page

    monkeypatch.setattr(volume_drift, "audit_page", recorded)
    (stack.files / f"volume-{ids[3]}").unlink()
    summary = audit(stack)
    assert (summary["checked"], summary["drifted"]) == (5, 1)
    assert summary["drifts"][0]["volume_id"] == ids[3]
    assert pages == [ids[0:2], ids[2:4], ids[4:]]


@pytest.fixture
def periodic_stack(
    conf_factory: Callable[..., cfg.ConfigOpts], db: db_api.Database, quick_stop: None
) -> Iterator[Stack]:
    """The services, with a volume service that audits every second."""
    conf = conf_factory(
        transport_url=f"kombu+memory:////{uuid.uuid4().hex}",
        api__bind_port=0,
        audit__interval=1,
        audit__jitter=0,
    )
    reset_memory_broker()
    running = Stack.start_all(conf, db)
    yield running
    running.stop()


def test_the_periodic_audit_records_and_clears_drift(periodic_stack: Stack, tmp_path: Path) -> None:
    stack = periodic_stack
    volume = managed_file(stack)
    managed = stack.files / volume["provider_location"]
    os.rename(managed, stack.files / "renamed-by-hand.img")
    found = _wait_for_drift(stack, volume["id"], lambda d: d is not None)
    assert found is not None
    assert (found["kind"], found["found"]["name"]) == (drift.RENAMED, "renamed-by-hand.img")
    os.rename(stack.files / "renamed-by-hand.img", managed)
    assert _wait_for_drift(stack, volume["id"], lambda d: d is None) is None
    assert [e for e, _ in events(stack, volume["id"])] == ["VOLUME_VOLUME_903_906", CLEARED]


def _wait_for_drift(
    stack: Stack, volume_id: str, done: Callable[[dict[str, Any] | None], bool]
) -> dict[str, Any] | None:
    deadline = time.monotonic() + 15
    while True:
        found = volumes_db.get(stack.db, volume_id)["drift"]
        if done(found):
            return found
        assert time.monotonic() < deadline, f"no periodic audit changed {found}"
        time.sleep(0.05)
