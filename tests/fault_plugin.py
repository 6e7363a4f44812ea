"""The fault plugin of the tests: makes a hook point fail, or kills the process there.

A manage request whose metadata holds ``_fault = "fail:<Point>"`` fails at the hook
point ``<Point>`` (:mod:`volmgr_common.hooks` names the points) with
:class:`FaultInjected`; ``"kill:<Point>"`` ends the process there at once with
``os._exit(137)``, as a crash would — once: a marker file per volume and point
under the plugin's marker directory keeps the restarted process from dying at the
same point again. ``"pause:<Point>"`` stops the whole process there with SIGSTOP,
once (the same markers), as a process frozen by its host or a long GC pause would
be: the test sends SIGCONT when it wants the process to go on. Without the plugin
registered the metadata key means nothing.

In-process tests register it with :func:`installed`; the daemons of the fault and
integration suites load it through :mod:`tests.fault_launcher`.
"""

import os
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oslo_log import log as logging

from volmgr_common import exception, hooks

LOG = logging.getLogger(__name__)

METADATA_KEY = "_fault"
KILLED = 137
"""The exit code of a process a ``kill`` fault ended."""


class FaultInjected(exception.VolmgrException):
    message = "Fault injected at %(point)s (fault injection is enabled)."


class FaultPlugin:
    """A hook callback that honours the ``_fault`` metadata key of a request."""

    def __init__(self, marker_dir: Path) -> None:
        self.marker_dir = marker_dir

    def __call__(self, point: str, volume: Any) -> None:
        metadata = _field(volume, "metadata") or {}
        action, _, target = str(metadata.get(METADATA_KEY, "")).partition(":")
        if target != point:
            return
        if action == "kill" and self._first_time(_field(volume, "id"), point):
            LOG.warning("Fault injection: killing the process at %s", point)
            os._exit(KILLED)
        if action == "pause" and self._first_time(_field(volume, "id"), point):
            LOG.warning("Fault injection: pausing the process at %s", point)
            # To this thread: it stops before it runs another line (os.kill lets it
            # run on until the kernel stops the whole group), and the group with it.
            signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)
            LOG.warning("Fault injection: the process goes on after its pause at %s", point)
        if action == "fail":
            raise FaultInjected(point=point)

    def marker(self, volume_id: str | None, point: str) -> Path:
        """The file that records that the fault of ``volume_id`` fired at ``point``."""
        return self.marker_dir / f"{volume_id}-{point}"

    def _first_time(self, volume_id: str | None, point: str) -> bool:
        """Record that the fault fired; False if it already had."""
        self.marker_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.marker(volume_id, point), os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return False
        os.fsync(fd)
        os.close(fd)
        return True


def _field(volume: Any, name: str) -> Any:
    """A field of the volume a point passes: a mapping or a record with attributes."""
    return volume.get(name) if isinstance(volume, Mapping) else getattr(volume, name, None)


def install(marker_dir: Path) -> FaultPlugin:
    """Register a plugin for the rest of the process (a daemon's launcher)."""
    plugin = FaultPlugin(marker_dir)
    hooks.register(plugin)
    return plugin


@contextmanager
def installed(marker_dir: Path) -> Iterator[FaultPlugin]:
    """Register a plugin for the ``with`` block (an in-process test)."""
    plugin = install(marker_dir)
    try:
        yield plugin
    finally:
        hooks.unregister(plugin)
