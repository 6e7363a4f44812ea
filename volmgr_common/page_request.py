"""One page request: the marker, limit, offset and sort order a listing is asked for.

The paging parameters of a listing travel together as one value: from the REST
query through the API to the database listings (volumes, messages) and, over RPC,
to a volume service's driver (the manageable listing). On the wire a page is plain
keywords, the names RPC 1.0 has always used (``marker``, ``limit``, ``offset``,
``sort_key``, ``sort_dir``), and is rebuilt into a PageRequest on arrival.
"""

import dataclasses
from typing import Any

from volmgr_common import exception

SortKeys = tuple[tuple[str, str], ...]
"""``(key, "asc"|"desc")`` pairs, the first key sorting first."""

MANAGEABLE_SORT_KEYS = ("reference", "size")
"""The keys a listing of manageable objects sorts by (Cinder's)."""

MANAGEABLE_DEFAULT_SORT = ("reference", "asc")
"""The order of a listing of manageable objects whose page names none."""


def capped_limit(limit: int | None, most: int) -> int:
    """A listing's page size: ``limit``, at most ``most`` (``most`` when none is asked)."""
    return most if limit is None else min(limit, most)


@dataclasses.dataclass(frozen=True)
class PageRequest:
    """The rows after ``marker`` (the last of the previous page), then ``offset`` more
    skipped, at most ``limit`` of them (None: no limit), in ``sort`` order (empty: the
    listing's own order)."""

    marker: str | None = None
    limit: int | None = None
    offset: int = 0
    sort: SortKeys = ()

    def capped(self, most: int) -> "PageRequest":
        """This page, at most ``most`` rows (``most`` when it asks no limit)."""
        return dataclasses.replace(self, limit=capped_limit(self.limit, most))

    def single_sort(self, default: tuple[str, str]) -> tuple[str, str]:
        """The one ``(key, direction)`` of a listing sorted by a single key.

        ``default`` when the page names none; InvalidInput when it names several.
        """
        if not self.sort:
            return default
        if len(self.sort) > 1:
            raise exception.InvalidInput(reason="this listing is sorted by one key only")
        return self.sort[0]

    def rpc_kwargs(self, default_sort: tuple[str, str]) -> dict[str, Any]:
        """The page as the keywords of an RPC call sorted by one key."""
        sort_key, sort_dir = self.single_sort(default_sort)
        return {
            "marker": self.marker,
            "limit": self.limit,
            "offset": self.offset,
            "sort_key": sort_key,
            "sort_dir": sort_dir,
        }

    @classmethod
    def from_rpc(
        cls,
        marker: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        sort_key: str | None = None,
        sort_dir: str = "asc",
    ) -> "PageRequest":
        """The page an RPC call's keywords describe (see :meth:`rpc_kwargs`)."""
        return cls(marker, limit, offset, ((sort_key, sort_dir),) if sort_key else ())
