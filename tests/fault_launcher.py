"""Start a volmgr daemon with the fault plugin loaded.

    python -m tests.fault_launcher MARKER_DIR CONSOLE_SCRIPT [ARGS ...]

registers :mod:`tests.fault_plugin` (its once-only markers under ``MARKER_DIR``)
and then calls the function the console script ``CONSOLE_SCRIPT`` calls (read from
the installed distribution's entry points) with ``ARGS``. The daemon is the
product's own, unchanged: its config holds no test option, and the only addition is
a callback on its hook points (:mod:`volmgr_common.hooks`).

With ``VOLMGR_TEST_CLOCK_SKEW=<seconds>`` in its environment, the process's idea of
the current time (``volmgr_common.db.models.utcnow``) is that many seconds off, as on
a host whose clock is wrong.
"""

import datetime as dt
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from tests import fault_plugin
from volmgr_common.db import models

SKEW_VARIABLE = "VOLMGR_TEST_CLOCK_SKEW"

ROOT = Path(__file__).resolve().parent.parent
"""The directory that holds the ``tests`` package: on the launched process's path."""


def command(marker_dir: Path, script: str, *args: str) -> list[str]:
    """The command line that runs ``script ARGS`` with the fault plugin loaded."""
    return [sys.executable, "-m", __name__, str(marker_dir), script, *args]


def main(argv: Sequence[str]) -> int | str | None:
    marker_dir, script, *args = argv
    (entry_point,) = metadata.entry_points(group="console_scripts", name=script)
    daemon_main = entry_point.load()
    fault_plugin.install(Path(marker_dir))
    _skew_clock(float(os.environ.get(SKEW_VARIABLE, "0")))
    sys.argv = [script, *args]
    return daemon_main()


def _skew_clock(seconds: float) -> None:
    """Make this process's clock ``seconds`` off (nothing when 0)."""
    if not seconds:
        return
    correct = models.utcnow
    offset = dt.timedelta(seconds=seconds)
    models.utcnow = lambda: correct() + offset  # type: ignore[assignment]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
