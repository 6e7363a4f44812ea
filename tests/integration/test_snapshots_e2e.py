"""Snapshots on the real daemons: the real ``cinder`` snapshot commands, and kill -9.

A second volume daemon runs an image backend (real qcow2 files) next to the shared
cluster, on RabbitMQ and PostgreSQL; gunicorn serves REST. The real ``cinder``
command lists, manages, shows, lists and unmanages a qcow2 overlay of a managed
volume. Then the volume daemon is killed (``os._exit(137)``, as kill -9) right after
it renamed an overlay, before it recorded anything; restarted, it finishes the
request from the database: the snapshot is ``available``, renamed once, its backing
still valid, nothing left in a transitional status, quota equal to the rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import wsgi_support
from tests.fault_plugin import KILLED, METADATA_KEY
from tests.image_support import qemu_img
from tests.integration import daemons
from tests.integration.conftest import Cluster
from volmgr_common.db import api as db_api
from volmgr_common.db import quota_audit, snapshot_recovery, snapshots

WAIT_SECONDS = 60.0


@pytest.fixture(scope="module")
def images(
    factory: daemons.DaemonFactory, db: db_api.Database, base_dir: Path, cluster: Cluster
) -> Iterator[tuple[daemons.Daemon, Path]]:
    """A volume daemon of the image driver (backend ``images``), fast to recover."""
    directory = base_dir / "backend-images"
    directory.mkdir()
    daemon = factory.create(
        daemons.VOLUME,
        name="volume-images",
        backend_name="images",
        extra={
            "volume": {"volume_driver": "image"},
            "image_backend": {"directory": directory},
            "recovery": {"stale_after": 2, "interval": 1},
        },
    )
    with daemons.started([daemon], db):
        yield daemon, directory


@pytest.fixture(scope="module")
def gunicorn(factory: daemons.DaemonFactory, cluster: Cluster) -> Iterator[str]:
    config = factory.write_config("gunicorn-snapshots")
    output = factory.base_dir / "gunicorn-snapshots" / "gunicorn.out"
    with wsgi_support.gunicorn(config, output) as url:
        yield url


def rest(url: str, method: str, path: str, project: str, body: Any = None) -> Any:
    headers = {"X-User-Id": "admin", "X-Project-Id": project}
    status, _, answer = wsgi_support.request(f"{url}/v3/{project}/{path}", method, headers, body)
    return status, (json.loads(answer) if answer else None)


def wait(url: str, project: str, path: str, key: str, leave: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status, answer = rest(url, "GET", path, project)
        if status == 404:
            return {"status": "gone"}
        if answer[key]["status"] not in leave or time.monotonic() > deadline:
            return dict(answer[key])
        time.sleep(0.2)


def managed_volume(url: str, host: str, directory: Path, project: str) -> dict[str, Any]:
    name = f"{daemons.unique_name('base')}.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(directory / name), "1G")
    body = {"volume": {"host": host, "ref": {"source-name": name}}}
    status, answer = rest(url, "POST", "os-volume-manage", project, body)
    assert status == 202, answer
    volume = wait(url, project, f"volumes/{answer['volume']['id']}", "volume", ("creating",))
    assert volume["status"] == "available", volume
    return volume


def overlay(directory: Path, backing: str) -> str:
    name = f"{daemons.unique_name('snap')}.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", str(directory / name))
    return name


def cinder(url: str, project: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CINDER"))}
    command = [
        str(Path(sys.executable).with_name("cinder")),
        "--os-auth-type", "noauth", "--os-user-id", "admin", "--os-project-id", project,
        "--os-endpoint", f"{url}/v3/{project}", *args,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, f"{command}: {done.stderr}"
    return done.stdout


def cell(table: str, key: str) -> str:
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 2 and cells[0] == key:
            return cells[1]
    raise AssertionError(f"{key} not in\n{table}")


def test_the_real_cinder_snapshot_commands_on_the_daemons(
    images: tuple[daemons.Daemon, Path], gunicorn: str
) -> None:
    daemon, directory = images
    project = daemons.unique_name("snaps")
    volume = managed_volume(gunicorn, daemon.service_host, directory, project)
    name = overlay(directory, f"volume-{volume['id']}")
    listed = cinder(gunicorn, project, "snapshot-manageable-list", daemon.service_host)
    [line] = [line for line in listed.splitlines() if name in line]
    assert "True" in line and f"volume-{volume['id']}" in line
    managed = cinder(gunicorn, project, "snapshot-manage", volume["id"], name, "--name", "it")
    snapshot_id = cell(managed, "id")
    done = wait(gunicorn, project, f"snapshots/{snapshot_id}", "snapshot", ("creating",))
    assert done["status"] == "available", done
    shown = cinder(gunicorn, project, "snapshot-show", snapshot_id)
    assert (cell(shown, "status"), cell(shown, "name"), cell(shown, "size")) == (
        "available", "it", "1"
    )  # fmt: skip
    assert snapshot_id in cinder(gunicorn, project, "snapshot-list")
    cinder(gunicorn, project, "snapshot-unmanage", snapshot_id)
    gone = wait(gunicorn, project, f"snapshots/{snapshot_id}", "snapshot", ("unmanaging",))
    assert gone["status"] == "gone"
    assert (directory / f"snapshot-{snapshot_id}").exists()


def test_a_volume_daemon_killed_after_the_rename_finishes_the_snapshot_on_restart(
    images: tuple[daemons.Daemon, Path], gunicorn: str, db: db_api.Database
) -> None:
    daemon, directory = images
    project = daemons.unique_name("snapkill")
    volume = managed_volume(gunicorn, daemon.service_host, directory, project)
    name = overlay(directory, f"volume-{volume['id']}")
    before = (directory / name).stat().st_ino
    body = {
        "snapshot": {
            "volume_id": volume["id"],
            "ref": {"source-name": name},
            "metadata": {METADATA_KEY: "kill:ManageSnapshot.after"},
        }
    }
    status, answer = rest(gunicorn, "POST", "os-snapshot-manage", project, body)
    assert status == 202, answer
    snapshot_id = answer["snapshot"]["id"]
    proc = daemon.proc
    assert proc is not None
    assert proc.wait(timeout=WAIT_SECONDS) == KILLED, daemon.tail()
    daemon.proc = None
    daemon.exit_codes.append(KILLED)
    assert snapshots.get(db, snapshot_id)["status"] == "managing"  # nothing recorded
    daemon.start(db)
    done = wait(gunicorn, project, f"snapshots/{snapshot_id}", "snapshot", ("creating",))
    assert done["status"] == "available", daemon.tail()
    managed = directory / f"snapshot-{snapshot_id}"
    assert managed.stat().st_ino == before and not (directory / name).exists()
    info = json.loads(qemu_img("info", "--output=json", "--backing-chain", str(managed)))
    assert info[0]["full-backing-filename"] == str(directory / f"volume-{volume['id']}")
    assert snapshot_recovery.transitional(db, ("managing", "unmanaging")) == []
    assert quota_audit.check(db) == []
