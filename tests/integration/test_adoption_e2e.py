"""Adoption plans, jobs and undo on the real daemons, over RabbitMQ, on PostgreSQL.

Two more volume daemons join the shared cluster: one on an LVM backend (a real VG on
a loop device, ``tests/lvm_support.py``) and one on the image backend (raw and qcow2
images made by ``qemu-img``). For each, over the REST API of ``volmgr-api``: a plan
of the test's objects, one object resized between the plan and the apply (an LV
extended, a qcow2 image grown), the apply, then the undo. Afterwards the resized
object is ``stale`` with what changed and untouched, every other object was
managed once (renamed, same identity), and the undo put every one back under its
original name with the same identity, removed the volumes and gave the quota back.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import lvm_support
from tests.image_support import qemu_img
from tests.integration import daemons
from tests.integration.conftest import Cluster
from volmgr_common.db import api as db_api
from volmgr_common.db import quota_audit
from volmgr_common.db import volumes as volumes_db

WAIT_SECONDS = 90.0
MIB = 1024**2
REST_URL = re.compile(r"REST API listening on (http://\S+)")


@dataclass
class Backend:
    """A volume daemon of the test, and how to see and change its objects."""

    host: str
    objects: Callable[[], dict[str, str]]
    """Every object's identity by name (LV uuid; a file's device:inode)."""


def _rest(cluster: Cluster, project: str, method: str, path: str, body: Any = None) -> Any:
    found = REST_URL.findall(cluster.api.log_text())
    assert found, "volmgr-api did not log where its REST API listens"
    request = urllib.request.Request(
        f"{found[-1]}/v3/{project}/{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Content-Type": "application/json",
            "X-User-Id": "it-admin",
            "X-Project-Id": project,
            "X-Roles": "admin",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _wait_job(cluster: Cluster, project: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status, body = _rest(cluster, project, "GET", f"os-adoption-jobs/{job_id}?limit=1000")
        assert status == 200, body
        if body["job"]["status"] in ("completed", "cancelled"):
            return dict(body["job"])
        assert time.monotonic() < deadline, f"job {job_id} did not end: {body['job']}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def lvm_backend(
    factory: daemons.DaemonFactory, db: db_api.Database, cluster: Cluster
) -> Iterator[tuple[Backend, lvm_support.ScratchVolumeGroup]]:
    """A volume daemon of the LVM driver on a scratch VG (backend ``adoptlvm``)."""
    try:
        vg = lvm_support.ScratchVolumeGroup.create("2G")
    except lvm_support.LvmSetupError as error:
        pytest.fail(f"cannot set up the LVM test volume group: {error}", pytrace=False)
    try:
        daemon = factory.create(
            daemons.VOLUME,
            name="volume-adopt-lvm",
            backend_name="adoptlvm",
            extra={
                "volume": {"volume_driver": "lvm"},
                "lvm_backend": {"volume_group": vg.name, "lvm_conf_dir": vg.conf_dir},
            },
        )
        with daemons.started([daemon], db):
            yield Backend(daemon.service_host, lambda: _lv_uuids(vg)), vg
    finally:
        vg.destroy()


def _lv_uuids(vg: lvm_support.ScratchVolumeGroup) -> dict[str, str]:
    return {name: lv["lv_uuid"] for name, lv in vg.lvs().items()}


def _file_ids(directory: Path) -> dict[str, str]:
    found = {}
    for path in directory.iterdir():
        st = os.lstat(path)
        found[path.name] = f"{st.st_dev}:{st.st_ino}"
    return found


@pytest.fixture(scope="module")
def image_backend(
    factory: daemons.DaemonFactory, db: db_api.Database, base_dir: Path, cluster: Cluster
) -> Iterator[tuple[Backend, Path]]:
    """A volume daemon of the image driver (backend ``adoptimages``)."""
    directory = base_dir / "backend-adopt-images"
    directory.mkdir()
    daemon = factory.create(
        daemons.VOLUME,
        name="volume-adopt-images",
        backend_name="adoptimages",
        extra={"volume": {"volume_driver": "image"}, "image_backend": {"directory": directory}},
    )
    with daemons.started([daemon], db):
        yield Backend(daemon.service_host, lambda: _file_ids(directory)), directory


def _plan_apply_undo(
    cluster: Cluster,
    db: db_api.Database,
    backend: Backend,
    names: list[str],
    resized: str,
    resize: Callable[[], None],
    changed_key: str,
) -> None:
    """Plan ``names``, resize one, apply, check, undo, check (see the module)."""
    project = daemons.unique_name("it-adopt-")
    before = backend.objects()
    plan_body = {"plan": {"host": backend.host, "filters": {"name": "adopt-*"}}}
    status, body = _rest(cluster, project, "POST", "os-adoption-plans", plan_body)
    assert status == 200, body
    plan = body["plan"]
    assert plan["totals"]["objects"] == plan["totals"]["manage"] == len(names), plan["totals"]
    assert backend.objects() == before, "a plan touched the backend"

    resize()
    status, body = _rest(
        cluster, project, "POST", "os-adoption-jobs", {"job": {"plan_id": plan["id"]}}
    )
    assert status == 202, body
    job = _wait_job(cluster, project, body["job"]["id"])
    items = {item["source_name"]: item for item in job["items"]}
    assert job["counters"]["available"] == len(names) - 1, job["counters"]
    stale = items[resized]
    assert stale["status"] == "stale", stale
    assert changed_key in stale["detail"], stale
    planned, current = (
        stale["detail"][changed_key]["planned"],
        stale["detail"][changed_key]["current"],
    )
    assert planned != current and current is not None
    managed = backend.objects()
    assert managed[resized] == before[resized], "the stale object was touched"
    for name in names:
        if name == resized:
            continue
        volume = volumes_db.get(db, items[name]["volume_id"])
        assert volume["status"] == "available", volume
        assert name not in managed, f"{name} is still under its original name"
        assert managed[volume["provider_location"]] == before[name], "not the same object"
        assert volume["provenance"]["adoption_job_id"] == job["id"]
    usage = daemons.quota_usage(db, project)
    assert usage["volumes"]["in_use"] == len(names) - 1

    status, body = _rest(
        cluster, project, "POST", f"os-adoption-jobs/{job['id']}/action", {"undo": None}
    )
    assert status == 202, body
    undo = _wait_job(cluster, project, body["job"]["id"])
    assert undo["counters"]["undone"] == len(names) - 1, undo["counters"]
    assert backend.objects() == before, "not every object is back under its name"
    assert volumes_db.list_volumes(db, project_id=project) == []
    assert daemons.quota_usage(db, project)["volumes"]["in_use"] == 0
    assert quota_audit.check(db) == []


def test_plan_apply_and_undo_on_lvm(
    cluster: Cluster,
    db: db_api.Database,
    lvm_backend: tuple[Backend, lvm_support.ScratchVolumeGroup],
) -> None:
    backend, vg = lvm_backend
    names = [f"adopt-lv{n}" for n in range(4)]
    for name in names:
        vg.create_lv(name, 8 * MIB)
    vg.create_lv("other-lv", 4 * MIB)  # not matched by the plan's filter
    _plan_apply_undo(
        cluster,
        db,
        backend,
        names,
        names[1],
        lambda: vg.lvm("lvextend", "-q", "-L", "+4m", f"{vg.name}/{names[1]}"),
        "size_bytes",
    )
    assert vg.lvs()[names[1]]["lv_size"] == 12 * MIB


def test_plan_apply_and_undo_on_raw_and_qcow2_images(
    cluster: Cluster, db: db_api.Database, image_backend: tuple[Backend, Path]
) -> None:
    backend, directory = image_backend
    names = ["adopt-raw0.img", "adopt-raw1.img", "adopt-q0.qcow2", "adopt-q1.qcow2"]
    for name in names[:2]:
        with (directory / name).open("wb") as image:
            image.truncate(64 * MIB)
    for name in names[2:]:
        qemu_img("create", "-q", "-f", "qcow2", str(directory / name), "1G")
    (directory / "other.img").write_bytes(b"not in the plan")
    _plan_apply_undo(
        cluster,
        db,
        backend,
        names,
        names[3],
        lambda: qemu_img("resize", "-q", str(directory / names[3]), "2G"),
        "size_bytes",
    )
    assert "virtual size: 2 GiB" in qemu_img("info", str(directory / names[3]))
