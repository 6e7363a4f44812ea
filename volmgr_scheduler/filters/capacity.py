"""CapacityFilter: the pool reports capacity and keeps its reserved share free.

Managing an existing object consumes no new space, so the size asked for is the
request's ``size`` when known and 0 otherwise; a pool passes while its free space,
less the reserved percentage of its total, covers that size. A pool that reports
``unknown`` or ``infinite`` capacity passes.
"""

from typing import Any

from volmgr_scheduler.filters import BackendFilter
from volmgr_scheduler.host_manager import PoolState

_UNBOUNDED = ("unknown", "infinite")


class CapacityFilter(BackendFilter):
    def rejects(self, pool: PoolState, request_spec: dict[str, Any]) -> str | None:
        total = pool.capacity("total_capacity_gb")
        free = pool.capacity("free_capacity_gb")
        if total is None or free is None:
            return f"{pool.host} reports no capacity"
        if total in _UNBOUNDED or free in _UNBOUNDED:
            return None
        reserved = float(total) * float(pool.capabilities.get("reserved_percentage", 0)) / 100
        wanted = float(request_spec.get("size") or 0)
        if float(free) - reserved < wanted:
            return (
                f"{pool.host} has {float(free):.1f} GiB free with {reserved:.1f} GiB reserved, "
                f"less than the {wanted:.0f} GiB asked for"
            )
        return None
