"""Listings in SQL: Cinder's sort order, keyset paging after a marker, offset and limit.

A listing is sorted by the keys its page asks for, then by Cinder's default keys
(``created_at``, ``id``) in the direction of the first key, so that the order is
total. It continues after a marker row by comparing each row with the marker's
values (never by reading rows up to it), then skips ``offset`` rows and returns at
most ``limit``, all in one statement: a page costs the same wherever it is in the
listing, and rows added meanwhile do not shift it. A column that may be NULL sorts
as its type's empty value, so the comparisons after a marker are total too.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from volmgr_common import exception
from volmgr_common.page_request import PageRequest

# A sort column and whether it is descending.
SortColumn = tuple[sa.ColumnElement[Any] | InstrumentedAttribute[Any], bool]
ASC, DESC = False, True
DEFAULT_KEYS = ("created_at", "id")
"""Cinder's default sort keys, appended to any order that lacks them."""

_EMPTY: dict[type, Any] = {
    str: "",
    int: 0,
    bool: False,
    dt.datetime: dt.datetime(1900, 1, 1),
}


def sortable(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """``column``, or for a nullable table column its value with NULL read as the
    empty value of its type."""
    if not (isinstance(column, sa.Column) and column.nullable):
        return column
    empty = _EMPTY[column.type.python_type]
    return sa.func.coalesce(column, sa.literal(empty, column.type))


def with_default_keys(
    sort: Sequence[tuple[str, str]], default_dir: str = "desc", keys: Sequence[str] = DEFAULT_KEYS
) -> list[tuple[str, str]]:
    """Cinder's ``process_sort_params``: ``sort``, then each of ``keys`` it lacks, in
    the direction of its first key (``default_dir`` when it is empty)."""
    for _key, direction in sort:
        if direction not in ("asc", "desc"):
            raise exception.InvalidInput(reason="Unknown sort direction, must be 'desc' or 'asc'.")
    direction = sort[0][1] if sort else default_dir
    named = {key for key, _dir in sort}
    return [*sort, *((key, direction) for key in keys if key not in named)]


def sort_columns(
    sort: Sequence[tuple[str, str]], columns: Mapping[str, sa.ColumnElement[Any]]
) -> list[SortColumn]:
    """The columns of ``(key, direction)`` pairs; InvalidInput for a key not in ``columns``."""
    unknown = [key for key, _dir in sort if key not in columns]
    if unknown:
        raise exception.InvalidInput(
            reason=f"Invalid sort key {unknown[0][:40]!r}; valid keys are "
            f"{', '.join(sorted(columns))}."
        )
    return [(sortable(columns[key]), direction == "desc") for key, direction in sort]


def order_by(columns: Sequence[SortColumn]) -> list[sa.ColumnElement[Any]]:
    """The ORDER BY terms of ``columns``."""
    return [column.desc() if desc else column.asc() for column, desc in columns]


def after(columns: Sequence[SortColumn], anchor: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows after ``anchor`` (the marker's values of ``columns``) in that order.

    Equal on the first i columns and past the anchor on column i, for some i; the
    last column must be unique (the id) for the order to be total. The anchor's
    values are bound with their column's type (so booleans compare too).
    """
    values = [
        sa.literal(value, column.type)
        for (column, _desc), value in zip(columns, anchor, strict=True)
    ]
    return sa.or_(
        *(
            sa.and_(
                *(columns[j][0] == values[j] for j in range(i)),
                column < values[i] if desc else column > values[i],
            )
            for i, (column, desc) in enumerate(columns)
        )
    )


def anchor_of(columns: Sequence[SortColumn]) -> sa.Select[Any]:
    """The statement that reads a marker row's values of ``columns`` (add its WHERE)."""
    return sa.select(*(column for column, _desc in columns))


def paged(
    stmt: sa.Select[Any],
    columns: Sequence[SortColumn],
    page: PageRequest,
    anchor: Sequence[Any] | None,
) -> sa.Select[Any]:
    """``stmt`` ordered by ``columns``, after ``anchor`` if given, offset and limited."""
    stmt = stmt.order_by(*order_by(columns))
    if anchor is not None:
        stmt = stmt.where(after(columns, anchor))
    return stmt.offset(page.offset or None).limit(page.limit)
