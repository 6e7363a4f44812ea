"""CapabilitiesFilter: the pool's capabilities satisfy the volume type's extra specs.

An extra spec ``key = value`` matches the capability ``key`` (a scope such as
``capabilities:`` is stripped; other scopes are ignored). Values may carry Cinder's
operators: ``<is> True``, ``<in> word``, ``<or> a <or> b``, ``s== text``,
``== 10``, ``!= 10``, ``>= 10``, ``<= 10``; a plain value compares as text.
"""

import operator
from collections.abc import Callable
from typing import Any

from volmgr_common.manage_request import RequestSpec
from volmgr_scheduler.filters import BackendFilter
from volmgr_scheduler.host_manager import PoolState

_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
}


def _as_bool(text: str) -> bool:
    return str(text).strip().lower() in ("true", "1", "yes", "on")


def matches(capability: Any, requirement: str) -> bool:
    """True if ``capability`` satisfies the extra-spec ``requirement``."""
    words = requirement.split()
    if not words:
        return str(capability) == requirement
    op, rest = words[0], " ".join(words[1:])
    if op == "<is>":
        return _as_bool(str(capability)) == _as_bool(rest)
    if op == "<in>":
        return rest in str(capability)
    if op == "<or>":
        return str(capability) in [w for w in words if w != "<or>"]
    if op == "s==":
        return str(capability) == rest
    if op in _NUMERIC:
        try:
            return _NUMERIC[op](float(capability), float(rest))
        except (TypeError, ValueError):
            return False
    return str(capability) == requirement


class CapabilitiesFilter(BackendFilter):
    def rejects(self, pool: PoolState, request_spec: RequestSpec) -> str | None:
        specs = request_spec.extra_specs
        for key, requirement in sorted(specs.items()):
            scope, _, name = key.rpartition(":")
            if scope not in ("", "capabilities"):
                continue
            if name not in pool.capabilities:
                return f"{pool.host} does not report {name!r} required by the volume type"
            if not matches(pool.capabilities[name], str(requirement)):
                return (
                    f"{pool.host} has {name}={pool.capabilities[name]!r}, the volume type "
                    f"requires {requirement!r}"
                )
        return None
