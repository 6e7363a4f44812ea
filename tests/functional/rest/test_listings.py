"""Listings over REST as Cinder lists them: sort keys, filters per microversion, paging.

* Volumes sort by any of their columns (``name`` too), ``sort=k:d,...`` or the older
  ``sort_key``/``sort_dir``, newest first by default; pages followed through their
  ``next`` links put together the whole order, also across equal names.
* A page with ``offset`` is one SELECT in SQL: nothing is read up to the offset.
* Unknown filters: an administrator's match nothing; a user's are dropped before
  3.31 and refused with 400 from 3.31. ``name~`` (3.34), time comparisons (3.60),
  ``GET resource_filters`` (3.33). Snapshot listings take the same rules, with
  their own filters (``name``, ``status``, ``volume_id``, ``metadata``).
* Types: by name in the list (what ``cinder type-show NAME`` asks) and in the URL,
  sorted and paged. Messages and services read their parameters as Cinder does.
"""

import threading
import urllib.parse
from typing import Any

import pytest
import sqlalchemy as sa

from tests.functional.rest.conftest import Rest, fresh_admin, fresh_member
from tests.functional.rest.test_snapshots import body, wait_snapshot
from volmgr_common.db import volume_types as types_db

NAMES = ["x", "y", "x", "y", "x"]


@pytest.fixture(scope="module")
def owner() -> dict[str, str]:
    return fresh_admin()


@pytest.fixture(scope="module")
def five(rest: Rest, owner: dict[str, str]) -> list[dict]:
    """Five volumes of ``owner``, oldest first, with names that repeat."""
    return [rest.manage(headers=owner, name=name) for name in NAMES]


def ids(response: Any) -> list[str]:
    assert response.status_int == 200, response.text
    return [v["id"] for v in response.json["volumes"]]


def member_of(owner: dict[str, str]) -> dict[str, str]:
    """A user who is not an admin, in ``owner``'s project."""
    return {**fresh_member(), "X-Project-Id": owner["X-Project-Id"]}


def walk(rest: Rest, headers: dict[str, str], query: str) -> list[str]:
    """Every volume of a listing, page after page through its ``next`` links."""
    found: list[str] = []
    path = f"volumes?{query}"
    for _ in range(20):
        page = rest.call("GET", path, headers=headers)
        found += ids(page)
        links = page.json.get("volumes_links")
        if not links:
            return found
        href = urllib.parse.urlsplit(links[0]["href"])
        path = f"{href.path}?{href.query}"
    raise AssertionError("the listing did not end")


def test_sort_by_name_pages_across_equal_names(rest: Rest, owner: dict, five: list) -> None:
    by_name = sorted(range(5), key=lambda i: (NAMES[i], i))  # then created_at, id asc
    expected = [five[i]["id"] for i in by_name]
    assert ids(rest.call("GET", "volumes?sort=name:asc", headers=owner)) == expected
    assert walk(rest, owner, "sort=name:asc&limit=2") == expected
    # What python-cinderclient sends for --sort name:desc; the exact reverse.
    assert walk(rest, owner, "sort=display_name:desc&limit=2") == expected[::-1]
    assert walk(rest, owner, "sort_key=name&sort_dir=asc&limit=3") == expected


def test_default_order_and_several_keys(rest: Rest, owner: dict, five: list) -> None:
    newest_first = [v["id"] for v in reversed(five)]
    assert walk(rest, owner, "limit=2") == newest_first
    assert ids(rest.call("GET", "volumes?sort=size", headers=owner)) == newest_first
    listed = ids(rest.call("GET", "volumes?sort=name:desc,created_at:asc", headers=owner))
    assert listed == [five[i]["id"] for i in (1, 3, 0, 2, 4)]


def test_offset_is_read_in_sql(rest: Rest, owner: dict, five: list) -> None:
    here = threading.get_ident()
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if threading.get_ident() == here and "FROM volumes" in statement:
            statements.append((statement, parameters))

    sa.event.listen(rest.db.engine, "before_cursor_execute", record)
    try:
        page = rest.call("GET", "volumes?offset=3&limit=1", headers=owner)
    finally:
        sa.event.remove(rest.db.engine, "before_cursor_execute", record)
    assert ids(page) == [five[1]["id"]]
    [(statement, parameters)] = statements  # one SELECT, not pages up to the offset
    assert "LIMIT" in statement and "OFFSET" in statement
    assert {1, 3} <= set(parameters)


