"""The contract every backend driver fulfils.

A driver claims an object that already exists on its backend without copying it:
it reports the object's size, gives it a managed name (``manage``), can put it back
exactly as it was (``undo_manage``), lets it go (``unmanage``), lists what could be
managed and reports capabilities. ``manage`` and ``undo_manage`` must be idempotent:
a flow resumed after a crash may call them again for the same volume.
"""

import abc
import math
from typing import Any

from oslo_config import cfg

GIB = 1024**3


def size_in_gib(size_bytes: int) -> int:
    """Bytes rounded up to whole GiB (an empty object is 0 GiB)."""
    return math.ceil(size_bytes / GIB)


class VolumeDriver(abc.ABC):
    """Abstract backend driver. ``volume`` arguments are plain dicts (see db.volumes)."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.backend_name: str = conf.volume.backend_name

    def managed_name(self, volume_id: str) -> str:
        return self.conf.volume.volume_name_template % volume_id

    def do_setup(self) -> None:  # noqa: B027 - optional hook
        """Prepare the backend (create directories, check tools); raise if unusable."""

    @abc.abstractmethod
    def get_size(self, volume: dict[str, Any], reference: dict[str, Any]) -> int:
        """Size in whole GiB (rounded up) of the referenced object.

        Raises ManageExistingInvalidReference if the reference is unusable. If the
        object already carries this volume's managed name (a resumed flow), its size
        is reported too.
        """

    @abc.abstractmethod
    def manage(self, volume: dict[str, Any], reference: dict[str, Any]) -> str:
        """Give the object its managed name; returns the provider location."""

    @abc.abstractmethod
    def undo_manage(self, volume: dict[str, Any], reference: dict[str, Any]) -> None:
        """Put the object back under its original name, exactly as it was."""

    @abc.abstractmethod
    def unmanage(self, volume: dict[str, Any]) -> None:
        """Stop managing: the object stays on the backend under its current name."""

    @abc.abstractmethod
    def list_manageable(
        self,
        managed: dict[str, str],
        marker: str | None,
        limit: int,
        offset: int,
        sort_key: str,
        sort_dir: str,
    ) -> list[dict[str, Any]]:
        """Objects on the backend, as ``{reference, size, safe_to_manage,
        reason_not_safe, cinder_id, extra_info}``; ``managed`` maps managed names to
        volume ids."""

    @abc.abstractmethod
    def get_capabilities(self) -> dict[str, Any]:
        """``{"backend_name", "vendor_name", "driver_version", "storage_protocol",
        "pools": [{"pool_name", "total_capacity_gb", "free_capacity_gb",
        "allocated_capacity_gb", "reserved_percentage", ...}]}``."""
