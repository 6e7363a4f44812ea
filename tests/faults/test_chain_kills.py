"""kill -9 of each daemon during the adoption of a qcow2 chain, then restart.

A cluster of its own on the image driver. For each hop one request adopts a base
with two overlays (``with_snapshots``) and carries ``_fault = "kill:<Point>"``: the
daemon at that point ends with ``os._exit(137)`` there; the test starts it again.
Afterwards the request is terminal (a crash is not a failure: it ends
``available``), no volume or snapshot row is left transitional, quota equals what
the rows hold with no reservation left, and each file of the chain is either under
its original name with its original backing reference (nothing holds it) or under
its managed name (``volume-<id>``, ``snapshot-<id>``) held by an ``available`` row,
its backing reference naming the managed object below it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import oslo_messaging
import pytest
import sqlalchemy as sa

from tests.faults.conftest import (
    Env,
    admin_context,
    assert_quota_consistent,
    wait_terminal,
)
from volmgr_common.db import models

OWN_ENV: dict[str, dict[str, Any]] = {"volume": {"volume_driver": "image"}}
HOPS = [
    ("AfterEntryCreate", "api"),
    ("SchedulerReceive", "scheduler"),
    ("RecordChain", "volume"),
    ("ManageChain.after", "volume"),
    ("FinishChain", "volume"),
]
API_CALL_TIMEOUT = 6


def qemu_img(*args: str) -> str:
    done = subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, (
        f"qemu-img {' '.join(args)} failed: {done.stderr} (install it: apt-get install "
        "-y qemu-utils)"
    )
    return done.stdout


def make_chain(directory: Path, tag: str) -> dict[str, tuple[int, str | None]]:
    """``<tag>-base`` <- ``<tag>-o1`` <- ``<tag>-o2``: each file's inode and backing
    reference, by original name."""
    base, first, second = (f"{tag}-{kind}.qcow2" for kind in ("base", "o1", "o2"))
    qemu_img("create", "-q", "-f", "qcow2", str(directory / base), "1G")
    for below, above in ((base, first), (first, second)):
        qemu_img("create", "-q", "-f", "qcow2", "-b", below, "-F", "qcow2",
                 str(directory / above))  # fmt: skip
    return {
        name: ((directory / name).stat().st_ino, backing_of(directory / name))
        for name in (base, first, second)
    }


def backing_of(path: Path) -> str | None:
    info = json.loads(qemu_img("info", "--output=json", "-U", str(path)))
    return info.get("backing-filename")


def rows(env: Env, volume_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    v, s = models.Volume, models.Snapshot
    with env.db.engine.connect() as connection:
        volume = connection.execute(sa.select(v).where(v.id == volume_id)).mappings().one()
        snapshots = connection.execute(sa.select(s).where(s.volume_id == volume_id)).mappings()
        return dict(volume), [dict(row) for row in snapshots]


def transitional(env: Env) -> list[str]:
    found = []
    with env.db.engine.connect() as connection:
        for model in (models.Volume, models.Snapshot):
            stmt = sa.select(model.id).where(model.status.in_(("managing", "unmanaging")))
            found += list(connection.execute(stmt).scalars())
    return found


def assert_chain_consistent(
    env: Env, volume_id: str, before: dict[str, tuple[int, str | None]]
) -> str:
    """Every file of the chain under its original name (unheld, as it was) or managed by
    an available row with a valid backing reference; the volume's status."""
    volume, snapshots = rows(env, volume_id)
    by_inode = {p.stat().st_ino: p.name for p in env.directory.iterdir()}
    names = {name: by_inode.get(inode) for name, (inode, _) in before.items()}
    assert None not in names.values(), f"a file of the chain is gone: {names}"
    if volume["status"] == "error_managing":
        assert {name: (p.stat().st_ino, backing_of(p)) for name in before
                for p in [env.directory / name]} == before  # fmt: skip
        assert {s["status"] for s in snapshots} <= {"error_managing"}
        return "error_managing"
    assert volume["status"] == "available", volume
    members = sorted(snapshots, key=lambda s: s["chain_link"]["position"])
    assert [s["status"] for s in members] == ["available", "available"], members
    managed = [volume["provider_location"], *(s["provider_location"] for s in members)]
    assert managed == [f"volume-{volume_id}", *(f"snapshot-{s['id']}" for s in members)]
    assert sorted(names.values()) == sorted(managed), (names, managed)
    for below, above in itertools.pairwise(managed):
        assert backing_of(env.directory / above) == below
    return "available"


@pytest.mark.parametrize(("point", "victim"), HOPS, ids=[p for p, _ in HOPS])
def test_kill_during_a_chain_adoption_then_restart(
    env: Env, project_id: str, point: str, victim: str
) -> None:
    ctxt = admin_context(project_id)
    tag = point.replace(".", "-").lower()
    before = make_chain(env.directory, tag)
    base = f"{tag}-base.qcow2"
    kwargs = {"name": base, "metadata": {"_fault": f"kill:{point}"}, "with_snapshots": True}
    daemon = getattr(env, victim)
    if victim == "api":
        client = env.client(timeout=API_CALL_TIMEOUT)
        with contextlib.suppress(oslo_messaging.MessagingTimeout):  # it died first
            client.manage(ctxt, env.backend_host, base, **kwargs)
        restarted = env.restart_killed(daemon)
        volume_id = wait_terminal(env, [project_id], since=restarted).popitem()[0]
    else:
        accepted = env.client().manage(ctxt, env.backend_host, base, **kwargs)
        volume_id = accepted["id"]
        restarted = env.restart_killed(daemon)
        wait_terminal(env, [project_id], [volume_id], since=restarted)
    deadline = time.monotonic() + 30
    while transitional(env) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert transitional(env) == [], "rows left transitional after the restart"
    assert_quota_consistent(env)
    status = assert_chain_consistent(env, volume_id, before)
    assert status == "available", rows(env, volume_id)[0]["failure_reason"]
    env.assert_all_running()
