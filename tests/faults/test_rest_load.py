"""Load on the REST socket: 20 clients at once, several rounds, against a real volmgr-api.

Each round starts 20 threads behind a barrier; each opens a connection of its own
(urllib) at the same moment and sends one request: a volume listing in some rounds,
a manage in others (a request that holds its server thread for a database
transaction and a cast). Every answer must be a 2xx: no connection reset, no
refused or dropped connection, no 5xx. The manages must then end ``available`` with
the five invariants intact.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from tests.faults.conftest import Env, admin_context, assert_invariants, rest_call, rest_manage

CLIENTS = 20
ROUNDS = ("list", "manage", "list", "manage", "list")
CALL_TIMEOUT = 30


def one_round(env: Env, project_id: str, kind: str, number: int) -> list[Any]:
    """``CLIENTS`` requests sent at once; each its ``(status, body)`` or its error."""
    barrier = threading.Barrier(CLIENTS)
    outcomes: list[Any] = [None] * CLIENTS
    ctxt = admin_context(project_id)
    names = [env.new_object(f"load-{number}-{i:02d}.img") for i in range(CLIENTS)]

    def client(i: int) -> None:
        barrier.wait()
        try:
            if kind == "manage":
                outcomes[i] = rest_manage(env, ctxt, names[i])
            else:
                outcomes[i] = rest_call(env, ctxt, "GET", "volumes/detail", timeout=CALL_TIMEOUT)
        except Exception as error:  # a reset, a refusal, a timeout: what this test counts
            outcomes[i] = error

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=CALL_TIMEOUT + 10)
    return outcomes


def test_twenty_clients_at_once(env: Env, project_id: str) -> None:
    seen: Counter[str] = Counter()
    volume_ids = []
    started = time.monotonic()
    for number, kind in enumerate(ROUNDS):
        for outcome in one_round(env, project_id, kind, number):
            if isinstance(outcome, tuple):
                status, body = outcome
                seen[f"{kind} {status}"] += 1
                if kind == "manage" and status == 202:
                    volume_ids.append(body["volume"]["id"])
            else:
                seen[f"{kind} {type(outcome).__name__}: {outcome}"] += 1
    print(f"\n{len(ROUNDS)} rounds of {CLIENTS} in {time.monotonic() - started:.1f}s: {seen}")
    bad = {what: n for what, n in seen.items() if not what.endswith((" 200", " 202"))}
    assert not bad, f"answers other than 2xx (resets, refusals, 5xx): {bad}"
    rows = assert_invariants(env, [project_id], volume_ids)
    assert all(r["status"] == "available" for r in rows.values()), rows
