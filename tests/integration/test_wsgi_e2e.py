"""A manage through gunicorn: the WSGI workers take REST, the daemons do the rest.

The real ``openstack`` and ``cinder`` commands manage, list and unmanage through it
too, and ``volmgr audit`` finds and clears drift through it.

gunicorn serves ``volmgr_api.wsgi`` with the deployment's config (RabbitMQ vhost,
PostgreSQL); its workers run the REST app and the RPC clients only. The manage it
accepts travels to the running scheduler and volume daemons and ends ``available``;
``/healthcheck`` reports the real database and broker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import wsgi_support
from tests.integration import daemons
from tests.integration.conftest import Cluster

ADMIN = {"X-User-Id": "admin", "X-Project-Id": "wsgi-it"}
WAIT_SECONDS = 30.0


@pytest.fixture(scope="module")
def gunicorn(factory: daemons.DaemonFactory, cluster: Cluster) -> Iterator[str]:
    config = factory.write_config("gunicorn")
    with wsgi_support.gunicorn(config, factory.base_dir / "gunicorn" / "gunicorn.out") as url:
        yield url


def test_healthcheck_reaches_postgresql_and_rabbitmq(gunicorn: str) -> None:
    status, headers, body = wsgi_support.request(
        f"{gunicorn}/healthcheck", headers={"Accept": "application/json"}
    )
    assert status == 200, body
    assert json.loads(body)["reasons"] == ["postgresql database: OK", "message bus (rabbit): OK"]
    assert headers["x-openstack-request-id"].startswith("req-")


def test_a_manage_through_gunicorn_ends_available(gunicorn: str, cluster: Cluster) -> None:
    name = f"wsgi-{daemons.unique_name('disk')}.img"
    with (cluster.directory / name).open("wb") as image:
        image.truncate(1024**3)
    body = {"volume": {"host": cluster.backend_host, "ref": {"source-name": name}}}
    base = f"{gunicorn}/v3/wsgi-it"
    status, headers, answer = wsgi_support.request(f"{base}/os-volume-manage", "POST", ADMIN, body)
    assert status == 202, answer
    request_id = headers["x-openstack-request-id"]
    volume_id = json.loads(answer)["volume"]["id"]
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status, _, answer = wsgi_support.request(f"{base}/volumes/{volume_id}", headers=ADMIN)
        volume = json.loads(answer)["volume"]
        if volume["status"] != "creating" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert volume["status"] == "available", volume
    assert (cluster.directory / f"volume-{volume_id}").exists()
    assert request_id in cluster.volume.log_text()  # the request id travelled with the cast


def _client(program: str, auth: list[str], *args: str) -> str:
    """What the real ``cinder`` or ``openstack`` command printed (exit 0 required)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CINDER"))}
    env["OS_CLIENT_CONFIG_FILE"] = os.devnull  # no clouds.yaml of the machine
    command = [str(Path(sys.executable).with_name(program)), *auth, *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, f"{command}: {done.stderr}"
    return done.stdout


def test_the_real_clients_manage_list_and_unmanage_on_the_daemons(
    gunicorn: str, cluster: Cluster
) -> None:
    project = daemons.unique_name("clients")
    name = f"{daemons.unique_name('osc')}.img"
    with (cluster.directory / name).open("wb") as image:
        image.truncate(1024**3)
    osc = ["--os-auth-type", "volmgr-noauth", "--os-endpoint", f"{gunicorn}/v3",
           "--os-user-id", "admin", "--os-project-id", project]  # fmt: skip
    cinder = ["--os-auth-type", "noauth", "--os-user-id", "admin", "--os-project-id", project,
              "--os-endpoint", f"{gunicorn}/v3/{project}"]  # fmt: skip
    create = ["volume", "create", "--remote-source", f"source-name={name}",
              "--host", cluster.backend_host, "adopted", "-f", "json"]  # fmt: skip
    created = json.loads(_client("openstack", osc, *create))
    deadline = time.monotonic() + WAIT_SECONDS
    status = created["status"]
    while status == "creating" and time.monotonic() < deadline:
        time.sleep(0.5)
        status = _client(
            "openstack", osc, "volume", "show", "adopted", "-f", "value", "-c", "status"
        )
        status = status.strip()
    assert status == "available"
    listed = _client("cinder", cinder, "list")
    assert created["id"] in listed and "adopted" in listed and "available" in listed
    _client("openstack", osc, "volume", "delete", "--remote", "adopted")
    assert created["id"] not in _client("cinder", cinder, "list")
    assert (cluster.directory / f"volume-{created['id']}").exists()  # unmanaged, not deleted


def test_volmgr_audit_finds_and_clears_drift_on_the_daemons(
    gunicorn: str, cluster: Cluster, tmp_path: Path
) -> None:
    """``volmgr audit`` through gunicorn: the volume daemon audits its directory (RPC
    1.2 over RabbitMQ), records the drift in PostgreSQL, and clears it once the file
    is back."""
    project = daemons.unique_name("audit")
    volmgr = [str(Path(sys.executable).with_name("volmgr")), "--endpoint", f"{gunicorn}/v3",
              "--user", "admin", "--project", project, "-f", "json"]  # fmt: skip
    name = f"{daemons.unique_name('audit')}.img"
    with (cluster.directory / name).open("wb") as image:
        image.truncate(1024**3)

    def run(*args: str) -> object:
        done = subprocess.run([*volmgr, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    volume = run("manage", cluster.backend_host, name, "--wait")
    assert isinstance(volume, dict) and volume["status"] == "available", volume
    managed = cluster.directory / f"volume-{volume['id']}"
    managed.rename(tmp_path / "aside.img")
    summary = run("audit", cluster.backend_host)
    assert isinstance(summary, dict)
    assert {
        "volume_id": volume["id"],
        "kind": "missing",
        "found": {"name": None, "identity": None},
    } in summary["drifts"]
    drifted = run("list", "--drifted")
    assert [row["ID"] for row in drifted] == [volume["id"]]  # type: ignore[index, union-attr]
    (tmp_path / "aside.img").rename(managed)
    summary = run("audit", cluster.backend_host)
    assert isinstance(summary, dict) and summary["cleared"] >= 1
    assert run("list", "--drifted") == []


def test_a_plan_through_gunicorn_is_made_by_the_volume_daemon(
    gunicorn: str, cluster: Cluster
) -> None:
    """The plan call crosses RabbitMQ to the real volume daemon, which reads the
    directory and stores the plan in PostgreSQL; nothing on the backend changes."""
    prefix = f"plan-{daemons.unique_name('disk')}-"
    for n in range(3):
        with (cluster.directory / f"{prefix}{n}").open("wb") as image:
            image.truncate((n + 1) * 1024**3)
    before = sorted(os.listdir(cluster.directory))
    body = {"plan": {"host": cluster.backend_host, "filters": {"name": f"{prefix}*"}}}
    base = f"{gunicorn}/v3/wsgi-it"
    status, _, answer = wsgi_support.request(f"{base}/os-adoption-plans", "POST", ADMIN, body)
    assert status == 200, answer
    plan = json.loads(answer)["plan"]
    assert (plan["totals"]["manage"], plan["totals"]["gigabytes"]) == (3, 6)
    status, _, answer = wsgi_support.request(
        f"{base}/os-adoption-plans/{plan['id']}", headers=ADMIN
    )
    items = json.loads(answer)["plan"]["items"]
    assert [item["source_name"] for item in items] == [f"{prefix}{n}" for n in range(3)]
    assert sorted(os.listdir(cluster.directory)) == before
    assert plan["id"] in cluster.volume.log_text()  # made by the volume daemon
