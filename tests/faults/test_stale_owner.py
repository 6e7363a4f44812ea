"""A flow that lost ownership of its row must leave the backend alone.

Two volume processes serve one backend (the same ``host@backend`` and directory). The
first takes a manage request and is frozen with SIGSTOP in the middle of its flow
(``_fault = "pause:<Point>"``); the second starts, its recovery takes the frozen
flow over and finishes it (``available``, the object under ``volume-<id>``). Then
the first is woken with SIGCONT and goes on with a flow whose row is no longer its
own: it must change nothing on the backend, nothing on the row, and end quietly
(docs/design.rst, "Ownership"). The five invariants must hold, and the volume stays
available under its managed name. Two other requests sent at the same moment
("bystanders", one message with the paused one) are caught in the frozen process
too, in its batch or waiting for the next: the second process resumes them, and
the woken one finds them taken and leaves them alone.

A module of its own with its own cluster, and invariant 3 checked per test object
(``only``), so that what one test leaves behind does not decide another's verdict.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import (
    FAST_RECOVERY,
    TERMINAL_BOUND,
    Env,
    accepted_ids,
    admin_context,
    assert_invariants,
    run_concurrently,
    wait_terminal,
)
from tests.integration import daemons

OWN_ENV: dict[str, dict[str, Any]] = {}
PAUSE_BOUND = 20.0  # seconds for the first process to reach its pause point
AFTER_WAKE = 3.0  # seconds the woken process gets to do (nothing) with its stale flow
BYSTANDERS = 2


def _stopped(pid: int) -> bool:
    """True when the process is stopped by a signal (state T in /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] == "T"


@pytest.mark.parametrize("point", ["ManageExisting", "OnFinish"])
def test_woken_stale_flow_changes_nothing(env: Env, project_id: str, point: str) -> None:
    first = env.volume
    assert first.proc is not None and first.fault_markers is not None
    name = env.new_object(f"stale-owner-{point}.img")
    others = [env.new_object(f"stale-owner-{point}-by{i}.img") for i in range(BYSTANDERS)]
    client, ctxt = env.client(), admin_context(project_id)
    paused = {"_fault": f"pause:{point}"}
    outcomes = run_concurrently(
        [
            lambda: client.manage(ctxt, env.backend_host, name, name=name, metadata=paused),
            *(
                lambda other=other: client.manage(ctxt, env.backend_host, other, name=other)
                for other in others
            ),
        ],
        workers=1 + BYSTANDERS,
    )
    ids = accepted_ids(outcomes)
    assert len(ids) == 1 + BYSTANDERS, outcomes
    volume_id = outcomes[0]["id"]
    pid = first.proc.pid
    marker = first.fault_markers / f"{volume_id}-{point}"
    daemons.wait_until(
        lambda: marker.exists() and _stopped(pid), PAUSE_BOUND, f"{first.name} to pause"
    )

    # A second process of the same backend; it shares the first one's fault markers,
    # so that it does not pause at the same point.
    second = env.factory.create(
        daemons.VOLUME, name=f"volmgr-volume-{point}", directory=env.directory, extra=FAST_RECOVERY
    )
    second.fault_markers = first.fault_markers
    assert second.service_host == first.service_host
    second.start(env.db)
    try:
        started = time.monotonic()
        rows = wait_terminal(env, [project_id], ids, since=started)
        print(f"\npaused at {point}: taken over and finished {time.monotonic() - started:.1f}s")
        assert {r["status"] for r in rows.values()} == {"available"}, rows
        assert (env.directory / f"volume-{volume_id}").exists()

        os.kill(pid, signal.SIGCONT)
        daemons.wait_until(
            lambda: "goes on after its pause" in first.log_text(), 10, f"{first.name} to wake"
        )
        time.sleep(AFTER_WAKE)
        assert first.running, f"{first.name} died after its pause:\n{first.tail()}"
    finally:
        if first.proc is not None and first.proc.poll() is None:
            os.kill(first.proc.pid, signal.SIGCONT)
        second.stop()

    rows = assert_invariants(
        env,
        [project_id],
        ids,
        since=time.monotonic(),
        timeout=TERMINAL_BOUND,
        only={name, *others},
    )
    assert {r["status"] for r in rows.values()} == {"available"}, rows
    row = rows[volume_id]
    assert row["provider_location"] == f"volume-{volume_id}", row
    assert (env.directory / f"volume-{volume_id}").exists()
    assert not (env.directory / name).exists(), "the stale flow put the object back"
