"""A mixed run: hundreds of manages with random failures and crashes of every daemon.

220 requests in 8 projects: about 30 % carry ``fail:<random point>``, seven carry a
``kill:`` fault (the API twice, the scheduler twice, the volume service three times,
spread over the run), ten objects are asked for twice at once, and the rest are
plain. A reviver thread polls every daemon and starts again each one it finds dead,
as an init system would. At the end every request is terminal and the five
invariants hold, and each outcome is the one its fault calls for.

The random choices come from a seed printed at the start (``FAULTS_SEED`` replays one).
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import oslo_messaging

from tests.faults.conftest import (
    ALL_POINTS,
    KILLED,
    VOLUME_POINTS,
    Env,
    admin_context,
    alive,
    assert_invariants,
)
from volmgr_common import exception

OBJECTS = 210
DUPLICATED = 10  # objects asked for by two requests at once
PROJECTS = 8
FAIL_SHARE = 0.30
WORKERS = 16
CALL_TIMEOUT = 10
OWN_ENV: dict[str, dict[str, Any]] = {}  # a cluster of its own
MAX_RESTARTS = 6  # per daemon: a daemon that keeps dying is a failure, not a loop


@dataclass
class Request:
    """One manage request of the run and what became of it."""

    index: int
    project_id: str
    source_name: str
    name: str
    fault: str | None = None
    outcome: dict[str, Any] | Exception | None = None

    @property
    def action(self) -> str | None:
        return self.fault.partition(":")[0] if self.fault else None

    @property
    def point(self) -> str | None:
        return self.fault.partition(":")[2] if self.fault else None


class Reviver(threading.Thread):
    """Starts again every daemon of ``env`` that it finds dead (polls ``proc.poll()``)."""

    def __init__(self, env: Env) -> None:
        super().__init__(name="reviver", daemon=True)
        self.env = env
        self.deaths: Counter[str] = Counter()
        self.problems: list[str] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.05):
            for daemon in self.env.daemons:
                proc = daemon.proc
                if proc is None or proc.poll() is None:
                    continue
                daemon.exit_codes.append(proc.returncode)
                daemon.proc = None
                self.deaths[daemon.name] += 1
                if proc.returncode != KILLED:
                    self.problems.append(f"{daemon.name} exited {proc.returncode}")
                if self.deaths[daemon.name] > MAX_RESTARTS:
                    self.problems.append(f"{daemon.name} died more than {MAX_RESTARTS} times")
                    continue
                try:
                    daemon.start(self.env.db)
                except AssertionError as error:
                    self.problems.append(f"restart of {daemon.name}: {error}")

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=60)


@contextmanager
def reviving(env: Env) -> Iterator[Reviver]:
    reviver = Reviver(env)
    reviver.start()
    try:
        yield reviver
    finally:
        reviver.stop()


def plan(rng: random.Random) -> list[Request]:
    projects = [f"ft-mix{p}-{rng.getrandbits(32):08x}" for p in range(PROJECTS)]
    requests: list[Request] = []
    for i in range(OBJECTS):
        source = f"mix-{i:03d}.img"
        requests.append(Request(i, projects[i % PROJECTS], source, source))
    kills = {
        30: "kill:AfterEntryCreate",
        60: "kill:SchedulerReceive",
        90: f"kill:{rng.choice(VOLUME_POINTS)}",
        120: "kill:AfterEntryCreate",
        150: "kill:SchedulerReceive",
        170: "kill:ManageExisting.after",
        195: f"kill:{rng.choice(VOLUME_POINTS)}",
    }
    duplicated = set(rng.sample([i for i in range(OBJECTS) if i not in kills], DUPLICATED))
    for request in requests:
        if request.index in kills:
            request.fault = kills[request.index]
        elif request.index not in duplicated and rng.random() < FAIL_SHARE:
            request.fault = f"fail:{rng.choice(ALL_POINTS)}"
    twins = [
        Request(OBJECTS + k, requests[i].project_id, requests[i].source_name, f"twin-{i:03d}")
        for k, i in enumerate(sorted(duplicated))
    ]
    # Each twin goes right after its original, so that both are in flight together.
    ordered: list[Request] = []
    for request in requests:
        ordered.append(request)
        ordered += [t for t in twins if t.source_name == request.source_name]
    return ordered


def test_mixed_run_with_failures_and_kills(env: Env) -> None:
    seed = int(os.environ.get("FAULTS_SEED") or random.SystemRandom().getrandbits(32))
    print(f"\nFAULTS_SEED={seed}")
    requests = plan(random.Random(seed))
    for request in requests:
        if request.source_name not in env.originals:
            env.new_object(request.source_name)
    client = env.client(timeout=CALL_TIMEOUT)

    def send(request: Request) -> None:
        metadata = {"_fault": request.fault} if request.fault else None
        try:
            request.outcome = client.manage(
                admin_context(request.project_id),
                env.backend_host,
                request.source_name,
                name=request.name,
                metadata=metadata,
            )
        except Exception as error:
            request.outcome = error

    with reviving(env) as reviver:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(send, requests))
        sent = time.monotonic()
        # The last kills may still be on their way: wait until each daemon died and
        # came back, bounded.
        deadline = sent + 30
        needed = {env.api.name: 2, env.scheduler.name: 2, env.volume.name: 3}
        while time.monotonic() < deadline and (
            any(reviver.deaths[n] < k for n, k in needed.items())
            or not all(alive(d) for d in env.daemons)
        ):
            time.sleep(0.2)
        rows = assert_invariants(
            env,
            sorted({r.project_id for r in requests}),
            [r.outcome["id"] for r in requests if isinstance(r.outcome, dict)],
            since=sent,
            timeout=60,
        )
    print(f"deaths: {dict(reviver.deaths)}")
    assert not reviver.problems, reviver.problems
    assert dict(reviver.deaths) == needed, (dict(reviver.deaths), needed)
    env.assert_all_running()

    # Each request's outcome is the one its fault calls for.
    by_name = {r["display_name"]: r for r in rows.values()}
    assert len(by_name) == len(rows), "two rows of one request"
    twins = [r for r in requests if r.name.startswith("twin-")]
    duplicated = {t.source_name for t in twins}
    problems = []
    lost = []
    for request in requests:
        if request.name.startswith("twin-") or request.name in duplicated:
            continue  # judged by pair below
        row = by_name.get(request.name)
        outcome = request.outcome
        if request.action == "fail" and request.point == "AfterEntryCreate":
            # The API flow fails and removes its row: the caller is told. (A call in
            # flight when an API died times out instead; its row, if written, is
            # recovered like any other.)
            if isinstance(outcome, oslo_messaging.MessagingTimeout):
                continue
            if not isinstance(outcome, exception.InternalError) or row is not None:
                problems.append(
                    f"{request.name}: expected InternalError and no row, got {outcome!r}, row {row}"
                )
        elif row is None:
            # Never accepted: the call died with an API before the row was written.
            if request.fault == "kill:AfterEntryCreate" or not isinstance(
                outcome, oslo_messaging.MessagingTimeout
            ):
                problems.append(f"{request.name} ({request.fault}): no row, {outcome!r}")
            lost.append(request.name)
        elif request.action == "fail":
            if row["status"] != "error_managing" or not re.search(
                rf"Fault injected at {re.escape(request.point or '')}\b",
                row["failure_reason"] or "",
            ):
                problems.append(f"{request.name} ({request.fault}): {row}")
        elif row["status"] != "available":
            problems.append(f"{request.name} ({request.fault}): {row}, outcome {outcome!r}")
    by_request = {r.name: r for r in requests}
    for twin in twins:
        pair = [by_request[twin.source_name], twin]  # the original, then its twin
        available = [r.name for r in pair if by_name.get(r.name, {}).get("status") == "available"]
        unaccepted = [r for r in pair if r.name not in by_name]
        if len(available) == 1 and len(unaccepted) == 1:
            refused = unaccepted[0].outcome
            # The other one was refused, or lost with an API that died.
            if isinstance(
                refused, exception.ManageExistingAlreadyManaged | oslo_messaging.MessagingTimeout
            ):
                continue
        elif (
            not available
            and all(isinstance(r.outcome, oslo_messaging.MessagingTimeout) for r in unaccepted)
            and len(unaccepted) == 2
        ):
            lost += [r.name for r in pair]  # both lost with an API that died
            continue
        problems.append(
            f"{[r.name for r in pair]}: available {available}, outcomes "
            f"{[r.outcome for r in pair]!r}, rows {[by_name.get(r.name) for r in pair]}"
        )
    counts = Counter(str(r.fault).partition(":")[0] for r in requests)
    print(f"{len(requests)} requests: {dict(counts)}; {len(rows)} rows; lost unaccepted: {lost}")
    assert not problems, "\n".join(problems)
    assert len(requests) >= 200