def test_unknown_filters_per_version_and_role(rest: Rest, owner: dict, five: list) -> None:
    member = member_of(owner)
    everything = sorted(v["id"] for v in five)
    # Before 3.31 a user's unknown filter is dropped, and all_tenants with it.
    for version in ("3.0", "3.30"):
        response = rest.call("GET", "volumes?foo=1&all_tenants=1", headers=member, version=version)
        assert sorted(ids(response)) == everything
    refused = rest.call("GET", "volumes?foo=1&bar=2", headers=member, version="3.31")
    assert refused.status_int == 400
    assert refused.json["badRequest"]["message"] == (
        "Invalid filters foo,bar are found in query options."
    )
    # all_tenants is excused: clients always send it.
    assert sorted(ids(rest.call("GET", "volumes?all_tenants=1", headers=member, version="3.31")))
    # An admin may filter by anything: a name no volume has matches nothing.
    assert ids(rest.call("GET", "volumes?foo=1", headers=owner, version="3.31")) == []
    assert ids(rest.call("GET", "volumes?foo=1", headers=owner)) == []
    # Filters that came later are dropped from older requests (before 3.31).
    older = rest.call("GET", "volumes?created_at=gt:2999-01-01T00:00:00", headers=owner)
    assert sorted(ids(older)) == everything


def test_inexact_names(rest: Rest, owner: dict, five: list) -> None:
    member = member_of(owner)
    xs = sorted(five[i]["id"] for i in (0, 2, 4))
    for headers, version in ((member, "3.34"), (owner, "3.31")):
        response = rest.call("GET", "volumes?name~=x&sort=id:asc", headers=headers, version=version)
        assert ids(response) == xs
    refused = rest.call("GET", "volumes?name~=x", headers=member, version="3.33")
    assert refused.status_int == 400
    # Before 3.31 a ~ filter is not one: dropped.
    assert len(ids(rest.call("GET", "volumes?name~=x", headers=owner, version="3.30"))) == 5
    # LIKE's wildcards are plain characters.
    assert ids(rest.call("GET", "volumes?name~=_", headers=owner, version="3.34")) == []


def test_time_comparisons(rest: Rest, owner: dict, five: list) -> None:
    middle = five[2]["created_at"]
    query = f"volumes?created_at=gt:{middle}&sort=created_at:asc"
    assert ids(rest.call("GET", query, headers=owner, version="3.60")) == [
        five[3]["id"],
        five[4]["id"],
    ]
    query = f"volumes?created_at=lte:{middle},gt:{five[3]['created_at']}&sort=created_at:asc"
    assert ids(rest.call("GET", query, headers=owner, version="3.60")) == [
        five[i]["id"] for i in (0, 1, 2, 4)
    ]
    member = member_of(owner)
    query = f"volumes?created_at=gte:{middle}&updated_at=gte:2000-01-01T00:00:00"
    assert len(ids(rest.call("GET", query, headers=member, version="3.60"))) == 3
    for bad, message in (("soon:2026-01-01", "Invalid soon operator"), ("gt:never", "Invalid")):
        response = rest.call("GET", f"volumes?created_at={bad}", headers=owner, version="3.60")
        assert response.status_int == 400
        assert message in response.json["badRequest"]["message"]


def test_summary_takes_the_filters(rest: Rest, owner: dict, five: list) -> None:
    response = rest.call("GET", "volumes/summary?name=x", headers=owner, version="3.12")
    assert response.json == {"volume-summary": {"total_count": 3, "total_size": 3}}


