"""Start a volmgr daemon with the fault plugin loaded.

    python -m tests.fault_launcher MARKER_DIR CONSOLE_SCRIPT [ARGS ...]

registers :mod:`tests.fault_plugin` (its once-only markers under ``MARKER_DIR``)
and then calls the function the console script ``CONSOLE_SCRIPT`` calls (read from
the installed distribution's entry points) with ``ARGS``. The daemon is the
product's own, unchanged: its config holds no test option, and the only addition is
a callback on its hook points (:mod:`volmgr_common.hooks`).
"""

import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from tests import fault_plugin

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
    sys.argv = [script, *args]
    return daemon_main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
