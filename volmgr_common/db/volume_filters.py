"""The filters and sort keys of a volume listing, as SQL conditions (Cinder's rules).

A listing's filters are a mapping from a filter name to its value:

* a column's name (``name`` and ``description`` stand for the display columns) with
  the value it must equal; ``host`` also matches the pools of that backend;
* the same name ending in ``~`` with text the column must contain (SQL LIKE);
* ``created_at`` or ``updated_at`` with ``{operator: datetime}`` (gt, gte, eq, neq,
  lt, lte); the row passes if it passes any of them, as in Cinder;
* ``metadata`` with a mapping every key and value of which the volume carries;
* ``drifted`` with a boolean: whether the last audit found the volume's backend
  object different from its record (``drift_kind``, a column, names the kind).

A name that is none of these matches no volume: an empty listing, as Cinder gives
an administrator (who may pass any filter) for a key its volumes do not have.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from volmgr_common import exception
from volmgr_common.db import models

_TABLE = models.table_of(models.Volume)
ALIASES = {"name": "display_name", "description": "display_description"}
"""Filter and sort names of the REST API for columns named otherwise."""

HIDDEN = frozenset(
    {
        "reference",
        "reference_key",
        "backend_identity",
        "identity_key",
        "quota_volumes",
        "quota_gigabytes",
        "failure_reason",
        "request_id",
        "flow_owner",
        "provenance",
        "drift",
    }
)
"""Columns of volmgr's own bookkeeping: neither filters nor sort keys."""

COLUMNS: dict[str, sa.Column[Any]] = {
    column.key: column for column in _TABLE.columns if column.key not in HIDDEN
}
"""The columns a volume listing may be filtered and sorted by, by name."""

SORT_KEYS: dict[str, sa.Column[Any]] = {**COLUMNS, "name": COLUMNS["display_name"]}
"""Sort keys: every listed column, and ``name`` (Cinder maps only that one)."""

TIME_FILTERS = ("created_at", "updated_at")
TIME_OPERATORS = ("gt", "gte", "eq", "neq", "lt", "lte")


class NoMatch(Exception):
    """The filters name something no volume has: the listing is empty."""


FILTER_ONLY: dict[str, sa.Column[Any]] = {"consumes_quota": _TABLE.c.quota_volumes}
"""Filters on bookkeeping columns, under Cinder's name (3.65): whether a volume holds quota."""


DRIFTED = "drifted"
"""The filter on whether a volume has drift (any ``drift_kind``)."""


def _drifted(value: Any) -> sa.ColumnElement[bool]:
    try:
        wanted = value if isinstance(value, bool) else _boolean(str(value))
    except ValueError as error:
        raise exception.InvalidInput(
            reason=f"Invalid value {str(value)[:40]!r} for filter {DRIFTED}."
        ) from error
    column = _TABLE.c.drift_kind
    return column.is_not(None) if wanted else column.is_(None)


def column_of(name: str) -> sa.Column[Any]:
    """The column a filter name stands for; NoMatch if none."""
    column = FILTER_ONLY.get(name)
    if column is None:
        column = COLUMNS.get(ALIASES.get(name, name))
    if column is None:
        raise NoMatch(name)
    return column


def typed_value(column: sa.Column[Any], value: Any) -> Any:
    """``value`` (text from a query string, or already typed) as the column's type."""
    kind = column.type.python_type
    if isinstance(value, kind) or value is None:
        return value
    text = str(value)
    try:
        if kind is bool:
            return _boolean(text)
        if kind is int:
            return int(text)
        if kind is dt.datetime:
            return dt.datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError as error:
        raise exception.InvalidInput(
            reason=f"Invalid value {text[:40]!r} for filter {column.key}."
        ) from error
    return text


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "t", "true", "on", "y", "yes"):
        return True
    if lowered in ("0", "f", "false", "off", "n", "no"):
        return False
    raise ValueError(text)


def like(column: sa.Column[Any], value: Any) -> sa.ColumnElement[bool]:
    """Cinder's inexact match: the column contains ``value`` (LIKE's wildcards escaped)."""
    text = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.cast(column, sa.String).like(f"%{text}%", escape="\\")


def _time(column: sa.Column[Any], comparisons: Mapping[str, Any]) -> sa.ColumnElement[bool]:
    unknown = [op for op in comparisons if op not in TIME_OPERATORS]
    if unknown or not comparisons:
        raise exception.InvalidInput(reason=f"Invalid {column.key} operator {unknown[:1]}")
    operators = {
        "gt": column.__gt__,
        "gte": column.__ge__,
        "eq": column.__eq__,
        "neq": column.__ne__,
        "lt": column.__lt__,
        "lte": column.__le__,
    }
    return sa.or_(*(operators[op](typed_value(column, when)) for op, when in comparisons.items()))


def _metadata(pairs: Any) -> list[sa.ColumnElement[bool]]:
    if not isinstance(pairs, Mapping):
        raise NoMatch("metadata")
    return [
        sa.exists().where(
            models.VolumeMetadata.volume_id == models.Volume.id,
            models.VolumeMetadata.key == str(key),
            models.VolumeMetadata.value == str(value),
        )
        for key, value in pairs.items()
    ]


def _exact(name: str, value: Any) -> sa.ColumnElement[bool]:
    column = column_of(name)
    if isinstance(value, list | tuple | set | frozenset):
        return column.in_([typed_value(column, v) for v in value])
    typed = typed_value(column, value)
    if column.key == "host" and isinstance(typed, str):
        pools = typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return sa.or_(column == typed, column.like(f"{pools}#%", escape="\\"))
    return column.is_(None) if typed is None else column == typed


def conditions(filters: Mapping[str, Any]) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions of ``filters``; NoMatch when no volume can pass them."""
    found: list[sa.ColumnElement[bool]] = []
    for name, value in filters.items():
        if name == "metadata":
            found.extend(_metadata(value))
        elif name.endswith("~"):
            found.append(like(column_of(name[:-1]), value))
        elif name == DRIFTED:
            found.append(_drifted(value))
        elif name in TIME_FILTERS and isinstance(value, Mapping):
            found.append(_time(column_of(name), value))
        else:
            found.append(_exact(name, value))
    return found
