"""Which filters a listing takes, per role and microversion; time comparisons; literals."""

import datetime as dt

import pytest

from volmgr_api.rest import faults, filters
from volmgr_api.rest.microversion import APIVersion
from volmgr_common.context import RequestContext
from volmgr_common.db import paging

ADMIN = RequestContext(user_id="admin", project_id="p", roles=["admin"])
USER = RequestContext(user_id="u", project_id="p", roles=["member"])
ADDED = (("3.10", "group_id"), ("3.60", "created_at"))


def taken(ctxt: RequestContext, version: str, query: dict[str, str], **kw: object) -> dict:
    return filters.user_filters(ctxt, APIVersion.parse(version), "volume", query, **kw)  # type: ignore[arg-type]


def refused(ctxt: RequestContext, version: str, query: dict[str, str], **kw: object) -> str:
    with pytest.raises(faults.HTTPError) as raised:
        taken(ctxt, version, query, **kw)
    assert raised.value.code == 400
    return raised.value.message


def test_before_3_31_a_users_unknown_filters_are_dropped() -> None:
    query = {"name": "a", "foo": "1", "all_tenants": "1", "host": "h", "name~": "x"}
    assert taken(USER, "3.0", query) == {"name": "a"}
    assert taken(ADMIN, "3.30", query) == {"name": "a", "foo": "1", "all_tenants": "1", "host": "h"}


def test_filters_of_later_versions_are_dropped_before_3_31() -> None:
    query = {"group_id": "g", "created_at": "gt:2026-01-01"}
    assert taken(ADMIN, "3.9", query, drop_before=ADDED) == {}
    assert taken(ADMIN, "3.10", query, drop_before=ADDED) == {"group_id": "g"}
    assert taken(ADMIN, "3.31", query, drop_before=ADDED) == query  # generalized: kept


def test_from_3_31_a_users_unknown_filter_is_a_400() -> None:
    assert refused(USER, "3.31", {"foo": "1", "host": "h", "name": "a"}) == (
        "Invalid filters foo,host are found in query options."
    )
    assert taken(USER, "3.31", {"name": "a", "all_tenants": "1"}) == {"name": "a"}
    assert taken(ADMIN, "3.31", {"foo": "1"}) == {"foo": "1"}
    with pytest.raises(faults.HTTPError):
        taken(ADMIN, "3.31", {"naïve": "1"})  # keys are ASCII


def test_inexact_filters_for_users_from_3_34_when_listed() -> None:
    assert refused(USER, "3.33", {"name~": "a"}).startswith("Invalid filters name~")
    assert taken(USER, "3.34", {"name~": "a", "name": "b"}) == {"name~": "a", "name": "b"}
    assert refused(USER, "3.34", {"status~": "a"}).startswith("Invalid filters status~")


def test_a_generalized_version_of_its_own_and_unknown_filters_kept() -> None:
    assert taken(USER, "3.40", {"foo": "1"}, generalized_since="3.52") == {}
    assert taken(USER, "3.5", {"foo": "1"}, strip_unknown=False) == {"foo": "1"}


def test_time_comparisons() -> None:
    parsed = filters.time_comparisons("created_at", "gt:2026-01-01T10:00:00+01:00,lte:2026-02-01")
    assert parsed == {"gt": dt.datetime(2026, 1, 1, 9, 0), "lte": dt.datetime(2026, 2, 1)}
    for text, message in (
        ("soon:2026-01-01", "Invalid soon operator"),
        ("gt:never", "Invalid never value"),
        ("2026", "Invalid created_at value"),
    ):
        with pytest.raises(faults.HTTPError) as raised:
            filters.time_comparisons("created_at", text)
        assert raised.value.message == message


def test_literals_as_cinderclient_writes_them() -> None:
    assert filters.literal("{'k': 'v'}") == {"k": "v"}
    assert filters.literal('{"k": "v"}') == {"k": "v"}
    assert filters.literal("plain text") == "plain text"


def test_cinders_default_sort_keys_follow_the_first_direction() -> None:
    assert paging.with_default_keys([]) == [("created_at", "desc"), ("id", "desc")]
    assert paging.with_default_keys([("name", "asc"), ("size", "desc")]) == [
        ("name", "asc"), ("size", "desc"), ("created_at", "asc"), ("id", "asc"),
    ]  # fmt: skip
    assert paging.with_default_keys([("id", "asc")]) == [("id", "asc"), ("created_at", "asc")]
