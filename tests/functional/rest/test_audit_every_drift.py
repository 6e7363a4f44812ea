"""Every drift case, through the running services, on the file, image and LVM backends.

Volumes are managed over REST; then, by hand, one object is deleted, one resized, one
renamed back to its original name, one replaced by another object of the same name
and (LVM, an LV managed by ``source-id``) one stripped of its origin tag. ``volmgr
audit HOST`` reports each with its kind and records it on the volume; once every
object is put back, ``volmgr audit`` clears them all. The periodic audit does the
same on its own. The contract tests (tests/contract/test_drift.py) check the same
cases in each driver; these check them end to end.
"""

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import Backend, DirectoryBackend, LvmBackend
from tests.contract.test_drift import Hands, make
from tests.functional.rest.conftest import GIB, Rest, fresh_admin, running_stack
from tests.functional.rest.test_orphan_restore import volmgr
from tests.functional.rest.test_orphans import lvm_settings
from volmgr_common.db import volumes as volumes_db
from volmgr_volume.drivers.lvm_commands import TAG_PREFIX

KINDS = ("file", "image", "lvm")
ATTRIBUTE = "os-vol-drift-attr:drift"


class DriftStack:
    """A REST stack on one backend, the backend as the contract tests handle it, and
    the hands that change its objects (one pair per case: an LVM change keeps a
    metadata backup of its own to be undone with)."""

    def __init__(self, rest: Rest, backend: Backend, tmp_path: Path) -> None:
        self.rest = rest
        self.backend = backend
        self.tmp_path = tmp_path

    def hands(self, case: str) -> Hands:
        place = self.tmp_path / case
        place.mkdir()
        return Hands(self.backend, place)

    def manage(self, ref: dict[str, Any]) -> dict[str, Any]:
        body = {"volume": {"host": self.rest.backend, "ref": ref}}
        headers = fresh_admin()
        response = self.rest.call("POST", "os-volume-manage", body, headers=headers)
        assert response.status_int == 202, response.text
        volume = self.rest.wait_status(response.json["volume"]["id"], headers=headers)
        assert volume["status"] == "available", volume
        return volume

    def drift_kinds(self, volumes: dict[str, dict[str, Any]]) -> dict[str, str | None]:
        """Each volume's recorded drift kind, by the case it stands for."""
        kinds = {}
        for case, volume in volumes.items():
            shown = self.rest.call("GET", f"volumes/{volume['id']}").json["volume"][ATTRIBUTE]
            kinds[case] = None if shown is None else shown["kind"]
        return kinds

    def break_all(self) -> tuple[dict[str, dict[str, Any]], list[Callable[[], None]], dict]:
        """Manage one volume per case, change each object by hand; the volumes by case,
        the undos (in the order they were made) and the kind each case must show."""
        volumes: dict[str, dict[str, Any]] = {}
        originals: dict[str, str] = {}
        for case in CASES:
            if case == "tag_removed" and not isinstance(self.backend, LvmBackend):
                continue  # only LVM marks an object with a tag
            originals[case] = f"{case.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
            ref = make(self.backend, originals[case], GIB)
            if case == "tag_removed":
                assert isinstance(self.backend, LvmBackend)
                ref = {"source-id": self.backend.vg.lvs()[originals[case]]["lv_uuid"]}
            volumes[case] = self.manage(ref)
        undos = []
        for case, volume in volumes.items():
            managed = f"volume-{volume['id']}"
            undos.append(CASES[case][0](self, managed, originals[case]))
        expected = {case: CASES[case][1] for case in volumes}
        return volumes, undos, expected


def _deleted(stack: DriftStack, managed: str, original: str) -> Callable[[], None]:
    return stack.hands("deleted").take_away(managed)


def _resized(stack: DriftStack, managed: str, original: str) -> Callable[[], None]:
    return stack.hands("resized").grow(managed)


def _renamed_back(stack: DriftStack, managed: str, original: str) -> Callable[[], None]:
    return stack.hands("renamed_back").rename(managed, original)


