"""Test-only fault injection, switched on by ``[fault_injection] enabled``.

A volume whose metadata holds ``_fault = "fail:<Point>"`` makes the named point
fail with ``FaultInjected``; ``"kill:<Point>"`` ends the process there at once, as a
crash would. With the option off (the default) the metadata key means nothing.
"""

import os
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import exception

LOG = logging.getLogger(__name__)
METADATA_KEY = "_fault"


def check(conf: cfg.ConfigOpts, volume: dict[str, Any], point: str) -> None:
    """Fail or die at ``point`` if the volume asks for it and injection is enabled."""
    if not conf.fault_injection.enabled:
        return
    action, _, target = str(volume.get("metadata", {}).get(METADATA_KEY, "")).partition(":")
    if target != point:
        return
    if action == "kill":
        LOG.warning("Fault injection: killing the process at %s", point)
        os._exit(137)
    if action == "fail":
        raise exception.FaultInjected(point=point)
