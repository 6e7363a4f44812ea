"""Test-only fault injection, switched on by ``[fault_injection] enabled``.

A volume whose metadata holds ``_fault = "fail:<Point>"`` makes the named point
fail with ``FaultInjected``; ``"kill:<Point>"`` ends the process there at once, as a
crash would — once: a marker under ``<state_path>/faults`` keeps the restarted
process from dying at the same point again. With the option off (the default) the
metadata key means nothing.

Points: the names of the volume manager's tasks (checked before each runs),
``ManageExisting.after`` (the driver has renamed the object, nothing recorded yet),
``AfterEntryCreate`` (the API wrote the row, nothing cast yet) and
``SchedulerReceive`` (a scheduler took the message, nothing done yet).
"""

import os
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import exception

LOG = logging.getLogger(__name__)
METADATA_KEY = "_fault"


def _first_time(conf: cfg.ConfigOpts, volume_id: str | None, point: str) -> bool:
    """Record that the fault fired; False if it already had."""
    marker_dir = os.path.join(conf.state_path, "faults")
    os.makedirs(marker_dir, exist_ok=True)
    try:
        fd = os.open(os.path.join(marker_dir, f"{volume_id}-{point}"), os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return False
    os.fsync(fd)
    os.close(fd)
    return True


def check(conf: cfg.ConfigOpts, volume: dict[str, Any], point: str) -> None:
    """Fail or die at ``point`` if the volume asks for it and injection is enabled."""
    if not conf.fault_injection.enabled:
        return
    action, _, target = str(volume.get("metadata", {}).get(METADATA_KEY, "")).partition(":")
    if target != point:
        return
    if action == "kill" and _first_time(conf, volume.get("id"), point):
        LOG.warning("Fault injection: killing the process at %s", point)
        os._exit(137)
    if action == "fail":
        raise exception.FaultInjected(point=point)
