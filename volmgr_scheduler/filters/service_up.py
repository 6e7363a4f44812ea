"""ServiceUpFilter: the backend's volume service heartbeats and is enabled."""

from volmgr_common.manage_request import RequestSpec
from volmgr_scheduler.filters import BackendFilter
from volmgr_scheduler.host_manager import PoolState


class ServiceUpFilter(BackendFilter):
    def rejects(self, pool: PoolState, request_spec: RequestSpec) -> str | None:
        if pool.service_disabled:
            return f"the volume service of {pool.backend} is disabled"
        if not pool.service_up:
            return f"the volume service of {pool.backend} is down (no recent heartbeat)"
        return None
