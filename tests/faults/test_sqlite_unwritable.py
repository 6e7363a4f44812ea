"""An SQLite database made unwritable under load, then writable again.

The cluster's three daemons share one SQLite file (``SQLITE``). While manage requests
arrive over RPC and REST, the file, its write-ahead log and its directory are made
immutable (``chattr +i``, which binds root too): an open connection then fails
with ``disk I/O error``, a new one with ``attempt to write a readonly database``.
The retries are short here (``db_max_retries = 3``) so that the outage outlasts
them. Every answer meanwhile is an acceptance or a 503 ``DatabaseUnavailable``,
never a 500; after the database is writable again, with no daemon restarted,
every accepted request ends terminal, new manages succeed and the invariants hold.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.faults.conftest import (
    Env,
    SqliteDatabase,
    admin_context,
    assert_invariants,
    manage_or_error,
    rest_manage,
)

OWN_ENV = {"database": {"db_max_retries": 3}}
SQLITE = True

FLOOD = 40
UNWRITABLE_SECONDS = 3.0
CALL_TIMEOUT = 30


def classify(outcome: Any) -> str:
    """What one call got: ``accepted``, ``503``, or what else (the failures)."""
    if isinstance(outcome, tuple):  # REST: (status, body)
        return "accepted" if outcome[0] == 202 else str(outcome[0])
    if isinstance(outcome, dict):
        return "accepted"
    name = type(outcome).__name__.removesuffix("_Remote")
    return "503" if name == "DatabaseUnavailable" else name


def test_sqlite_unwritable_under_load(env: Env, project_id: str) -> None:
    database = env.database
    assert isinstance(database, SqliteDatabase)
    client = env.client(timeout=CALL_TIMEOUT)
    ctxt = admin_context(project_id)
    names = [env.new_object(f"sqlro-{i:02d}.img") for i in range(FLOOD)]
    stop = threading.Event()

    def send(i: int) -> Any:
        time.sleep(i * 0.1)  # spread over the outage
        try:
            if i % 2:
                return rest_manage(env, ctxt, names[i])
            return manage_or_error(env, client, project_id, names[i])
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(send, i) for i in range(FLOOD)]
        time.sleep(0.5)
        database.freeze()
        try:
            stop.wait(UNWRITABLE_SECONDS)
        finally:
            database.thaw()
        outcomes = [f.result() for f in futures]
    writable_at = time.monotonic()

    kinds = Counter(classify(o) for o in outcomes)
    print(f"\nanswers: {dict(kinds)}")
    assert set(kinds) <= {"accepted", "503"}, f"answers other than 202/503: {kinds}"
    assert kinds["503"], "the outage refused nothing: make it longer"
    accepted = [
        o["id"] if isinstance(o, dict) else o[1]["volume"]["id"]
        for o in outcomes
        if classify(o) == "accepted"
    ]
    env.assert_all_running()
    assert_invariants(env, [project_id], accepted, since=writable_at)

    after = [env.new_object(f"sqlro-after-{i}.img") for i in range(3)]
    later = [client.manage(ctxt, env.backend_host, n)["id"] for n in after]
    rows = assert_invariants(env, [project_id], later)
    assert all(rows[v]["status"] == "available" for v in later), [rows[v] for v in later]
    env.assert_all_running()
