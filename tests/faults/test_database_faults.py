"""Database faults under load: the cluster's database goes away for a moment, twice.

While 40 manage requests are in flight, the throwaway PostgreSQL database of the
cluster refuses new connections and has every open one ended (``ALLOW_CONNECTIONS
false`` + ``pg_terminate_backend``) for two seconds, twice — what the daemons see of
a database restart or a short outage, without stopping the server that other users
share. Transactions are retried by tenacity; a request whose retries run out stays
in a transitional status until the recovery scans finish it. No daemon may die, and
every accepted request must end terminal with the invariants intact.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.faults.conftest import Env, accepted_ids, assert_invariants, manage_or_error

FLOOD = 40
OUTAGES = 2
OUTAGE_SECONDS = 2.0
CALL_TIMEOUT = 30


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
