"""SIGKILL-equivalent crashes at every hop of a manage, then restart and check recovery.

For each hook point one request carries ``_fault = "kill:<Point>"``: the fault plugin
the daemon at that hop runs with (``tests/fault_plugin.py``) ends it with
``os._exit(137)`` there, the test starts it again, and the five invariants must hold.
A few ordinary requests ("bystanders") travel at the same time, so a crash also
catches work of other requests in flight.

The killed request itself must end ``available``: recovery resumes it (docs/design.rst,
"Recovery"), a crash is not a failure of the request.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import oslo_messaging
import pytest

from tests.faults.conftest import (
    API_POINTS,
    FAST_RECOVERY,
    SCHEDULER_POINTS,
    VOLUME_POINTS,
    Env,
    admin_context,
    assert_invariants,
    volume_rows,
)
from volmgr_common import exception

HOPS = (
    [(p, "api") for p in API_POINTS]
    + [(p, "scheduler") for p in SCHEDULER_POINTS]
    + [(p, "volume") for p in VOLUME_POINTS]
)
BYSTANDERS = 3
STALE_AFTER = FAST_RECOVERY["recovery"]["stale_after"]
API_CALL_TIMEOUT = 6  # seconds the client waits for an answer from an API that died


@pytest.mark.parametrize(("point", "victim"), HOPS, ids=[p for p, _ in HOPS])
def test_kill_at_hop_then_restart(env: Env, project_id: str, point: str, victim: str) -> None:
    ctxt = admin_context(project_id)
    client = env.client()
    tag = point.replace(".", "-")
    bystanders = [
        client.manage(ctxt, env.backend_host, env.new_object(f"kill-{tag}-by{i}.img"))["id"]
        for i in range(BYSTANDERS)
    ]
    name = env.new_object(f"kill-{tag}.img")
    metadata = {"_fault": f"kill:{point}"}
    daemon = getattr(env, victim)

    if victim == "api":
        # The API dies while the client waits for its answer: the call times out, the
        # row is in the database (find it by project), and only the restarted API's
        # recovery scan can send it on.
        short = env.client(timeout=API_CALL_TIMEOUT)
        with ThreadPoolExecutor(max_workers=1) as pool:
            call = pool.submit(
                short.manage, ctxt, env.backend_host, name, name=name, metadata=metadata
            )
            restarted = env.restart_killed(daemon)
            with pytest.raises(oslo_messaging.MessagingTimeout):
                call.result(timeout=API_CALL_TIMEOUT + 10)
        found = [r for r in volume_rows(env.db, [project_id]) if r["display_name"] == name]
        assert len(found) == 1, f"expected the row the API wrote before dying: {found}"
        victim_id = found[0]["id"]
    else:
        accepted = client.manage(ctxt, env.backend_host, name, name=name, metadata=metadata)
        assert accepted["status"] == "managing", accepted
        victim_id = accepted["id"]
        restarted = env.restart_killed(daemon)

    rows = assert_invariants(env, [project_id], [victim_id, *bystanders], since=restarted)
    print(f"\nkill at {point}: all terminal {time.monotonic() - restarted:.1f}s after restart")
    env.assert_all_running()
    assert set(rows) == {victim_id, *bystanders}, rows
    not_available = {i: (r["status"], r["failure_reason"]) for i, r in rows.items()}
    not_available = {i: s for i, s in not_available.items() if s[0] != "available"}
    assert not not_available, (
        f"after a kill at {point} recovery should resume every request to available: "
        f"{not_available}"
    )
    assert rows[victim_id]["provider_location"] == f"volume-{victim_id}"
    assert not (env.directory / name).exists()


def test_fail_after_entry_create_leaves_nothing(env: Env, project_id: str) -> None:
    """A failure (not a crash) right after the API wrote the row: the caller is told
    the manage failed, so nothing may come of it. docs/design.rst: EntryCreate's revert
    "removes the row and gives the quota back"; the object stays unmanaged.
    """
    ctxt = admin_context(project_id)
    name = env.new_object("fail-after-entry-create.img")
    with pytest.raises(exception.InternalError):
        env.client().manage(
            ctxt, env.backend_host, name, name=name, metadata={"_fault": "fail:AfterEntryCreate"}
        )
    failed_at = time.monotonic()
    # Give the API's recovery scan (stale_after 3 s, every 1 s) time to act on a leftover.
    time.sleep(STALE_AFTER + 3)
    rows = assert_invariants(env, [project_id], since=failed_at)
    leftovers = {i: (r["status"], r["provider_location"]) for i, r in rows.items()}
    assert not leftovers, (
        f"the caller was told the manage failed, yet its row remained and recovery "
        f"went on with it: {leftovers}"
    )
    assert (env.directory / name).exists()