def _replaced(stack: DriftStack, managed: str, original: str) -> Callable[[], None]:
    return stack.hands("replaced").replace(managed)


def _tag_removed(stack: DriftStack, managed: str, original: str) -> Callable[[], None]:
    assert isinstance(stack.backend, LvmBackend)
    vg = stack.backend.vg
    tags = vg.lvs()[managed]["lv_tags"].split(",")  # lvs reports them comma-separated
    [tag] = [t for t in tags if t.startswith(TAG_PREFIX)]
    vg.lvm("lvchange", "-q", "--deltag", tag, f"{vg.name}/{managed}")

    def put_back() -> None:
        vg.lvm("lvchange", "-q", "--addtag", tag, f"{vg.name}/{managed}")

    return put_back


CASES: dict[str, tuple[Callable[..., Callable[[], None]], str]] = {
    "deleted": (_deleted, "missing"),
    "resized": (_resized, "resized"),
    "renamed_back": (_renamed_back, "renamed"),
    "replaced": (_replaced, "replaced"),
    "tag_removed": (_tag_removed, "mark_missing"),
}


def _stack(kind: str, tmp_path: Path, **settings: Any) -> Iterator[tuple[Rest, Backend]]:
    if kind != "lvm":
        with running_stack(tmp_path, volume__volume_driver=kind, **settings) as rest:
            yield rest, DirectoryBackend(kind, tmp_path)
        return
    for overrides, vg in lvm_settings(tmp_path):
        vg.remove_all_lvs()
        with running_stack(tmp_path, **overrides, **settings) as rest:
            yield rest, LvmBackend(vg, tmp_path)


@pytest.fixture(params=KINDS)
def on_demand(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DriftStack]:
    """A stack whose audits run only when asked."""
    for rest, backend in _stack(request.param, tmp_path, audit__enabled=False):
        yield DriftStack(rest, backend, tmp_path)


@pytest.fixture(params=KINDS)
def periodic(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DriftStack]:
    """A stack whose volume service audits every second on its own."""
    settings = {"audit__interval": 1, "audit__jitter": 0}
    for rest, backend in _stack(request.param, tmp_path, **settings):
        yield DriftStack(rest, backend, tmp_path)


def test_volmgr_audit_reports_every_drift_case_and_clears_it(
    on_demand: DriftStack, capsys: pytest.CaptureFixture
) -> None:
    stack, rest = on_demand, on_demand.rest
    volumes, undos, expected = stack.break_all()
    code, out = volmgr(rest, capsys, "audit", rest.backend)
    assert code == 0, out
    assert f"{len(volumes)} with drift" in out and f"{len(volumes)} new" in out, out
    for case, volume in volumes.items():
        assert volume["id"] in out and expected[case] in out, (case, out)
    assert stack.drift_kinds(volumes) == expected

    for undo in reversed(undos):
        undo()
    code, out = volmgr(rest, capsys, "audit", rest.backend)
    assert code == 0 and f"0 with drift; 0 new, {len(volumes)} cleared" in out, out
    assert set(stack.drift_kinds(volumes).values()) == {None}


def test_the_periodic_audit_reports_every_drift_case_and_clears_it(
    periodic: DriftStack,
) -> None:
    stack = periodic
    volumes, undos, expected = stack.break_all()
    _wait_until(lambda: stack.drift_kinds(volumes) == expected, stack, volumes)
    for undo in reversed(undos):
        undo()
    _wait_until(lambda: set(stack.drift_kinds(volumes).values()) == {None}, stack, volumes)
    for volume in volumes.values():
        assert volumes_db.get(stack.rest.db, volume["id"])["drift"] is None


def _wait_until(
    done: Callable[[], bool], stack: DriftStack, volumes: dict[str, dict[str, Any]]
) -> None:
    deadline = time.monotonic() + 30
    while not done():
        assert time.monotonic() < deadline, stack.drift_kinds(volumes)
        time.sleep(0.2)
