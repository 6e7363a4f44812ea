"""Broker faults: connections closed mid-flood, and messages lost with their consumer.

``rabbitmqctl close_all_connections`` (limited to this cluster's vhost, so that the
other users of the shared broker keep theirs) drops the connections of the three
daemons and of the test client while 60 manage requests are in flight. Daemons must
reconnect by themselves, no daemon may die, and every request the API accepted must
still end terminal with the invariants intact: a message lost with a connection is
found again by the recovery scans, which start from the database.

A restart of the broker under load is in ``test_broker_restart.py`` (on a RabbitMQ
node of the suite's own).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.faults.conftest import (
    Env,
    accepted_ids,
    admin_context,
    assert_invariants,
    manage_or_error,
    rabbitmqctl,
    volume_rows,
)
from tests.integration import daemons

FLOOD = 60
MAX_CLOSES = 4
CLOSE_EVERY = 0.5  # seconds between two close_all_connections (each takes ~1 s too)
CALL_TIMEOUT = 20


def close_vhost_connections(env: Env) -> None:
    """Close every connection of this cluster's vhost (only that vhost)."""
    rabbitmqctl("close_all_connections", "--vhost", env.vhost.name, "test")


def test_close_all_connections_during_flood(env: Env, project_id: str) -> None:
    client = env.client(timeout=CALL_TIMEOUT)
    names = [env.new_object(f"flood-{i:02d}.img") for i in range(FLOOD)]

    closes = 0
    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(manage_or_error, env, client, project_id, name) for name in names]
        while closes < MAX_CLOSES and not all(f.done() for f in futures):
            time.sleep(CLOSE_EVERY)
            close_vhost_connections(env)
            closes += 1
        outcomes = [f.result() for f in futures]
    closed_at = time.monotonic()
    assert closes >= 1, "the flood was over before the first close: make it bigger"

    print(f"\n{closes} closes")
    accepted = accepted_ids(outcomes)
    env.assert_all_running()
    # Rows of calls that failed on the client side (reply lost) are found by project.
    rows = assert_invariants(env, [project_id], accepted, since=closed_at)
    failed = {r["display_name"]: r["failure_reason"] for r in rows.values()}
    failed = {name: reason for name, reason in failed.items() if reason is not None}
    assert not failed, f"no fault was injected, yet requests failed: {failed}"
    assert all(r["status"] == "available" for r in rows.values())
    env.assert_all_running()


# -- messages lost with their consumer --------------------------------------------------
#
# oslo.messaging acknowledges a message before dispatching it, so a message taken by a
# consumer that then dies is gone. The tests below make that happen deterministically:
# the consumer is SIGKILLed, the message waits in its queue, the queue is purged (the
# message is lost), the consumer starts again. Recovery must finish from the database.


def wait_for_message(env: Env, prefix: str) -> None:
    daemons.wait_until(
        lambda: sum(env.queue_messages(prefix).values()) >= 1,
        15,
        f"a message waiting in the queues of {prefix}",
        interval=0.3,
    )


def wait_placed(env: Env, volume_id: str) -> None:
    daemons.wait_until(
        lambda: volume_rows(env.db, None, [volume_id])[0]["host"].endswith("#default"),
        15,
        f"the scheduler to place volume {volume_id}",
    )


def test_lost_cast_to_scheduler(env: Env, project_id: str) -> None:
    env.sigkill(env.scheduler)
    name = env.new_object("lost-to-scheduler.img")
    volume = env.client().manage(admin_context(project_id), env.backend_host, name, name=name)
    wait_for_message(env, "volmgr-scheduler")
    assert env.purge("volmgr-scheduler") >= 1
    env.scheduler.start(env.db)
    restarted = time.monotonic()
    rows = assert_invariants(env, [project_id], [volume["id"]], since=restarted)
    assert rows[volume["id"]]["status"] == "available", rows


def test_lost_cast_to_volume(env: Env, project_id: str) -> None:
    env.sigkill(env.volume)
    name = env.new_object("lost-to-volume.img")
    volume = env.client().manage(admin_context(project_id), env.backend_host, name, name=name)
    wait_placed(env, volume["id"])
    wait_for_message(env, "volmgr-volume")
    assert env.purge("volmgr-volume") >= 1
    env.volume.start(env.db)
    restarted = time.monotonic()
    rows = assert_invariants(env, [project_id], [volume["id"]], since=restarted)
    assert rows[volume["id"]]["status"] == "available", rows


def test_lost_compensation_to_api(env: Env, project_id: str) -> None:
    """The volume flow fails and reverts; its ``manage_existing_failed`` cast is lost."""
    env.sigkill(env.volume)
    name = env.new_object("lost-compensation.img")
    volume = env.client().manage(
        admin_context(project_id),
        env.backend_host,
        name,
        name=name,
        metadata={"_fault": "fail:QuotaReserve"},
    )
    volume_id = volume["id"]
    wait_placed(env, volume_id)
    env.sigkill(env.api)
    env.volume.start(env.db)  # runs the queued request: fails, notes why, casts to the API
    daemons.wait_until(
        lambda: volume_rows(env.db, None, [volume_id])[0]["failure_reason"],
        15,
        "the volume service to note the failure",
    )
    wait_for_message(env, "volmgr-api")
    assert env.purge("volmgr-api") >= 1
    env.api.start(env.db)
    restarted = time.monotonic()
    rows = assert_invariants(env, [project_id], [volume_id], since=restarted)
    row = rows[volume_id]
    assert row["status"] == "error_managing", row
    assert "Fault injected at QuotaReserve" in (row["failure_reason"] or ""), row
    assert not row["quota_volumes"] and not row["quota_gigabytes"], row
    assert daemons.user_messages(env.db, volume_id), "no user message for the failure"
    assert (env.directory / name).exists()
