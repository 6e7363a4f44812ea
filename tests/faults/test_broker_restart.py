"""The broker restarts under load: every accepted request still ends terminal.

The cluster of this module talks to a RabbitMQ node of the suite's own
(:mod:`tests.faults.broker`), which is stopped with ``rabbitmqctl stop`` while 40
manage requests are in flight and started again a second later. The volume
service is paused (SIGSTOP) meanwhile, so that the casts to it wait in its queue;
the queues are not durable (oslo.messaging's default), so those messages are gone
with the broker. The daemons must reconnect by themselves and not die; every request
the API accepted must end terminal with the invariants intact — the lost casts
are found again by the recovery scans, which start from the database — and a
manage sent after the restart must succeed.

The same node restarts in the middle of an adoption job too (the job's runner may
lose its notifications; the job is rows, taken again once its heartbeat is stale):
afterwards every item is terminal, the counters equal the items, and the five
invariants hold. Both tests share this module's node and cluster: one node start
and one cluster for the two.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import oslo_messaging as messaging
import pytest

from tests.faults.broker import BrokerSetupError, PrivateBroker
from tests.faults.conftest import (
    Env,
    RabbitUser,
    accepted_ids,
    admin_context,
    assert_invariants,
    make_env,
    manage_or_error,
    registered,
    volume_rows,
)
from tests.faults.test_adoption_infra import check_job, start_job
from tests.integration.daemons import PostgresDatabase, wait_until

FLOOD = 40
CALL_TIMEOUT = 20
RECONNECT_TIMEOUT = 30
PROBE_TIMEOUT = 5


@pytest.fixture(scope="module")
def broker(suite_dir: Path) -> Iterator[PrivateBroker]:
    try:
        node = PrivateBroker(suite_dir / "private-broker")
        node.start()
    except (BrokerSetupError, OSError) as error:
        pytest.fail(f"fault tests cannot run: {error}", pytrace=False)
    try:
        yield node
    finally:
        node.kill()


@pytest.fixture(scope="module")
def restart_env(
    request: pytest.FixtureRequest,
    suite_dir: Path,
    rabbit_user: RabbitUser,
    broker: PrivateBroker,
    pg_schema_template: PostgresDatabase,
) -> Iterator[Env]:
    with (
        make_env(
            suite_dir,
            "broker-restart",
            rabbit_user,
            broker_url=broker.url,
            template=pg_schema_template,
        ) as made,
        registered(request.config, made),
    ):
        yield made


def test_broker_restart_during_flood(
    restart_env: Env, broker: PrivateBroker, project_id: str
) -> None:
    env = restart_env
    client = env.client(timeout=CALL_TIMEOUT)
    names = [env.new_object(f"restart-{i:02d}.img") for i in range(FLOOD)]

    # The volume service is paused, so that casts wait in its queue (and in its
    # prefetch) when the broker goes down: they are lost with it.
    volume_pid = env.volume.proc.pid if env.volume.proc else None
    assert volume_pid is not None, "the volume service is not running"
    os.kill(volume_pid, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(max_workers=10) as pool:
            futures = [
                pool.submit(manage_or_error, env, client, project_id, name) for name in names
            ]
            time.sleep(1.0)
            in_flight = [r for r in volume_rows(env.db, [project_id]) if r["status"] == "managing"]
            broker.restart(down_seconds=1.0)
            outcomes = [f.result() for f in futures]
    finally:
        os.kill(volume_pid, signal.SIGCONT)
    restarted_at = time.monotonic()
    assert in_flight, "no request was in flight when the broker stopped"

    print(f"\n{len(in_flight)} requests in flight when the broker stopped")
    accepted = accepted_ids(outcomes)
    env.assert_all_running()
    # Rows of calls whose reply was lost are found by project.
    rows = assert_invariants(env, [project_id], accepted, since=restarted_at)
    failed = {r["display_name"]: r["failure_reason"] for r in rows.values() if r["failure_reason"]}
    assert not failed, f"no fault was injected in the requests, yet some failed: {failed}"

    # The daemons reconnect by themselves, each after its own back-off (up to a few
    # seconds after the broker is back); a call sent before the API's queue is declared
    # again is dropped by the broker. Once the API answers a call, a new request must
    # go through all three of them (a cast lost meanwhile is the recovery's to find).
    after_client = env.client(timeout=PROBE_TIMEOUT)

    def api_answers() -> bool:
        try:
            after_client.get_volume(admin_context(project_id), accepted[0])
        except messaging.MessagingTimeout:
            return False
        return True

    wait_until(api_answers, RECONNECT_TIMEOUT, "the API to answer calls again")
    after = env.new_object("after-restart.img")
    volume = after_client.manage(admin_context(project_id), env.backend_host, after, name=after)
    rows = assert_invariants(env, [project_id], [volume["id"]])
    assert rows[volume["id"]]["status"] == "available"
    env.assert_all_running()


def test_broker_restart_during_a_job(
    restart_env: Env, broker: PrivateBroker, project_id: str, tmp_path: Path
) -> None:
    job_id, names = start_job(restart_env, project_id, "brokercut", tmp_path)
    broker.restart(down_seconds=1.0)
    counted = check_job(restart_env, project_id, job_id, names)
    print(f"\nbroker restart during a job: {counted}")
