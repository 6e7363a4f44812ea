"""AvailabilityZoneFilter: the pool is in the zone the request asks for."""

from volmgr_common.manage_request import RequestSpec
from volmgr_scheduler.filters import BackendFilter
from volmgr_scheduler.host_manager import PoolState


class AvailabilityZoneFilter(BackendFilter):
    def rejects(self, pool: PoolState, request_spec: RequestSpec) -> str | None:
        wanted = request_spec.availability_zone
        if wanted and wanted != pool.availability_zone:
            return f"{pool.host} is in zone {pool.availability_zone!r}, not {wanted!r}"
        return None
