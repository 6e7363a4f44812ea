"""Backend filters: each says whether a pool can take a volume, and why not.

A filter returns None when the pool passes, or a short reason when it does not; the
reasons end up in the user message of a NoValidBackend failure.
"""

import abc

from volmgr_common.manage_request import RequestSpec
from volmgr_scheduler.host_manager import PoolState


class BackendFilter(abc.ABC):
    """One test a pool must pass."""

    @abc.abstractmethod
    def rejects(self, pool: PoolState, request_spec: RequestSpec) -> str | None:
        """None if ``pool`` passes, otherwise why it does not."""


def all_filters() -> dict[str, type[BackendFilter]]:
    """Every known filter by name."""
    from volmgr_scheduler.filters import availability_zone, capabilities, capacity, service_up

    return {
        "ServiceUpFilter": service_up.ServiceUpFilter,
        "AvailabilityZoneFilter": availability_zone.AvailabilityZoneFilter,
        "CapabilitiesFilter": capabilities.CapabilitiesFilter,
        "CapacityFilter": capacity.CapacityFilter,
    }


def load_filters(names: list[str]) -> list[BackendFilter]:
    known = all_filters()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown scheduler filters: {', '.join(unknown)}")
    return [known[n]() for n in names]