def test_resource_filters(rest: Rest) -> None:
    headers = fresh_member()
    assert rest.call("GET", "resource_filters", headers=headers, version="3.32").status_int == 404
    listed = rest.call("GET", "resource_filters", headers=headers, version="3.33").json
    by_resource = {f["resource"]: f["filters"] for f in listed["resource_filters"]}
    assert set(by_resource) == {"volume", "snapshot", "message", "volume_type"}
    assert by_resource["snapshot"] == [
        "name",
        "status",
        "volume_id",
        "metadata",
        "availability_zone",
    ]
    assert "name~" in by_resource["volume"] and "metadata" in by_resource["volume"]
    one = rest.call("GET", "resource_filters?resource=volume_type", headers=headers, version="3.33")
    assert one.json == {
        "resource_filters": [
            {"resource": "volume_type", "filters": ["name", "is_public", "extra_specs"]}
        ]
    }
    none = rest.call("GET", "resource_filters?resource=pool", headers=headers, version="3.33")
    assert none.json == {"resource_filters": []}


def test_types_by_name_sorted_and_paged(rest: Rest) -> None:
    prefix = fresh_member()["X-User-Id"]
    made = [
        types_db.create(rest.db, f"{prefix}-{i}", {"tier": "fast"} if i else {}) for i in range(3)
    ]
    admin, member = fresh_admin(), fresh_member()
    named = rest.call("GET", f"types?name={made[1]['name']}&is_public=None", headers=admin).json
    assert [t["id"] for t in named["volume_types"]] == [made[1]["id"]]
    # A user may filter types by name (python-cinderclient finds a type by name so).
    by_name = rest.call("GET", f"types?name={made[1]['name']}", headers=member, version="3.52")
    assert [t["id"] for t in by_name.json["volume_types"]] == [made[1]["id"]]
    specs = urllib.parse.quote("{'tier': 'fast'}")  # as python-cinderclient writes it
    fast = rest.call("GET", f"types?extra_specs={specs}", headers=admin, version="3.52").json
    assert {t["id"] for t in fast["volume_types"]} == {t["id"] for t in made[1:]}
    # Extra specs are the admin's to read: a user finds no type by them.
    hidden = rest.call("GET", f"types?extra_specs={specs}", headers=member, version="3.52")
    assert hidden.json == {"volume_types": []}
    shown = rest.call("GET", f"types/{made[2]['name']}", headers=member).json
    assert shown["volume_type"]["id"] == made[2]["id"]
    default = rest.call("GET", "types/default", headers=member).json
    assert default["volume_type"]["name"] == rest.conf.default_volume_type
    page = rest.call("GET", "types?sort=name:desc&limit=1", headers=admin).json["volume_types"]
    after = rest.call(
        "GET", f"types?sort=name:desc&limit=100&marker={page[0]['id']}", headers=admin
    ).json["volume_types"]
    names = [t["name"] for t in page + after]
    assert names == sorted(names, reverse=True) and len(names) >= 4
    newest = rest.call("GET", "types?limit=1", headers=admin).json["volume_types"]
    assert newest[0]["id"] == made[2]["id"]


def test_message_pages_link_the_next(rest: Rest, owner: dict, five: list) -> None:
    for _ in range(3):
        body = rest.manage_body("absent-file.img")
        created = rest.call("POST", "os-volume-manage", body, headers=owner).json["volume"]
        assert rest.wait_status(created["id"], headers=owner)["status"] == "error"
    first = rest.call("GET", "messages?limit=2", headers=owner, version="3.5").json
    [link] = first["messages_links"]
    href = urllib.parse.urlsplit(link["href"])
    assert f"marker={first['messages'][-1]['id']}" in href.query
    rest_of = rest.call("GET", f"{href.path}?{href.query}", headers=owner, version="3.5").json
    assert len(first["messages"] + rest_of["messages"]) == 3
    assert "messages_links" not in rest_of


def test_message_filters_per_version(rest: Rest) -> None:
    member = fresh_member()
    assert rest.call("GET", "messages?foo=1", headers=member, version="3.5").json == {
        "messages": []
    }
    refused = rest.call("GET", "messages?foo=1", headers=member, version="3.31")
    assert refused.status_int == 400
    listed = rest.call("GET", "messages?event_id~=VOLUME", headers=member, version="3.34")
    assert listed.status_int == 400  # event_id~ is not a listed filter
    assert rest.call("GET", "messages?foo=1", headers=member, version="3.3").status_int == 200


def snapshot_ids(response: Any) -> list[str]:
    assert response.status_int == 200, response.text
    return [s["id"] for s in response.json["snapshots"]]


