"""CapacityFilter: the pool reports capacity and keeps its reserved share free.

Managing an existing object consumes no new space, so the size asked for is the
request's ``size`` when known and 0 otherwise; a pool passes while its free space,
less the reserved percentage of its total, covers that size. A pool that reports
``unknown`` or ``infinite`` capacity passes.
"""

from typing import Any

from volmgr_common.manage_request import RequestSpec
from volmgr_scheduler.filters import BackendFilter
from volmgr_scheduler.host_manager import PoolState

_UNBOUNDED = ("unknown", "infinite")


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class CapacityFilter(BackendFilter):
    def rejects(self, pool: PoolState, request_spec: RequestSpec) -> str | None:
        total = pool.capacity("total_capacity_gb")
        free = pool.capacity("free_capacity_gb")
        if total is None or free is None:
            return f"{pool.host} reports no capacity"
        if total in _UNBOUNDED or free in _UNBOUNDED:
            return None
        total_gb, free_gb = _number(total), _number(free)
        percent = _number(pool.capabilities.get("reserved_percentage", 0))
        if total_gb is None or free_gb is None or percent is None:
            return f"{pool.host} reports a capacity that is not a number"
        reserved = total_gb * percent / 100
        wanted = _number(request_spec.size) or 0.0
        if free_gb - reserved < wanted:
            return (
                f"{pool.host} has {free_gb:.1f} GiB free with {reserved:.1f} GiB reserved, "
                f"less than the {wanted:.0f} GiB asked for"
            )
        return None
