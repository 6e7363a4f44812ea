"""What a volume service reports of its backend: the driver's capabilities plus its own."""

from collections.abc import Mapping
from typing import Any

from oslo_config import cfg

from volmgr_common.extra_specs import unmet_spec
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


def fitting_pool(
    conf: cfg.ConfigOpts, driver: VolumeDriver, backend: str, volume_type: Mapping[str, Any]
) -> tuple[str | None, list[str]]:
    """The first pool of ``backend`` whose capabilities meet ``volume_type``'s extra
    specs (as the scheduler's filters judge them), and why each pool before it does
    not: ``(None, reasons)`` when none does."""
    specs = volume_type.get("extra_specs") or {}
    capabilities = reported(conf, driver)
    common = {key: value for key, value in capabilities.items() if key != "pools"}
    reasons: list[str] = []
    for pool in capabilities.get("pools", []):
        reason = unmet_spec({**common, **pool}, specs, f"{backend}#{pool.get('pool_name')}")
        if reason is None:
            return str(pool.get("pool_name") or ""), reasons
        reasons.append(reason)
    return None, reasons
