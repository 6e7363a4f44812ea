"""Which query filters a listing takes, per resource and microversion, as Cinder decides.

Paging and sort parameters are read by :class:`~volmgr_api.rest.params.Params`; what
is left of the query string are the filters, and Cinder treats them so:

* An administrator may filter by anything; a name the resource's rows do not have
  gives an empty listing.
* Others may use the filters of :data:`RESOURCE_FILTERS` (what ``GET
  resource_filters`` reports, 3.33+). Before 3.31 any other filter is dropped
  silently; from 3.31 it is a 400 ("Invalid filters ... are found in query
  options."), except ``all_tenants``, which clients always send and which is
  dropped.
* A filter ``key~`` asks for an inexact match (the value is contained): from 3.31
  for an administrator, from 3.34 for others when ``key~`` is listed (a listed
  ``key~`` allows ``key`` too), as in Cinder's filter file. volmgr lists ``name~``: Cinder's
  default file lists ``name``, which leaves inexact names to administrators.
"""

import ast
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from oslo_utils import timeutils

from volmgr_api.rest import faults
from volmgr_api.rest.microversion import APIVersion
from volmgr_common.context import RequestContext

RESOURCE_FILTER = "3.31"
RESOURCE_FILTER_CONFIG = "3.33"
LIKE_FILTER = "3.34"

RESOURCE_FILTERS: Mapping[str, tuple[str, ...]] = {
    "volume": (
        "name~", "status", "metadata", "bootable", "migration_status",
        "availability_zone", "group_id", "size", "created_at", "updated_at",
    ),
    "snapshot": ("name", "status", "volume_id", "metadata", "availability_zone"),
    "message": ("resource_uuid", "resource_type", "event_id", "request_id", "message_level"),
    "volume_type": ("name", "is_public", "extra_specs"),
}  # fmt: skip
"""The filters a user who is not an administrator may use: Cinder's default
``resource_filters.json`` for the resources volmgr serves, with ``name~`` for volumes
and ``name`` for types (python-cinderclient finds a type by name with it from 3.52:
``cinder type-show NAME``)."""


def user_filters(
    ctxt: RequestContext,
    version: APIVersion,
    resource: str,
    query: Mapping[str, str],
    drop_before: Iterable[tuple[str, str]] = (),
    generalized_since: str = RESOURCE_FILTER,
    strip_unknown: bool = True,
) -> dict[str, str]:
    """The filters of ``query`` (paging and sort taken out) that the listing applies.

    ``drop_before`` names filters that came with a microversion: ``(version, name)``
    drops ``name`` from requests older than ``version``, which Cinder does only
    before the generalized filters (``generalized_since``: 3.31, for types 3.52).
    Before them a user's unknown filter is dropped, unless ``strip_unknown`` is
    false (messages: it reaches the query and matches nothing).
    """
    filters = dict(query)
    for key in filters:
        if not key.isascii():
            raise faults.bad_request("Filter keys can only contain ASCII characters.")
    if not version.matches(generalized_since):
        for first, name in drop_before:
            if not version.matches(first):
                filters.pop(name, None)
        # Inexact matches came with the generalized filters.
        filters = {k: v for k, v in filters.items() if not k.endswith("~")}
        if strip_unknown and not ctxt.is_admin:
            plain = {name.rstrip("~") for name in RESOURCE_FILTERS.get(resource, ())}
            filters = {k: v for k, v in filters.items() if k in plain}
        return filters
    if ctxt.is_admin:
        return filters
    like = version.matches(LIKE_FILTER)
    allowed = set(RESOURCE_FILTERS.get(resource, ()))
    plain = {name.rstrip("~") for name in allowed}
    filters.pop("all_tenants", None)
    invalid = [k for k in filters if k not in plain and not (like and k in allowed)]
    if invalid:
        names = ",".join(k[:40] for k in invalid)
        raise faults.bad_request(f"Invalid filters {names} are found in query options.")
    return filters


def literal(text: str) -> Any:
    """A filter value written as a Python or JSON literal (``{'k': 'v'}`` as
    cinderclient sends a dict), or the text itself."""
    for parse in (ast.literal_eval, json.loads):
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return text


TIME_OPERATORS = ("gt", "gte", "eq", "neq", "lt", "lte")


def time_comparisons(name: str, text: str) -> dict[str, dt.datetime]:
    """Cinder's time filter ``gt:2026-01-01T00:00:00,lte:...`` as ``{operator: time}``
    (naive UTC); 400 for an unknown operator or a time that is not ISO 8601."""
    comparisons: dict[str, dt.datetime] = {}
    for unit in text.split(","):
        operator, sep, when = unit.partition(":")
        if not sep:
            raise faults.bad_request(f"Invalid {name} value")
        if operator not in TIME_OPERATORS:
            raise faults.bad_request(f"Invalid {operator[:40]} operator")
        try:
            parsed = timeutils.parse_isotime(when)
        except ValueError as error:
            raise faults.bad_request(f"Invalid {when[:40]} value") from error
        comparisons[operator] = timeutils.normalize_time(parsed)
    return comparisons
