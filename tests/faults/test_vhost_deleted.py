"""The broker's vhost deleted under load, then made again.

While manage requests arrive over REST (the message bus is not on the way from a
client to volmgr-api there), ``rabbitmqctl delete_vhost`` removes the cluster's
vhost with every queue and exchange in it and closes every connection to it; three
seconds later the vhost is made again with the same user's permissions. Every
answer meanwhile must be a 202 or a 503, within a bounded time, never a 500; no row
may exist that no client was told about (a request answered 503 leaves no row);
every row ends terminal with the invariants intact; the daemons reconnect by
themselves, and manages work again afterwards (which leaves the shared cluster as
healthy as the test found it: that is the test).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.faults.conftest import (
    Env,
    RabbitUser,
    admin_context,
    assert_invariants,
    rabbitmqctl,
    rest_call,
    rest_manage,
    volume_rows,
)
from tests.integration import daemons

FLOOD = 40
SPREAD = 0.15  # seconds between two requests
GONE_SECONDS = 3.0
ANSWER_BOUND = 30.0  # seconds within which every request is answered


def send(env: Env, project_id: str, name: str, delay: float) -> tuple[Any, float]:
    """One REST manage after ``delay``; its ``(status, body)`` or error, and how long it took."""
    time.sleep(delay)
    started = time.monotonic()
    try:
        outcome: Any = rest_manage(env, admin_context(project_id), name)
    except Exception as error:
        outcome = error
    return outcome, time.monotonic() - started


def kind(outcome: Any) -> str:
    return str(outcome[0]) if isinstance(outcome, tuple) else type(outcome).__name__


def test_vhost_deleted_and_made_again_under_load(
    env: Env, project_id: str, rabbit_user: RabbitUser
) -> None:
    names = [env.new_object(f"vhost-{i:02d}.img") for i in range(FLOOD)]
    back = threading.Event()
    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [
            pool.submit(send, env, project_id, name, i * SPREAD) for i, name in enumerate(names)
        ]
        time.sleep(0.5)
        rabbitmqctl("delete_vhost", env.vhost.name)
        try:
            back.wait(GONE_SECONDS)
        finally:
            rabbitmqctl("add_vhost", env.vhost.name)
            rabbitmqctl("set_permissions", "-p", env.vhost.name, rabbit_user.name, ".*", ".*", ".*")
        results = [f.result() for f in futures]
    made_again = time.monotonic()

    kinds = Counter(kind(outcome) for outcome, _took in results)
    slowest = max(took for _outcome, took in results)
    print(f"\nanswers: {dict(kinds)}, slowest {slowest:.1f}s")
    assert set(kinds) <= {"202", "503"}, f"answers other than 202/503: {kinds}"
    assert kinds["503"], "the vhost was gone and nothing was refused: is the test still valid?"
    assert slowest < ANSWER_BOUND, f"an answer took {slowest:.1f}s"

    told = {o[1]["volume"]["id"] for o, _took in results if kind(o) == "202"}
    rows = {r["id"] for r in volume_rows(env.db, [project_id])}
    assert rows == told, (
        f"rows no client was told about: {sorted(rows - told)}; "
        f"accepted without a row: {sorted(told - rows)}"
    )
    assert_invariants(env, [project_id], sorted(told), since=made_again)
    env.assert_all_running()

    # The daemons reconnected by themselves: a manage goes through all three again.
    name = env.new_object("vhost-after.img")
    ctxt = admin_context(project_id)

    def manage_answered() -> tuple[int, dict[str, Any]] | None:
        status, body = rest_manage(env, ctxt, name)
        return (status, body) if status == 202 else None

    _status, body = daemons.wait_until(manage_answered, 30, "a manage to be accepted", 1.0)
    volume_id = body["volume"]["id"]
    rows_after = assert_invariants(env, [project_id], [volume_id])
    assert rows_after[volume_id]["status"] == "available", rows_after[volume_id]
    status, listed = rest_call(env, ctxt, "GET", f"volumes/{volume_id}")
    assert status == 200 and listed["volume"]["status"] == "available", (status, listed)
    env.assert_all_running()
