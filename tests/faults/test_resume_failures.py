"""A crash late in the volume flow, then a resumed flow that cannot go on as before.

Recovery resumes a flow whose volume service died by running it again from the
start (docs/design.rst, "Recovery"): every step is meant to be idempotent. These
tests make the resumed run differ from the first one:

* the object was already renamed by the dead run, and the resumed run fails before
  it reaches ``ManageExisting`` (its quota was lowered meanwhile): the request must
  still end with the object back under its original name (invariant 3);
* the project's gigabytes quota is exactly filled by the request: the gigabytes the
  dead run committed belong to this request and must not make the resumed run fail.

A module of its own with its own cluster, and invariant 3 checked per test object
(``only``), so that what one test leaves behind does not decide another's verdict.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.faults.conftest import KILLED, Env, admin_context, assert_invariants, wait_terminal
from tests.integration import daemons

OWN_ENV: dict[str, dict[str, Any]] = {}


def test_kill_after_rename_then_resumed_flow_fails(env: Env, project_id: str) -> None:
    """The volume service dies after renaming the object; while it is down the project's
    gigabytes quota is lowered to 0, so the resumed flow fails at QuotaReserve. The
    request must end ``error_managing`` with the object back under its original name
    (invariant 3): the rename of the dead run must be undone too.
    """
    ctxt = admin_context(project_id)
    name = env.new_object("kill-rename-then-fail.img")
    volume = env.client().manage(
        ctxt, env.backend_host, name, name=name, metadata={"_fault": "kill:ManageExisting.after"}
    )
    assert env.wait_dead(env.volume) == KILLED
    assert (env.directory / f"volume-{volume['id']}").exists(), "the kill came before the rename"
    daemons.run_manage(env.manage_conf, "quota", "set", project_id, "gigabytes", "0")
    env.volume.start(env.db)
    restarted = time.monotonic()
    rows = assert_invariants(env, [project_id], [volume["id"]], since=restarted, only={name})
    row = rows[volume["id"]]
    assert row["status"] == "error_managing", row
    assert "quota" in (row["failure_reason"] or ""), row
    assert (env.directory / name).exists()


@pytest.mark.parametrize("point", ["QuotaCommit", "OnFinish"])
def test_kill_late_with_project_at_its_gigabytes_limit(
    env: Env, project_id: str, point: str
) -> None:
    """A project whose gigabytes quota the request fills exactly (limit 1, a 1 GiB
    object). The volume service dies late in the flow and is restarted with nothing
    else changed: the resumed flow must finish the request (``available``) — the
    gigabytes the first run committed or reserved belong to this very request.
    """
    daemons.run_manage(env.manage_conf, "quota", "set", project_id, "gigabytes", "1")
    name = env.new_object(f"kill-at-limit-{point}.img")
    volume = env.client().manage(
        admin_context(project_id),
        env.backend_host,
        name,
        name=name,
        metadata={"_fault": f"kill:{point}"},
    )
    restarted = env.restart_killed(env.volume)
    row = wait_terminal(env, [project_id], [volume["id"]], since=restarted)[volume["id"]]
    assert row["status"] == "available", (
        f"the resumed flow failed on the quota its own first run holds: {row['failure_reason']}"
    )
    assert_invariants(env, [project_id], [volume["id"]], since=restarted, only={name})
