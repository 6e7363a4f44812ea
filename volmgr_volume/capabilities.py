"""What a volume service reports of its backend: the driver's capabilities plus its own."""

from typing import Any

from oslo_config import cfg

from volmgr_volume.drivers.base import VolumeDriver


def reported(conf: cfg.ConfigOpts, driver: VolumeDriver) -> dict[str, Any]:
    """The driver's capabilities with the service's zone and ``volume_backend_name``
    (the capability a volume type's extra spec names to tie the type to a backend,
    reported by every Cinder driver)."""
    return dict(
        driver.get_capabilities(),
        availability_zone=conf.storage_availability_zone,
        volume_backend_name=conf.volume.backend_name,
    )
