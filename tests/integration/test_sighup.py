"""SIGHUP makes each daemon re-read its config files: a changed log level applies at once.

Each daemon runs from its console script with ``debug = false``. A SIGHUP that
changes nothing logs the reload and no DEBUG line; once its config file says
``debug = true``, a SIGHUP makes the same process log at DEBUG (the option values
in force, as at start).
"""

from __future__ import annotations

import re
import signal

import pytest

from tests.integration import daemons
from volmgr_common.db import api as db_api

RELOADED = "Reloading the mutable options from"
DEBUG_LINE = re.compile(r"^\S+ \S+ \d+ DEBUG ", re.MULTILINE)
DEBUG_ON = re.compile(r"^\S+ \S+ \d+ DEBUG .* debug += True", re.MULTILINE)


@pytest.mark.parametrize("binary", [daemons.API, daemons.SCHEDULER, daemons.VOLUME])
def test_sighup_applies_a_new_log_level_without_a_restart(
    binary: str, factory: daemons.DaemonFactory, db: db_api.Database
) -> None:
    name, host = f"hup-{binary}", f"hup-{binary}"
    daemon = factory.create(binary, name=name, host=host, extra={"DEFAULT": {"debug": False}})
    daemon.start(db)
    proc = daemon.proc
    assert proc is not None

    # A reload that changes nothing: still no DEBUG line (the option dump is DEBUG).
    proc.send_signal(signal.SIGHUP)
    daemons.wait_until(lambda: daemon.log_text().count(RELOADED) == 1, 30, f"{name}: no reload")
    assert not DEBUG_LINE.search(daemon.log_text()), daemon.tail()

    factory.write_config(name, host=host, extra={"DEFAULT": {"debug": True}})
    proc.send_signal(signal.SIGHUP)
    # The dump is written line by line: wait for the line that shows the new value.
    daemons.wait_until(
        lambda: DEBUG_ON.search(daemon.log_text().rpartition(RELOADED)[2]),
        30,
        f"{name} logs no DEBUG line after the reload:\n{daemon.tail()}",
    )
    assert daemon.proc is proc and proc.poll() is None  # the same process, still running
    assert daemon.stop() == 0, daemon.tail()
