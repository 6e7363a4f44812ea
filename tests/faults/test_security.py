"""Security around the fault paths: who may manage, and no broker secret in any log.

* docs/design.rst: policy makes manage admin-only. The REST face enforces it (403 for a
  member); the RPC face is for trusted services and checks no policy. What a
  non-admin context gets over RPC is recorded (``record_property`` "observed"), and
  only what is documented is asserted: whatever happens, the volume is scoped to the
  caller's project and the invariants hold.
* The cluster reaches RabbitMQ as a user of its own with a password; with
  ``debug = true`` and after forced reconnections (the paths most likely to print a
  URL), no log or output of any daemon of the suite may contain that password.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.faults.conftest import (
    Env,
    RabbitUser,
    admin_context,
    assert_invariants,
    rabbitmqctl,
    rest_manage,
    run_concurrently,
)
from volmgr_common import exception
from volmgr_common.context import RequestContext


def member_context(project_id: str) -> RequestContext:
    return RequestContext(user_id="ft-member", project_id=project_id, roles=["member"])


def test_non_admin_manage_over_rest_is_forbidden(env: Env, project_id: str) -> None:
    name = env.new_object("rest-member.img")
    status, body = rest_manage(env, member_context(project_id), name)
    assert status == 403, (status, body)
    assert (env.directory / name).exists()

    status, body = rest_manage(env, admin_context(project_id), name)
    assert status == 202, (status, body)
    rows = assert_invariants(env, [project_id], [body["volume"]["id"]])
    assert [r["status"] for r in rows.values()] == ["available"]


def test_non_admin_manage_over_rpc(
    env: Env, project_id: str, record_property: pytest.RecordProperty
) -> None:
    """Observed, not prescribed: the RPC face trusts its callers."""
    client = env.client()
    member = member_context(project_id)
    name = env.new_object("rpc-member.img")
    try:
        volume = client.manage(member, env.backend_host, name, name=name)
    except exception.VolmgrException as error:
        record_property("observed", f"refused: {type(error).__name__}: {error}")
        print(f"\nnon-admin manage over RPC: refused ({type(error).__name__}: {error})")
        assert (env.directory / name).exists()
        assert_invariants(env, [project_id])
        return
    rows = assert_invariants(env, [project_id], [volume["id"]])
    row = rows[volume["id"]]
    observed = f"accepted: volume {volume['id']} of project {row['project_id']} -> {row['status']}"
    record_property("observed", observed)
    print(f"\nnon-admin manage over RPC: {observed}")
    assert row["project_id"] == project_id, "a volume landed in another project"
    # Project scoping (volmgr_api/api.py): the caller sees it, another project does not.
    assert client.get_volume(member, volume["id"])["id"] == volume["id"]
    with pytest.raises(exception.VolumeNotFound):
        client.get_volume(member_context(f"{project_id}-other"), volume["id"])


def test_rabbit_password_never_logged(
    env: Env, project_id: str, rabbit_user: RabbitUser, suite_dir: Any
) -> None:
    client = env.client()
    names = [env.new_object(f"secret-{i}.img") for i in range(5)]
    jobs = [
        lambda n=n: client.manage(admin_context(project_id), env.backend_host, n, name=n)
        for n in names
    ]
    outcomes = run_concurrently(jobs, workers=5)
    # Force every daemon through its reconnection (and error-logging) path.
    rabbitmqctl("close_all_connections", "--vhost", env.vhost.name, "password check")
    time.sleep(3)
    rows = assert_invariants(env, [project_id], [o["id"] for o in outcomes if isinstance(o, dict)])
    assert rows
    env.assert_all_running()

    log = env.api.log_text()
    assert "transport_url" in log, "debug logging of the options is missing"
    assert re.search(r"CONNECTION_FORCED|[Rr]econnect", env.volume.log_text()), (
        "the volume service did not log its reconnection: was the connection closed?"
    )
    leaks = []
    checked = 0
    for path in sorted(suite_dir.rglob("*")):
        if path.suffix not in (".log", ".out") or not path.is_file():
            continue
        checked += 1
        text = path.read_text(errors="replace")
        if rabbit_user.password in text:
            lines = [line for line in text.splitlines() if rabbit_user.password in line]
            leaks.append(f"{path}: {lines[:3]}")
    assert checked >= 6, f"only {checked} log files found under {suite_dir}"
    assert not leaks, "the RabbitMQ password is in logs:\n" + "\n".join(leaks)
