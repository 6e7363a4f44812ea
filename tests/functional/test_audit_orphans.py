"""The audit finds orphans in its one reading of the backend, records them per backend
and reports them: ``volume.orphan`` notifications when one is first seen and when it is
gone, ``first_seen_at`` kept from audit to audit, the periodic audit doing the same on
its own, and never a backend object changed."""

import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from oslo_config import cfg

from tests.functional.rest.conftest import forget_rows
from tests.functional.stack import Stack, make_file, reset_memory_broker
from tests.functional.test_audit import GIB, audit
from volmgr_common.db import api as db_api
from volmgr_common.db import backend_orphans
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers.base import VolumeDriver

EVERY = PageRequest(limit=1000)


def managed_files(stack: Stack, count: int) -> list[dict[str, Any]]:
    volumes = []
    for _ in range(count):
        name = f"disk-{uuid.uuid4().hex[:8]}.img"
        make_file(stack.files / name, GIB)
        volume = stack.wait_terminal(stack.manage(name)["id"])
        assert volume["status"] == "available", volume
        volumes.append(volume)
    return volumes


def recorded(stack: Stack) -> dict[str, dict[str, Any]]:
    """The backend's orphans as the last audit recorded them, by name."""
    found = backend_orphans.list_orphans(stack.db, stack.backend, EVERY)
    return {orphan["name"]: orphan for orphan in found}


def backend_state(stack: Stack) -> dict[str, tuple[int, int, int]]:
    """Every object of the directory: (inode, size, mtime_ns)."""
    return {
        entry.name: (entry.inode(), entry.stat().st_size, entry.stat().st_mtime_ns)
        for entry in os.scandir(stack.files)
    }


def orphan_states(stack: Stack, volume_id: str, count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while True:
        notes = [
            e
            for e in stack.notifications.for_volume(volume_id)
            if e["event_type"] == "volume.orphan"
        ]
        if len(notes) >= count or time.monotonic() > deadline:
            return [e["payload"]["state"] for e in notes]
        time.sleep(0.02)


@pytest.fixture
def one_reading(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the volume service's driver read the backend for an audit; a
    separate listing of managed objects fails the test."""
    driver = stack.volume_manager()._auditor.driver
    readings: list[int] = []
    start = driver.start_audit

    def counted() -> Any:
        readings.append(1)
        return start()

    def separate_listing(self: VolumeDriver) -> Any:
        raise AssertionError("the audit listed the backend a second time")

    monkeypatch.setattr(driver, "start_audit", counted)
    monkeypatch.setattr(type(driver), "list_managed_objects", separate_listing)
    return readings


def test_an_audit_finds_records_and_reports_orphans_in_one_reading(
    stack: Stack, one_reading: list[int]
) -> None:
    kept, forgotten = managed_files(stack, 2)
    name = forgotten["provider_location"]
    summary = audit(stack)
    assert (summary["orphans"], summary["orphans_detected"]) == (0, 0)
    forget_rows(stack.db, forgotten["id"])
    before = backend_state(stack)

    summary = audit(stack)
    assert (summary["checked"], summary["orphans"], summary["orphans_detected"]) == (1, 1, 1)
    assert one_reading == [1, 1], "each audit reads the backend once"
    orphan = recorded(stack)[name]
    st = os.stat(stack.files / name)
    assert orphan["volume_id"] == forgotten["id"]
    assert orphan["identity"] == f"{st.st_dev}:{st.st_ino}"
    assert (orphan["size"], orphan["size_bytes"]) == (1, GIB)
    assert orphan["project_id"] == forgotten["project_id"]
    assert orphan["first_seen_at"] == orphan["last_seen_at"]
    note = stack.notifications.wait_for(forgotten["id"], "volume.orphan")
    assert note["payload"]["state"] == "detected"
    assert (note["payload"]["host"], note["payload"]["name"]) == (stack.backend, name)
    assert note["payload"]["released_at"] is None, "forgotten, not let go"
    assert kept["provider_location"] not in recorded(stack)

    summary = audit(stack)  # seen again: not new, first seen kept
    assert (summary["orphans"], summary["orphans_detected"], summary["orphans_cleared"]) == (
        1,
        0,
        0,
    )
    again = recorded(stack)[name]
    assert again["first_seen_at"] == orphan["first_seen_at"]
    assert again["last_seen_at"] > orphan["last_seen_at"]
    assert orphan_states(stack, forgotten["id"], 1) == ["detected"]
    assert backend_state(stack) == before, "an audit changes no backend object"

    os.rename(stack.files / name, stack.files / "taken-away.img")  # no longer in managed form
    summary = audit(stack)
    assert (summary["orphans"], summary["orphans_cleared"]) == (0, 1)
    assert recorded(stack) == {}
    assert orphan_states(stack, forgotten["id"], 2) == ["detected", "cleared"]


def test_an_object_that_takes_an_orphans_name_is_a_new_orphan(stack: Stack) -> None:
    (forgotten,) = managed_files(stack, 1)
    name = forgotten["provider_location"]
    forget_rows(stack.db, forgotten["id"])
    audit(stack)
    first = recorded(stack)[name]
    os.rename(stack.files / name, stack.files / "aside.img")
    make_file(stack.files / name, 2 * GIB)  # another object under the same name
    summary = audit(stack)
    assert (summary["orphans"], summary["orphans_detected"]) == (1, 1)
    second = recorded(stack)[name]
    assert second["identity"] != first["identity"]
    assert second["first_seen_at"] > first["first_seen_at"]
    assert second["size"] == 2


def test_a_failing_audit_keeps_the_last_audits_orphans(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    (forgotten,) = managed_files(stack, 1)
    forget_rows(stack.db, forgotten["id"])
    audit(stack)
    assert forgotten["provider_location"] in recorded(stack)

    def broken(*args: Any, **kwargs: Any) -> list[Any]:
        raise RuntimeError("database went away")

    monkeypatch.setattr(backend_orphans, "record_seen", broken)
    with pytest.raises(Exception):  # noqa: B017 - any error: the audit failed
        audit(stack)
    assert forgotten["provider_location"] in recorded(stack), "nothing dropped half-way"


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


def test_the_periodic_audit_finds_and_clears_orphans(periodic_stack: Stack) -> None:
    stack = periodic_stack
    (forgotten,) = managed_files(stack, 1)
    name = forgotten["provider_location"]
    forget_rows(stack.db, forgotten["id"])
    _wait_until(lambda: name in recorded(stack), "the periodic audit found no orphan")
    assert orphan_states(stack, forgotten["id"], 1) == ["detected"]
    (stack.files / name).unlink()
    _wait_until(lambda: name not in recorded(stack), "the periodic audit kept a gone orphan")
    assert orphan_states(stack, forgotten["id"], 2) == ["detected", "cleared"]


def _wait_until(done: Callable[[], bool], failure: str) -> None:
    deadline = time.monotonic() + 15
    while not done():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)
