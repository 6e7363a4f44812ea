"""CapabilitiesFilter: the pool's capabilities satisfy the volume type's extra specs.

The comparison (scopes, Cinder's operators) is :mod:`volmgr_common.extra_specs`,
which the adoption planner shares.
"""

from volmgr_common.extra_specs import matches, unmet_spec
from volmgr_common.manage_request import RequestSpec
from volmgr_scheduler.filters import BackendFilter
from volmgr_scheduler.host_manager import PoolState

__all__ = ["CapabilitiesFilter", "matches"]


class CapabilitiesFilter(BackendFilter):
    def rejects(self, pool: PoolState, request_spec: RequestSpec) -> str | None:
        return unmet_spec(pool.capabilities, request_spec.extra_specs, pool.host)
