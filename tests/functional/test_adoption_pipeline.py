"""The two-stage pipeline of an adoption job on the in-process services: the runner
writes the next batch while the flows of the one before it run, and the job's
``max_in_flight`` holds over both batches together. Every object is a real file on
the file backend."""

import time
from typing import Any

import sqlalchemy as sa

from tests.adoption_support import items_by_name, wait_job, write_plan
from tests.functional.stack import PROJECT, Stack, make_file
from volmgr_common import hooks
from volmgr_common.context import RequestContext
from volmgr_common.db import models
from volmgr_common.db import volumes as volumes_db

ADMIN = RequestContext(user_id="admin", project_id="admin", roles=["admin"])
LIMIT = 4
OVERLAP_WAIT = 20.0


def _files(stack: Stack, count: int) -> list[str]:
    names = [f"obj-{n:03d}.img" for n in range(count)]
    for name in names:
        make_file(stack.files / name, 1024 * 1024)
    return names


def _in_flight(stack: Stack) -> set[str]:
    """The volumes of the job items ``managing`` now (one job runs in these tests)."""
    item = models.AdoptionJobItem
    with stack.db.session(write=False) as session:
        return set(session.scalars(sa.select(item.volume_id).where(item.status == "managing")))


class InFlightProbe:
    """At each manage step of a batch's flows: the items in flight. The first time, it
    holds the first batch's flows until the runner has written a volume of another
    batch (or ``OVERLAP_WAIT`` seconds passed), so that the overlap is seen, not raced."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.seen: list[int] = []
        self.first_batch: set[str] = set()
        self.overlapped = False
        self._held = False

    def __call__(self, point: str, volume: Any) -> None:
        if point == "NotifyStart" and not self._held:
            self.first_batch.add(volume["id"])  # every volume of a batch starts first
        if point != "ManageExisting":
            return
        if not self._held:
            self._held = True
            deadline = time.monotonic() + OVERLAP_WAIT
            while not self._others_in_flight() and time.monotonic() < deadline:
                time.sleep(0.02)
            self.overlapped = self._others_in_flight()
        self.seen.append(len(_in_flight(self.stack)))

    def _others_in_flight(self) -> bool:
        return bool(_in_flight(self.stack) - self.first_batch)


def test_next_batch_is_written_while_the_flows_run_within_the_limit(stack: Stack) -> None:
    names = _files(stack, 11)
    driver = stack.volume_manager()._worker.driver
    plan_id = write_plan(stack.db, driver, stack.backend, names, PROJECT)
    probe = InFlightProbe(stack)
    hooks.register(probe)
    try:
        started = stack.api_manager()._api.adoption_jobs.apply(ADMIN, plan_id, max_in_flight=LIMIT)
        job = wait_job(stack.db, started["id"])
    finally:
        hooks.unregister(probe)
    assert job["status"] == "completed"
    assert job["counters"]["available"] == 11
    # Two batches of LIMIT / 2 were in flight together, never more than LIMIT items.
    assert probe.overlapped and len(probe.first_batch) == LIMIT // 2
    assert probe.seen and max(probe.seen) <= LIMIT
    items = items_by_name(stack.db, job["id"])
    volume_ids = {items[name]["volume_id"] for name in names}
    assert len(volume_ids) == 11  # each object managed once
    for volume_id in volume_ids:
        assert volumes_db.get(stack.db, volume_id)["status"] == "available"
    assert stack.in_use()["volumes"] == 11
