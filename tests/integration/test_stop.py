"""A daemon that is stopping exits 0 however many times it is told to stop."""

import signal
import time

from tests.integration import daemons
from volmgr_common.db import api as db_api


def test_repeated_sigterm_during_a_stop_still_exits_0(
    factory: daemons.DaemonFactory, db: db_api.Database
) -> None:
    scheduler = factory.create(daemons.SCHEDULER, name="stop-twice")
    scheduler.start(db)
    proc = scheduler.proc
    assert proc is not None
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + daemons.STOP_TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline:
        proc.send_signal(signal.SIGTERM)  # a supervisor that repeats itself
        time.sleep(0.01)
    assert proc.wait(timeout=5) == 0, scheduler.tail()
    scheduler.proc = None
