"""Time and quiet failures, against the real daemons (a cluster of this module's own).

(A batch with one huge image among valid neighbours is in test_identity_images.py, on
that module's image cluster; a batch step that fails for one request only is in
tests/unit/common/test_flows.py.)

* A heartbeat stamped in the future for a volume service that does not run: the
  service is down, the API refuses manages to it. A volume daemon whose process clock
  is wrong (an hour ahead, a minute behind) is up while it runs and down once it
  stopped (``tests/fault_launcher.py`` skews the process clock it is given).
* While the scheduler is away, the volume daemon logs one line per failed capability
  report, with back-off, and no traceback.

Each test ends with the five invariants of docs/design.rst.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from tests.faults.conftest import (
    Env,
    RabbitUser,
    admin_context,
    assert_invariants,
    rabbitmqctl,
    run_concurrently,
)
from tests.integration import daemons
from volmgr_common import exception
from volmgr_common.db import models
from volmgr_common.db import services as services_db

OWN_ENV: dict[str, dict[str, Any]] = {}  # a fresh broker state: see the quiet test
SKEW_ENV = "VOLMGR_TEST_CLOCK_SKEW"  # read by tests/fault_launcher.py only
DOWN_TIME = 15  # [DEFAULT] service_down_time of the fault clusters
SHORT_DOWN_TIME = 2  # the down time a reader allows after the skewed daemons stop


def _ghost_service(env: Env, host: str, heartbeat_in: float) -> None:
    """A volume service row whose heartbeat was stamped ``heartbeat_in`` seconds from now."""
    with env.db.engine.begin() as connection:
        connection.execute(
            sa.insert(models.Service).values(
                host=host,
                binary="volmgr-volume",
                topic="volmgr-volume",
                availability_zone="nova",
                disabled=False,
                report_count=1,
                last_heartbeat=models.utcnow() + dt.timedelta(seconds=heartbeat_in),
            )
        )


def test_a_heartbeat_from_the_future_is_not_a_live_service(env: Env, project_id: str) -> None:
    ghost = f"itnode@ghost-{uuid.uuid4().hex[:6]}"
    _ghost_service(env, ghost, heartbeat_in=365 * 24 * 3600)
    name = env.new_object("iso-ghost.img")
    outcome = run_concurrently(
        [lambda: env.client().manage(admin_context(project_id), ghost, name, name=name)], 1
    )[0]
    print(f"\nmanage to a dead service whose heartbeat is a year ahead: {outcome!r}")
    assert isinstance(outcome, exception.ServiceUnavailable), outcome
    assert_invariants(env, [project_id])


SKEWS = {"ahead": 3600, "behind": -60}  # seconds the daemon's clock is off


def _skewed_daemon(
    env: Env, name: str, skew: int, monkeypatch: pytest.MonkeyPatch
) -> daemons.Daemon:
    """A second volume daemon, on a backend of its own, whose clock is ``skew`` s off."""
    directory = env.base_dir / f"backend-{name}"
    directory.mkdir()
    daemon = env.factory.create(
        daemons.VOLUME, name=f"volume-{name}", backend_name=name, directory=directory
    )
    monkeypatch.setenv(SKEW_ENV, str(skew))
    daemon.start(wait=False)
    monkeypatch.delenv(SKEW_ENV)
    (directory / f"disk-{name}.img").write_bytes(os.urandom(4096))
    return daemon


def test_daemons_with_skewed_clocks_are_up_while_they_run_and_down_once_stopped(
    env: Env, project_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    skewed = {name: _skewed_daemon(env, name, skew, monkeypatch) for name, skew in SKEWS.items()}
    try:
        for daemon in skewed.values():
            daemon.wait_ready(None)
        answers = {
            name: run_concurrently(
                [
                    lambda d=daemon, n=name: env.client().manage(
                        admin_context(project_id), d.service_host, f"disk-{n}.img"
                    )
                ],
                1,
            )[0]
            for name, daemon in skewed.items()
        }
        for name, answer in answers.items():
            print(f"\nmanage to a live daemon {SKEWS[name]:+d}s off: {answer!r}")
        refused = {n: a for n, a in answers.items() if not isinstance(a, dict)}
        assert not refused, f"live daemons with skewed clocks were refused: {refused}"
        assert_invariants(env, [project_id], [a["id"] for a in answers.values()])
        for name, answer in answers.items():
            assert (env.base_dir / f"backend-{name}" / f"volume-{answer['id']}").exists()
    finally:
        daemons.stop_all(list(skewed.values()))
    # Stopped, they must be down once the reader's down time has passed (not up for an
    # hour): the reader here allows a short one, so the test need not wait out 15 s.
    time.sleep(SHORT_DOWN_TIME + 1)
    up = {n: _service(env, d.service_host, SHORT_DOWN_TIME) for n, d in skewed.items()}
    up = {n: row for n, row in up.items() if row["is_up"]}
    assert not up, f"stopped daemons with skewed clocks still count as up: {up}"


def _service(env: Env, host: str, down_time: int = DOWN_TIME) -> dict:
    return services_db.get_by_host(env.db, host, "volmgr-volume", down_time=down_time)


FANOUT = "volmgr-scheduler_fanout"
QUIET_WINDOW = 12.0  # seconds of log counted


def test_the_volume_daemon_is_quiet_while_the_scheduler_is_away(
    env: Env, rabbit_user: RabbitUser
) -> None:
    """No scheduler, and the broker refuses the exchange of their fanout: every capability
    report fails for as long as that lasts (the report runs every 2 s in these clusters)."""
    not_fanout = f"^(?!{FANOUT}$).*"
    env.scheduler.stop()
    rabbitmqctl(
        "set_permissions", "-p", env.vhost.name, rabbit_user.name, not_fanout, not_fanout, ".*"
    )
    try:
        start = len(env.volume.log_text().splitlines())
        time.sleep(QUIET_WINDOW)
        lines = env.volume.log_text().splitlines()[start:]
    finally:
        rabbitmqctl("set_permissions", "-p", env.vhost.name, rabbit_user.name, ".*", ".*", ".*")
        env.scheduler.start(env.db)
    tracebacks = sum(1 for line in lines if "Traceback (most recent call last)" in line)
    ours = [line for line in lines if "volmgr_common.service" in line and " ERROR " not in line]
    failures = [line for line in ours if " WARNING " in line and "capabilities failed" in line]
    problems = [line for line in lines if " WARNING " in line or " ERROR " in line]
    print(
        f"\n{QUIET_WINDOW:.0f} s of refused capability reports: {len(lines)} log lines, "
        f"{len(problems)} warnings/errors, {tracebacks} tracebacks, {len(failures)} failure lines"
    )
    for line in failures:
        print("  ", line[:230])
    assert tracebacks == 0, "\n".join(lines[-40:])
    # Back-off: attempts 2, 4, 8 s apart, each one line (before: a traceback every 2 s).
    assert 1 <= len(failures) <= 3, "\n".join(failures)
    assert all("next attempt in" in line for line in failures)
    # Once the broker takes the reports again, one line says so.
    daemons.wait_until(
        lambda: "Periodic task capabilities works again" in env.volume.log_text(),
        40,
        "the capability report to recover",
    )
    assert_invariants(env, [])
