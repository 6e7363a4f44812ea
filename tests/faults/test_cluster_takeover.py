"""A three-member cluster keeps managing through the loss of a member.

Three volume daemons (``itnode``, ``itnode2``, ``itnode3``, all ``[DEFAULT] cluster =
c1``, backend ``files``) serve one file backend: one shared directory, one RabbitMQ
vhost, one PostgreSQL database of this module's own. A flood of manage requests is
sent to the cluster ``c1@files``; in its middle the member that holds the most
claims is stopped (SIGSTOP, so that the claims read are the ones it dies with), then
killed with SIGKILL (its whole process group) and never restarted. Then:

* every request is terminal (``available``; ``error_managing`` only with a reason);
* the five invariants hold (quota, every object under exactly one name, each
  available volume's object under its managed name, no row left ``managing``);
* the requests the dead member held (its claims at the moment it died) were finished
  by the survivors, without operator action, within a bound set by ``[recovery]
  stale_after`` (3 s here) and ``interval`` (1 s): the takeover time is printed;
* each volume was made available by exactly one member, the dead one only before it
  died; and the cluster still takes new requests afterwards.

The fault table (per member: volumes finished, claims held when the victim died,
requests taken over) and the takeover time are printed (``pytest -s``).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa

from tests.faults import cluster_support
from tests.faults.conftest import (
    FAST_RECOVERY,
    Env,
    admin_context,
    alive,
    assert_invariants,
    volume_rows,
)
from tests.integration import daemons
from volmgr_common.db import models

CLUSTER_NAME = "c1"
OWN_ENV: dict[str, dict[str, Any]] = {"DEFAULT": {"cluster": CLUSTER_NAME}}
EXTRA_MEMBERS = ("itnode2", "itnode3")
REQUESTS = 1000
PROJECTS = 4
WORKERS = 16
CALL_TIMEOUT = 30
KILL_AFTER = REQUESTS // 3  # rows written before the victim is chosen
FLOOD_BOUND = 240.0  # seconds for the whole flood to be sent
# Takeover: a claim is stale after stale_after seconds unrenewed, a scan runs every
# interval; the survivors then run the flow. The bound leaves room for a busy host.
TAKEOVER_BOUND = 4 * FAST_RECOVERY["recovery"]["stale_after"] + 10.0


def _claims(env: Env, instance: str) -> list[str]:
    """Ids of the ``managing`` rows the process ``instance`` holds a claim on."""
    v = models.Volume
    stmt = sa.select(v.id).where(v.status == "managing", v.flow_owner.like(f"{instance}:%"))
    with env.db.engine.connect() as connection:
        return list(connection.scalars(stmt))


def _row_count(env: Env, projects: list[str]) -> int:
    stmt = sa.select(sa.func.count()).where(models.Volume.project_id.in_(projects))
    with env.db.engine.connect() as connection:
        return int(connection.scalar(stmt) or 0)


def _wait_terminal(env: Env, ids: list[str], since: float, bound: float) -> float:
    """Seconds from ``since`` until every row of ``ids`` is terminal (polled)."""
    v = models.Volume
    stmt = sa.select(sa.func.count()).where(v.id.in_(ids), v.status.in_(("managing",)))
    while True:
        with env.db.engine.connect() as connection:
            left = int(connection.scalar(stmt) or 0)
        elapsed = time.monotonic() - since
        if not left:
            return elapsed
        assert elapsed < bound, f"{left} of the victim's {len(ids)} claims still managing"
        time.sleep(0.05)


def _freeze_a_member_holding_claims(
    env: Env, members: list[daemons.Daemon], instances: dict[str, str]
) -> tuple[daemons.Daemon | None, list[str]]:
    """The member holding most claims, stopped (SIGSTOP), and the claims it holds.

    A claim lives for milliseconds: read while the member runs, its claims may all
    be finished before the SIGKILL lands. Stopped, it can neither finish nor renew
    them, so what is read is what it holds when it dies. A member found holding
    nothing once stopped is let go on (SIGCONT): (None, []).
    """
    held = {m.name: len(_claims(env, instances[m.name])) for m in members}
    name, count = max(held.items(), key=lambda item: item[1])
    if not count:
        return None, []
    candidate = next(m for m in members if m.name == name)
    assert candidate.proc is not None
    os.killpg(candidate.proc.pid, signal.SIGSTOP)
    claims = _claims(env, instances[name])
    if claims:
        return candidate, claims
    os.killpg(candidate.proc.pid, signal.SIGCONT)
    return None, []


def test_a_member_killed_mid_flood_is_taken_over_by_the_survivors(env: Env) -> None:
    members = cluster_support.start_members(env, CLUSTER_NAME, EXTRA_MEMBERS)
    cluster = cluster_support.cluster_backend(env, CLUSTER_NAME)
    projects = [f"ft-cluster{p}-{time.monotonic_ns():x}" for p in range(PROJECTS)]
    names = [env.new_object(f"cluster-{i:04d}.img") for i in range(REQUESTS)]
    client = env.client(timeout=CALL_TIMEOUT)
    outcomes: list[dict[str, Any] | Exception | None] = [None] * REQUESTS

    def send(index: int) -> None:
        ctxt = admin_context(projects[index % PROJECTS])
        try:
            outcomes[index] = client.manage(ctxt, cluster, names[index], name=names[index])
        except Exception as error:
            outcomes[index] = error

    started = time.monotonic()
    flood = ThreadPoolExecutor(max_workers=WORKERS)
    sending = threading.Thread(target=lambda: list(flood.map(send, range(REQUESTS))))
    sending.start()
    try:
        # The victim: once a third of the rows exist, the member holding most claims.
        instances = {member.name: cluster_support.instance(member) for member in members}
        victim, held_at_death = None, []
        while victim is None and time.monotonic() - started < FLOOD_BOUND:
            if _row_count(env, projects) >= KILL_AFTER:
                victim, held_at_death = _freeze_a_member_holding_claims(env, members, instances)
            time.sleep(0.02)
        assert victim is not None, "no member ever held a claim"
        env.sigkill(victim)
        killed_at = time.monotonic()
        survivors = [m for m in members if m is not victim]
        print(f"\nkilled {victim.name} {killed_at - started:.1f}s into the flood")
        takeover = _wait_terminal(env, held_at_death, killed_at, TAKEOVER_BOUND)
    finally:
        sending.join(timeout=FLOOD_BOUND)
        flood.shutdown(wait=True)
    sent = time.monotonic()
    assert not sending.is_alive(), "the flood did not end"

    ids = [o["id"] for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if not isinstance(o, dict)]
    assert not refused, f"{len(refused)} calls failed: {refused[:3]}"
    rows = assert_invariants(env, projects, ids, since=sent, timeout=60)
    all_done = time.monotonic() - started

    # Terminal: available, or error_managing with the reason the user sees.
    statuses = Counter(r["status"] for r in rows.values())
    unexplained = [
        r for r in rows.values() if r["status"] != "available" and not r["failure_reason"]
    ]
    assert not unexplained, f"errors without a reason: {unexplained[:3]}"

    # Who did what: each available volume was finished by exactly one member, the
    # victim only before it died; its claims by the survivors. A member logs "is
    # available" after its batch's commit: the victim, frozen between the two, made
    # volumes available that its log does not name; its log names their renames.
    finished = {m.name: cluster_support.finished_by(m) for m in members}
    counted = Counter(v for done in finished.values() for v in done)
    available = {r["id"] for r in rows.values() if r["status"] == "available"}
    unlogged = available - set(counted)
    assert unlogged <= set(cluster_support.renamed_by(victim)), (
        "a volume available without a member finishing it"
    )
    finished[victim.name] += sorted(unlogged)
    counted.update(unlogged)
    assert set(counted) == available
    assert all(n == 1 for n in counted.values()), "a volume finished twice"
    by_survivors = {v for m in survivors for v in finished[m.name]}
    taken_over = set(held_at_death) & by_survivors
    assert set(held_at_death) <= by_survivors | (set(rows) - available), held_at_death
    assert all(alive(m) for m in survivors), "a survivor died"

    print(
        f"{len(ids)} requests: {dict(statuses)}; flood and recovery {all_done:.1f}s; "
        f"takeover of the {len(held_at_death)} claims the victim held: {takeover:.1f}s "
        f"(stale_after {FAST_RECOVERY['recovery']['stale_after']}s, "
        f"scan every {FAST_RECOVERY['recovery']['interval']}s, bound {TAKEOVER_BOUND:.0f}s)"
    )
    print(f"{'member':<32}{'finished':>10}{'held at death':>15}{'taken over':>12}")
    for member in members:
        dead = member is victim
        print(
            f"{member.name + (' (killed)' if dead else ''):<32}{len(finished[member.name]):>10}"
            f"{len(held_at_death) if dead else '':>15}"
            f"{'' if dead else len(taken_over & set(finished[member.name])):>12}"
        )
    assert held_at_death

    # The cluster still takes requests, answered by the survivors.
    after = env.new_object("cluster-after.img")
    volume = client.manage(admin_context(projects[0]), cluster, after, name=after)
    final = assert_invariants(env, projects, [volume["id"]], timeout=30)
    assert final[volume["id"]]["status"] == "available", final[volume["id"]]
    assert {r["id"] for r in volume_rows(env.db, volume_ids=[volume["id"]])} == {volume["id"]}
