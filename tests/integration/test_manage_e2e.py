"""End-to-end tests of "manage existing" across the three real daemons.

Every test talks to ``volmgr-api`` over RabbitMQ as another service would, lets the
request travel API → scheduler → volume, and checks the outcome where it lands: the
volume's status and reason, the files in the backend directory, quota usage and user
messages in PostgreSQL, and the daemons' log files.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.integration import daemons
from tests.integration.conftest import Cluster
from volmgr_common import exception
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api

MIB = 1024**2
GIB = 1024**3
MANAGER_TASKS = [
    "NotifyStart",
    "PrepareForQuotaReservation",
    "QuotaReserve",
    "ManageExisting",
    "QuotaCommit",
    "OnFinish",
]


def sparse_file(directory: Path, name: str, size: int) -> Path:
    path = directory / name
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def small_file(directory: Path, name: str) -> tuple[Path, bytes]:
    content = os.urandom(4096) + name.encode()
    path = directory / name
    path.write_bytes(content)
    return path, content


def amounts(usage: dict[str, dict[str, int]]) -> dict[str, tuple[int, int]]:
    """``{resource: (in_use, reserved)}`` without the resources that hold nothing."""
    return {
        resource: (u["in_use"], u["reserved"])
        for resource, u in usage.items()
        if u["in_use"] or u["reserved"]
    }


def assert_no_quota_held(db: db_api.Database, project_id: str) -> None:
    usage = daemons.quota_usage(db, project_id)
    assert usage["volumes"]["in_use"] == 0, usage
    assert usage["gigabytes"]["in_use"] == 0, usage
    assert all(u["in_use"] == 0 and u["reserved"] == 0 for u in usage.values()), usage


def assert_failed_and_put_back(
    client: daemons.ApiClient,
    db: db_api.Database,
    ctxt: RequestContext,
    volume_id: str,
    original: Path,
    content: bytes | None,
    reason_pattern: str,
) -> dict[str, Any]:
    """The volume ended error_managing, the file is as before, no quota, a user message."""
    volume = client.wait_for_terminal(volume_id)
    assert volume["status"] == "error_managing", volume
    assert re.search(reason_pattern, volume["failure_reason"] or ""), volume["failure_reason"]
    assert original.is_file() or original.is_symlink(), f"{original} is gone"
    if content is not None:
        assert original.read_bytes() == content
    assert not (original.parent / f"volume-{volume_id}").exists()
    assert_no_quota_held(db, ctxt.project_id)
    messages = daemons.user_messages(db, volume_id)
    assert messages, f"no user message for volume {volume_id}"
    # The user reads Cinder's words; the particulars are the operator's (failure_reason).
    assert all(m["event_id"].startswith("VOLUME_VOLUME_901_") for m in messages), messages
    assert all(m["user_message"].startswith("manage existing volume: ") for m in messages)
    return volume


# -- many at once -----------------------------------------------------------------------


def test_fifty_concurrent_manages(
    cluster: Cluster,
    client: daemons.ApiClient,
    ctxt: RequestContext,
    manage_conf: Path,
) -> None:
    sizes = {f"disk-{i:02d}.img": i * 256 * MIB + 1 for i in range(50)}
    for name, size in sizes.items():
        sparse_file(cluster.directory, name, size)

    def manage(name: str) -> dict[str, Any]:
        return client.manage(ctxt, cluster.backend_host, name, name=name)

    with ThreadPoolExecutor(max_workers=50) as pool:
        accepted = list(pool.map(manage, sizes))
    assert all(v["status"] == "managing" for v in accepted)
    by_name = {v["name"]: v["id"] for v in accepted}
    assert set(by_name) == set(sizes)

    finished = client.wait_all_terminal(list(by_name.values()), timeout=60)
    expected_total = 0
    for name, volume_id in by_name.items():
        volume = finished[volume_id]
        expected = math.ceil(sizes[name] / GIB)
        expected_total += expected
        assert volume["status"] == "available", volume
        assert volume["size"] == expected, (name, volume)
        assert volume["provider_location"] == f"volume-{volume_id}"
        managed = cluster.directory / f"volume-{volume_id}"
        assert managed.is_file() and managed.stat().st_size == sizes[name]
        assert not (cluster.directory / name).exists()

    shown = daemons.run_manage(manage_conf, "quota", "show", ctxt.project_id, "-f", "json")
    usage = {
        row["Resource"]: {"in_use": row["In Use"], "reserved": row["Reserved"]}
        for row in json.loads(shown.stdout)
    }
    type_name = finished[accepted[0]["id"]]["volume_type"]
    assert usage["volumes"]["in_use"] == 50, usage
    assert usage["gigabytes"]["in_use"] == expected_total, usage
    assert usage[f"volumes_{type_name}"]["in_use"] == 50, usage
    assert usage[f"gigabytes_{type_name}"]["in_use"] == expected_total, usage
    assert all(u["reserved"] == 0 for u in usage.values()), usage


# -- one failure per manager task -------------------------------------------------------


@pytest.mark.parametrize("task", MANAGER_TASKS)
def test_fault_in_manager_task_is_reverted(
    task: str,
    cluster: Cluster,
    client: daemons.ApiClient,
    db: db_api.Database,
    ctxt: RequestContext,
) -> None:
    path, content = small_file(cluster.directory, f"fault-{task}.img")
    volume = client.manage(
        ctxt, cluster.backend_host, path.name, metadata={"_fault": f"fail:{task}"}
    )
    assert_failed_and_put_back(
        client, db, ctxt, volume["id"], path, content, rf"Fault injected at {task}\b"
    )


# -- validation errors cross the wire as named exceptions -------------------------------


def test_unknown_volume_type_raises_invalid_volume_type(
    cluster: Cluster, client: daemons.ApiClient, ctxt: RequestContext
) -> None:
    path, _ = small_file(cluster.directory, "typed.img")
    with pytest.raises(exception.InvalidVolumeType, match="'no-such-type' volume type"):
        client.manage(ctxt, cluster.backend_host, path.name, volume_type="no-such-type")
    assert path.exists()


@pytest.mark.parametrize("host", ["no-backend", "a@b#c#d", "bad host@files"])
def test_bad_host_raises_invalid_host(
    host: str, cluster: Cluster, client: daemons.ApiClient, ctxt: RequestContext
) -> None:
    with pytest.raises(exception.InvalidHost):
        client.manage(ctxt, host, "whatever.img")


def test_same_reference_is_managed_once(
    cluster: Cluster,
    client: daemons.ApiClient,
    db: db_api.Database,
    ctxt: RequestContext,
) -> None:
    path, content = small_file(cluster.directory, "twice.img")

    def manage(_: int) -> dict[str, Any] | Exception:
        try:
            return client.manage(ctxt, cluster.backend_host, path.name)
        except exception.ManageExistingAlreadyManaged as error:
            return error

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(manage, range(6)))
    accepted = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(accepted) == 1, outcomes
    assert len(refused) == 5, outcomes
    volume = client.wait_for_terminal(accepted[0]["id"])
    assert volume["status"] == "available", volume
    assert (cluster.directory / f"volume-{volume['id']}").read_bytes() == content

    with pytest.raises(exception.ManageExistingAlreadyManaged, match=volume["id"]):
        client.manage(ctxt, cluster.backend_host, path.name)
    usage = daemons.quota_usage(db, ctxt.project_id)
    assert usage["volumes"]["in_use"] == 1, usage
    assert usage["gigabytes"]["in_use"] == 1, usage


def test_symlink_out_of_the_directory_is_refused(
    cluster: Cluster,
    client: daemons.ApiClient,
    db: db_api.Database,
    ctxt: RequestContext,
    tmp_path: Path,
) -> None:
    outside, content = small_file(tmp_path, "outside.img")
    link = cluster.directory / "escape.img"
    link.symlink_to(outside)
    volume = client.manage(ctxt, cluster.backend_host, link.name)
    assert_failed_and_put_back(client, db, ctxt, volume["id"], link, None, r"symbolic link")
    assert link.is_symlink() and os.readlink(link) == str(outside)
    assert outside.read_bytes() == content


def test_over_quota_ends_error_managing(
    cluster: Cluster,
    client: daemons.ApiClient,
    db: db_api.Database,
    ctxt: RequestContext,
    manage_conf: Path,
) -> None:
    daemons.run_manage(manage_conf, "quota", "set", ctxt.project_id, "gigabytes", "1")
    before = daemons.quota_usage(db, ctxt.project_id)
    path = sparse_file(cluster.directory, "too-big.img", 3 * GIB)
    volume = client.manage(ctxt, cluster.backend_host, path.name)
    assert_failed_and_put_back(client, db, ctxt, volume["id"], path, None, r"exceeds the quota")
    assert path.stat().st_size == 3 * GIB
    after = daemons.quota_usage(db, ctxt.project_id)
    assert amounts(after) == amounts(before)
    assert after["gigabytes"]["limit"] == 1


# -- a volume service that is down when the cast is sent --------------------------------


def test_cast_waits_in_queue_while_volume_service_is_down(
    cluster: Cluster,
    factory: daemons.DaemonFactory,
    client: daemons.ApiClient,
    db: db_api.Database,
    ctxt: RequestContext,
    base_dir: Path,
) -> None:
    directory = base_dir / "backend-restart"
    directory.mkdir()
    volume_daemon = factory.create(
        daemons.VOLUME, name="volmgr-volume-restart", backend_name="restart", directory=directory
    )
    volume_daemon.start(db)
    path, content = small_file(directory, "while-down.img")

    stopping = time.monotonic()
    assert volume_daemon.stop() == 0
    try:
        volume = client.manage(ctxt, volume_daemon.service_host, path.name)
    except exception.ServiceUnavailable as error:
        pytest.fail(
            f"{error} — the volume service took {time.monotonic() - stopping:.1f}s to stop, "
            f"more than service_down_time ({daemons.SERVICE_DOWN_TIME}s) allows"
        )

    # The scheduler placed it (on the pool the stopped service reported) and cast it to
    # the stopped service's queue, where it waits.
    placed = f"{volume_daemon.service_host}#default"
    daemons.wait_until(
        lambda: client.get_volume(ctxt, volume["id"])["host"] == placed,
        10,
        f"the scheduler to place volume {volume['id']} on {placed}",
    )
    time.sleep(1)
    assert client.get_volume(ctxt, volume["id"])["status"] == "managing"
    assert path.read_bytes() == content

    volume_daemon.start(db)
    volume = client.wait_for_terminal(volume["id"], timeout=30)
    assert volume["status"] == "available", volume
    assert (directory / f"volume-{volume['id']}").read_bytes() == content
    assert not path.exists()
    assert volume_daemon.stop() == 0


# -- one request id through all three daemons -------------------------------------------


def test_request_id_is_in_all_three_logs(
    cluster: Cluster, client: daemons.ApiClient, ctxt: RequestContext
) -> None:
    path, _ = small_file(cluster.directory, "traced.img")
    volume = client.manage(ctxt, cluster.backend_host, path.name)
    request_id = volume["request_id"]
    assert request_id == ctxt.request_id
    assert re.fullmatch(r"req-[0-9a-f-]{36}", request_id)
    assert client.wait_for_terminal(volume["id"])["status"] == "available"

    def all_logged() -> bool:
        return all(
            any(request_id in line and volume["id"] in line for line in d.log_text().splitlines())
            for d in cluster.daemons
        )

    daemons.wait_until(all_logged, 10, f"{request_id} in the logs of all three daemons")


# -- daemon hygiene ---------------------------------------------------------------------


@pytest.mark.parametrize("binary", [daemons.API, daemons.SCHEDULER, daemons.VOLUME])
def test_missing_config_file_exits_2(binary: str, tmp_path: Path) -> None:
    missing = tmp_path / "no-such.conf"
    result = subprocess.run(
        [daemons.bin_path(binary), "--config-file", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(missing) in lines[0]


@pytest.mark.parametrize("binary", [daemons.API, daemons.SCHEDULER, daemons.VOLUME])
def test_bad_option_value_exits_2(binary: str, factory: daemons.DaemonFactory) -> None:
    conf = factory.write_config(
        f"bad-value-{binary}", extra={"DEFAULT": {"report_interval": "abc"}}
    )
    result = subprocess.run(
        [daemons.bin_path(binary), "--config-file", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "report_interval" in lines[0]


def test_database_password_never_logged(
    factory: daemons.DaemonFactory, db: db_api.Database, database_url: str
) -> None:
    password = "s3cretpw"
    url = sa.make_url(database_url).set(password=password)
    daemon = factory.create(
        daemons.API,
        name="volmgr-api-password",
        host="pwcheck",
        database_url=url.render_as_string(hide_password=False),
        # Its own exchange: this API worker never takes the other tests' requests.
        extra={"DEFAULT": {"control_exchange": "volmgr-pwcheck"}},
    )
    daemon.start(db)
    assert daemon.stop() == 0
    log = daemon.log_text()
    assert "database.connection" in log, "debug logging of the options is missing"
    assert password not in log
    assert password not in daemon.output_text()
