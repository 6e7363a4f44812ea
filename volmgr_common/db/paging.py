"""Keyset paging: the rows that come after a marker row in a listing's order.

A listing sorted by several columns continues after the marker by comparing each
row with the marker's values (never by offset), so a page costs the same wherever
it is in the listing and rows added meanwhile do not shift it.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

# A sort column and whether it is descending.
SortColumn = tuple[sa.ColumnElement[Any] | InstrumentedAttribute[Any], bool]
ASC, DESC = False, True


def order_by(columns: Sequence[SortColumn]) -> list[sa.ColumnElement[Any]]:
    """The ORDER BY terms of ``columns``."""
    return [column.desc() if desc else column.asc() for column, desc in columns]


def after(columns: Sequence[SortColumn], anchor: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows after ``anchor`` (the marker's values of ``columns``) in that order.

    Equal on the first i columns and past the anchor on column i, for some i; the
    last column must be unique (the id) for the order to be total.
    """
    return sa.or_(
        *(
            sa.and_(
                *(columns[j][0] == anchor[j] for j in range(i)),
                column < anchor[i] if desc else column > anchor[i],
            )
            for i, (column, desc) in enumerate(columns)
        )
    )
