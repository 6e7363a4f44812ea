"""Durable quorum queues: the daemons run with ``rabbit_quorum_queue`` on a vhost of their own.

A cluster that survives a broker node failure declares its queues as quorum queues
(``[oslo_messaging_rabbit] rabbit_quorum_queue = true``) and its exchanges durable
(``amqp_durable_queues = true``). A small manage must work there as anywhere, and the
service queues must really be quorum queues.
"""

from __future__ import annotations

from typing import Any

from tests.faults.conftest import (
    Env,
    admin_context,
    assert_invariants,
    rabbitmqctl,
    run_concurrently,
)

OWN_ENV: dict[str, dict[str, Any]] = {
    "oslo_messaging_rabbit": {"rabbit_quorum_queue": True, "amqp_durable_queues": True}
}
REQUESTS = 5
SERVICE_TOPICS = ("volmgr-api", "volmgr-scheduler", "volmgr-volume")


def queue_types(env: Env) -> dict[str, tuple[str, str]]:
    """``{queue name: (type, durable)}`` of the cluster's vhost."""
    listed = rabbitmqctl(
        "list_queues", "--vhost", env.vhost.name, "--no-table-headers", "name", "type", "durable"
    )
    queues = {}
    for line in listed.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            queues[parts[0]] = (parts[1], parts[2])
    return queues


def test_manage_with_quorum_queues(env: Env, project_id: str) -> None:
    client = env.client()
    names = [env.new_object(f"quorum-{i}.img") for i in range(REQUESTS)]
    outcomes = run_concurrently(
        [
            lambda n=name: client.manage(admin_context(project_id), env.backend_host, n, name=n)
            for name in names
        ],
        workers=REQUESTS,
    )
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert not errors, errors
    rows = assert_invariants(env, [project_id], [o["id"] for o in outcomes])
    assert len(rows) == REQUESTS
    assert {r["status"] for r in rows.values()} == {"available"}, rows

    queues = queue_types(env)
    for topic in SERVICE_TOPICS:
        assert queues.get(topic, ("missing", ""))[0] == "quorum", (topic, queues)
        assert queues[topic][1] == "true", (topic, queues)