def test_snapshot_filters_per_version_and_role(rest: Rest, owner: dict, five: list) -> None:
    """Two snapshot records of ``owner`` (the file driver has no snapshots: both end in
    error, and stay listed), filtered as Cinder filters snapshots."""
    made = {}
    for name, metadata in (("nightly", {"k": "v"}), ("weekly", {"k": "w"})):
        ref = {"source-name": f"{name}.qcow2"}
        body = {"snapshot": {"volume_id": five[0]["id"], "ref": ref}}
        body["snapshot"].update(name=name, metadata=metadata)
        response = rest.call("POST", "os-snapshot-manage", body, headers=owner)
        assert response.status_int == 202, response.text
        made[name] = response.json["snapshot"]["id"]
    member = member_of(owner)
    both = sorted(made.values())
    for version in ("3.0", "3.30"):  # a user's unknown filter is dropped
        response = rest.call("GET", "snapshots?foo=1", headers=member, version=version)
        assert sorted(snapshot_ids(response)) == both
    refused = rest.call("GET", "snapshots/detail?foo=1", headers=member, version="3.31")
    assert refused.status_int == 400
    assert (
        refused.json["badRequest"]["message"] == "Invalid filters foo are found in query options."
    )
    # An admin's filter that no snapshot has matches nothing.
    assert snapshot_ids(rest.call("GET", "snapshots?foo=1", headers=owner, version="3.31")) == []
    # metadata as cinderclient sends it, name, and an admin's inexact name.
    wanted = urllib.parse.quote("{'k': 'w'}")
    by_metadata = rest.call("GET", f"snapshots?metadata={wanted}", headers=member, version="3.31")
    assert snapshot_ids(by_metadata) == [made["weekly"]]
    assert snapshot_ids(rest.call("GET", "snapshots?name=nightly", headers=member)) == [
        made["nightly"]
    ]
    inexact = rest.call("GET", "snapshots?name~=ight", headers=owner, version="3.31")
    assert snapshot_ids(inexact) == [made["nightly"]]
    refused = rest.call("GET", "snapshots?name~=ight", headers=member, version="3.34")
    assert refused.status_int == 400  # Cinder lists ``name`` for snapshots, not ``name~``
    # with_count (3.45): how many match in all pages, whatever the page's limit.
    counted = rest.call(
        "GET", "snapshots?with_count=true&limit=1", headers=member, version="3.45"
    ).json
    assert (len(counted["snapshots"]), counted["count"]) == (1, 2)
    counted = rest.call(
        "GET", "snapshots/detail?with_count=true&name=weekly", headers=member, version="3.45"
    ).json
    assert counted["count"] == 1
    older = rest.call("GET", "snapshots?with_count=true", headers=member, version="3.44").json
    assert "count" not in older
    # availability_zone: that of the snapshot's volume (Cinder's snapshot filter).
    zone = five[0]["availability_zone"]
    in_zone = rest.call(
        "GET", f"snapshots?availability_zone={zone}", headers=member, version="3.31"
    )
    assert sorted(snapshot_ids(in_zone)) == both
    elsewhere = rest.call("GET", "snapshots?availability_zone=nowhere", headers=member)
    assert snapshot_ids(elsewhere) == []


def test_a_snapshot_on_a_backend_without_snapshots_says_so(rest: Rest) -> None:
    """The file backend has no snapshots: the manage ends in error with a message that
    says so (detail 911), not one about the reference."""
    headers = fresh_admin()
    volume = rest.manage(headers=headers)
    rest.make_file("plain-snap.img")
    created = rest.call(
        "POST", "os-snapshot-manage", body(volume["id"], "plain-snap.img"), headers=headers
    )
    assert created.status_int == 202, created.text
    snapshot = wait_snapshot(rest, created.json["snapshot"]["id"], headers)
    assert snapshot["status"] == "error"
    messages = rest.call("GET", "messages", headers=headers, version="3.3").json["messages"]
    [message] = [m for m in messages if m["resource_uuid"] == snapshot["id"]]
    assert message["event_id"] == "VOLUME_VOLUME_SNAPSHOT_902_911"
    assert "does not manage snapshots" in message["user_message"]
    assert (rest.files / "plain-snap.img").exists()
