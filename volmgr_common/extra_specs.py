"""A volume type's extra specs against a pool's capabilities, as Cinder compares them.

An extra spec ``key = value`` matches the capability ``key`` (a scope such as
``capabilities:`` is stripped; other scopes are ignored). Values may carry Cinder's
operators: ``<is> True``, ``<in> word``, ``<or> a <or> b``, ``s== text``,
``== 10``, ``!= 10``, ``>= 10``, ``<= 10``; a plain value compares as text. The
scheduler's CapabilitiesFilter and the adoption planner both decide with
:func:`unmet_spec`.
"""

import operator
from collections.abc import Callable, Mapping
from typing import Any

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


def unmet_spec(
    capabilities: Mapping[str, Any], extra_specs: Mapping[str, Any], where: str
) -> str | None:
    """Why the pool ``where`` with ``capabilities`` does not satisfy ``extra_specs``
    (None if it does), checking the specs in key order."""
    for key, requirement in sorted(extra_specs.items()):
        scope, _, name = key.rpartition(":")
        if scope not in ("", "capabilities"):
            continue
        if name not in capabilities:
            return f"{where} does not report {name!r} required by the volume type"
        if not matches(capabilities[name], str(requirement)):
            return (
                f"{where} has {name}={capabilities[name]!r}, the volume type "
                f"requires {requirement!r}"
            )
    return None
