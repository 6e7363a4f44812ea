"""Database faults under load: the database goes away for a moment, or turns read-only.

While 40 manage requests are in flight, the throwaway PostgreSQL database of the
cluster refuses new connections and has every open one ended (``ALLOW_CONNECTIONS
false`` + ``pg_terminate_backend``) for two seconds, twice — what the daemons see of
a database restart or a short outage, without stopping the server that other users
share. Transactions are retried by tenacity; a request whose retries run out stays
in a transitional status until the recovery scans finish it. No daemon may die, and
every accepted request must end terminal with the invariants intact.

The same database then turns read-only for three seconds (SQLSTATE 25006, what a hot
standby or a frozen database answers) and writable again: calls are accepted or
refused with ``DatabaseUnavailable``, never with an internal error, and the daemons'
connections recover by themselves. (An SQLite database made unwritable is in
``test_sqlite_unwritable.py``.)
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.faults.conftest import (
    Env,
    accepted_ids,
    admin_context,
    assert_invariants,
    manage_or_error,
)

FLOOD = 40
OUTAGES = 2
OUTAGE_SECONDS = 2.0
CALL_TIMEOUT = 30
READ_ONLY_SECONDS = 3.0


def test_short_database_outages_during_flood(env: Env, project_id: str) -> None:
    client = env.client(timeout=CALL_TIMEOUT)
    names = [env.new_object(f"dbcut-{i:02d}.img") for i in range(FLOOD)]

    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(manage_or_error, env, client, project_id, name) for name in names]
        for _ in range(OUTAGES):
            time.sleep(0.3)
            env.database.cut_off()
            try:
                time.sleep(OUTAGE_SECONDS)
            finally:
                env.database.reopen()
        outcomes = [f.result() for f in futures]
    reopened_at = time.monotonic()
    env.db.dispose()  # the test's own pooled connections were ended too

    accepted = accepted_ids(outcomes)
    assert accepted, "no request was accepted"
    env.assert_all_running()
    rows = assert_invariants(env, [project_id], accepted, since=reopened_at)
    failed = {r["display_name"]: r["failure_reason"] for r in rows.values() if r["failure_reason"]}
    assert not failed, f"no fault was injected in the requests, yet some failed: {failed}"
    env.assert_all_running()


# -- a database that turns read-only, then writable again -------------------------------


def outcome_kind(outcome: dict[str, Any] | Exception) -> str:
    """``accepted``, or the name of the error a manage call raised."""
    return "accepted" if isinstance(outcome, dict) else type(outcome).__name__


def test_database_read_only_for_a_while(env: Env, project_id: str) -> None:
    """``default_transaction_read_only = on`` on the cluster's database (as a standby or
    a database an operator froze answers: SQLSTATE 25006), with every session ended so
    that the daemons reconnect into it; three seconds later ``off`` again, without
    ending the sessions that were opened read-only.

    Calls made meanwhile are accepted or refused with ``DatabaseUnavailable``, never
    an internal error; once the database is writable the daemons' connections recover
    by themselves (no restart), recovery finishes every accepted request, and new
    manages succeed.
    """
    client = env.client(timeout=CALL_TIMEOUT)
    names = [env.new_object(f"dbro-{i:02d}.img") for i in range(FLOOD)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(manage_or_error, env, client, project_id, name) for name in names]
        time.sleep(0.3)
        env.database.read_only(True)
        try:
            time.sleep(READ_ONLY_SECONDS)
        finally:
            env.database.read_only(False, end_sessions=False)
        outcomes = [f.result() for f in futures]
    writable_at = time.monotonic()
    env.db.dispose()  # the test's own pooled connections were opened read-only too

    kinds = Counter(outcome_kind(o) for o in outcomes)
    print(f"\nwhile read-only: {dict(kinds)}")
    assert set(kinds) <= {"accepted", "DatabaseUnavailable"}, kinds
    accepted = accepted_ids(outcomes)
    env.assert_all_running()
    assert_invariants(env, [project_id], accepted, since=writable_at)

    after = [env.new_object(f"dbro-after-{i}.img") for i in range(3)]
    later = [client.manage(admin_context(project_id), env.backend_host, n)["id"] for n in after]
    rows = assert_invariants(env, [project_id], later)
    assert all(rows[v]["status"] == "available" for v in later), [rows[v] for v in later]
    env.assert_all_running()
