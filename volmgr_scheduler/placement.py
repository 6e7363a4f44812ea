"""Placement: which pool of the requested backend passes every filter and has most room."""

from oslo_config import cfg

from volmgr_common import exception
from volmgr_common.manage_request import RequestSpec
from volmgr_scheduler import filters
from volmgr_scheduler.host_manager import HostManager, PoolState


def _free(pool: PoolState) -> float:
    free = pool.capacity("free_capacity_gb")
    try:
        return float(free)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("inf")


class Placement:
    """Applies the enabled filters to the pools of a backend."""

    def __init__(self, conf: cfg.ConfigOpts, host_manager: HostManager) -> None:
        self._hosts = host_manager
        self._filters = filters.load_filters(conf.scheduler.enabled_filters)

    def choose_pool(self, request_spec: RequestSpec) -> PoolState:
        """The pool of the requested backend that passes every filter and has most room."""
        backend, pool_name = request_spec.backend, request_spec.pool
        pools = self._hosts.pool_states(backend)
        if not pools:
            raise exception.NoValidBackend(
                reason=f"backend {backend} reports no pools (is its volume service running?)"
            )
        if pool_name:
            pools = [p for p in pools if p.pool_name == pool_name]
            if not pools:
                raise exception.NoValidBackend(
                    reason=f"backend {backend} has no pool {pool_name!r}"
                )
        passing, reasons = [], []
        for pool in pools:
            reason = next((r for f in self._filters if (r := f.rejects(pool, request_spec))), None)
            if reason:
                reasons.append(reason)
            else:
                passing.append(pool)
        if not passing:
            raise exception.NoValidBackend(reason="; ".join(reasons) + ".")
        return max(passing, key=_free)
