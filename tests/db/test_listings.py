"""Listings in SQL on SQLite, PostgreSQL and MariaDB: Cinder's order, filters, paging.

* Every sort key and direction, with Cinder's default keys after them, gives one
  total order; pages read by marker and limit, also across rows whose sort values
  are equal or NULL, put together are exactly that order.
* ``offset`` and ``limit`` are part of the one SELECT a page costs: no page reads
  the rows before it.
* Filters: exact columns (``host`` with its pools), inexact ``~`` with LIKE's
  wildcards taken literally, time comparisons, metadata; a name that no volume has
  gives nothing.
* Volume types: filtered by ``is_public``, ``name`` and extra specs, sorted and paged.
"""

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.db.test_backends import _synced
from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import models, volume_types, volumes
from volmgr_common.page_request import PageRequest

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)
NAMES = ["b", "a", "c", "a", None, "b", "a_x", "a%x"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[db_api.Database]:
    """One database per server for the module: the tests only read the rows of
    :func:`rows`, and add types of their own."""
    yield from _synced(request.param, tmp_path_factory.mktemp("listings"))


def _volume(type_id: str, i: int, name: str | None, created: dt.datetime) -> models.Volume:
    return models.Volume(
        id=str(uuid.UUID(int=i + 1)),
        project_id="p1" if i % 4 else "p2",
        user_id="u1",
        display_name=name,
        display_description=None if i % 2 else f"described {i}",
        status="available" if i % 3 else "error_managing",
        host="node@files#pool" if i % 2 else "node@files",
        availability_zone="nova",
        volume_type_id=type_id,
        size=i % 3,
        bootable=bool(i % 2),
        reference="{}",
        created_at=created,
    )


@pytest.fixture(scope="module")
def rows(database: db_api.Database) -> list[str]:
    """Eight volumes; several share a name, a size or a creation time (ids in order)."""
    gold = volume_types.create(database, "gold", {"tier": "fast"})
    with database.session(True) as session:
        for i, name in enumerate(NAMES):
            created = T0 + dt.timedelta(minutes=i // 2)  # pairs created at the same time
            session.add(_volume(gold["id"], i, name, created))
            session.flush()
        for i in (0, 1):
            session.add(
                models.VolumeMetadata(volume_id=str(uuid.UUID(int=i + 1)), key="k", value="v")
            )
    return [str(uuid.UUID(int=i + 1)) for i in range(len(NAMES))]


def listed(
    database: db_api.Database, page: PageRequest = volumes.EVERY_VOLUME, **kw: Any
) -> list[str]:
    return [v["id"] for v in volumes.list_volumes(database, page, **kw)]


def _expected(rows: list[str], sort: list[tuple[str, str]]) -> list[str]:
    """The order Cinder gives, computed in Python from the rows' known values."""
    keys = {
        "display_name": lambda i: NAMES[i] or "",
        "size": lambda i: i % 3,
        "created_at": lambda i: T0 + dt.timedelta(minutes=i // 2),
        "id": lambda i: rows[i],
    }
    order = list(range(len(rows)))
    for key, direction in reversed(sort):
        order.sort(key=keys[key], reverse=direction == "desc")
    return [rows[i] for i in order]


def test_default_order_is_newest_first(database: db_api.Database, rows: list[str]) -> None:
    assert listed(database) == _expected(rows, [("created_at", "desc"), ("id", "desc")])


@pytest.mark.parametrize(
    "sort",
    [
        [("name", "asc")],
        [("name", "desc")],
        [("size", "asc"), ("name", "desc")],
        [("created_at", "asc")],
        [("id", "desc")],
    ],
)
@pytest.mark.parametrize("limit", [1, 3])
def test_pages_by_marker_make_the_whole_order(
    database: db_api.Database, rows: list[str], sort: list[tuple[str, str]], limit: int
) -> None:
    # Cinder appends created_at and id in the direction of the first key.
    full = [("display_name" if k == "name" else k, d) for k, d in sort]
    full += [(k, sort[0][1]) for k in ("created_at", "id") if k not in dict(full)]
    whole = listed(database, PageRequest(sort=tuple(sort)))
    assert whole == _expected(rows, full)
    pages: list[str] = []
    marker = None
    for _ in range(len(rows) + 1):
        page = listed(database, PageRequest(marker, limit, sort=tuple(sort)))
        pages += page
        if len(page) < limit:
            break
        marker = page[-1]
    assert pages == whole


def test_nullable_sort_key_pages_across_nulls(database: db_api.Database, rows: list[str]) -> None:
    sort = (("display_description", "asc"),)
    whole = listed(database, PageRequest(sort=sort))
    assert len(whole) == len(rows)
    paged = [
        *listed(database, PageRequest(None, 3, sort=sort)),
    ]
    while len(paged) < len(rows):
        paged += listed(database, PageRequest(paged[-1], 3, sort=sort))
    assert paged == whole


def test_offset_and_limit_are_in_the_one_select(database: db_api.Database, rows: list[str]) -> None:
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "FROM volumes" in statement:
            statements.append((statement, parameters))

    sa.event.listen(database.engine, "before_cursor_execute", record)
    try:
        page = listed(database, PageRequest(limit=2, offset=5))
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", record)
    assert page == _expected(rows, [("created_at", "desc"), ("id", "desc")])[5:7]
    [(statement, parameters)] = statements
    assert "LIMIT" in statement.upper()  # MySQL writes LIMIT offset, count
    values = parameters.values() if isinstance(parameters, dict) else parameters
    assert {2, 5} <= set(values)


def test_marker_then_offset(database: db_api.Database, rows: list[str]) -> None:
    whole = listed(database)
    assert listed(database, PageRequest(whole[1], 2, offset=2)) == whole[4:6]
    with pytest.raises(exception.VolumeNotFound):
        listed(database, PageRequest(str(uuid.uuid4()), 2))
    with pytest.raises(exception.VolumeNotFound):  # another project's volume
        listed(database, PageRequest(rows[0], 2), project_id="p1")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"name": "a"}, [1, 3]),
        ({"display_name": "a"}, [1, 3]),
        ({"name~": "a"}, [1, 3, 6, 7]),
        ({"name~": "_"}, [6]),  # LIKE's wildcards are taken literally
        ({"name~": "%"}, [7]),
        ({"status": "available", "size": "1"}, [1, 4, 7]),
        ({"size": 2}, [2, 5]),
        ({"bootable": "true"}, [1, 3, 5, 7]),
        ({"host": "node@files"}, list(range(8))),  # the backend's pools too
        ({"host": "node@files#pool"}, [1, 3, 5, 7]),
        ({"metadata": {"k": "v"}}, [0, 1]),
        ({"metadata": {"k": "v", "other": "x"}}, []),
        ({"metadata": [1]}, []),
        ({"created_at": {"gte": T0 + dt.timedelta(minutes=3)}}, [6, 7]),
        ({"created_at": {"lt": T0 + dt.timedelta(minutes=1)}}, [0, 1]),
        ({"created_at": {"lt": T0, "gt": T0 + dt.timedelta(minutes=2)}}, [6, 7]),  # or
        ({"created_at": {"neq": T0}}, [2, 3, 4, 5, 6, 7]),
        ({"project_id": "p2"}, [0, 4]),
        ({"migration_status": "migrating"}, []),  # no volume has the column
        ({"reference": "{}"}, []),  # bookkeeping columns are not filters
        ({"id": ["00000000-0000-0000-0000-000000000001"]}, [0]),
    ],
)
def test_filters(
    database: db_api.Database, rows: list[str], filters: dict[str, Any], expected: list[int]
) -> None:
    sort = (("id", "asc"),)
    assert listed(database, PageRequest(sort=sort), filters=filters) == [rows[i] for i in expected]


def test_bad_values_and_sorts_are_invalid_input(database: db_api.Database, rows: list[str]) -> None:
    for filters in ({"size": "big"}, {"created_at": {"soon": T0}}):
        with pytest.raises(exception.InvalidInput):
            listed(database, filters=filters)
    for sort in ((("reference", "asc"),), (("name", "up"),)):
        with pytest.raises(exception.InvalidInput):
            listed(database, PageRequest(sort=sort))


def test_count_and_size_with_filters(database: db_api.Database, rows: list[str]) -> None:
    assert volumes.count_and_size(database, filters={"name": "a"}) == (2, 1)
    assert volumes.count_and_size(database, "p1", filters={"bootable": True}) == (4, 4)
    assert volumes.count_and_size(database, filters={"group_id": "g"}) == (0, 0)


def test_volume_types_filters_sort_and_pages(database: db_api.Database, rows: list[str]) -> None:
    """Three types besides the ``gold`` type of :func:`rows` (public, newest, tier fast)."""
    made = [
        volume_types.create(database, name, specs)
        for name, specs in [
            ("t1", {"tier": "fast"}),
            ("t2", {}),
            ("t3", {"tier": "fast", "x": "1"}),
        ]
    ]
    with database.session(True) as session:
        session.execute(
            sa.update(models.VolumeType)
            .where(models.VolumeType.id == made[1]["id"])
            .values(is_public=False)
        )
        for i, vtype in enumerate(made):
            session.execute(
                sa.update(models.VolumeType)
                .where(models.VolumeType.id == vtype["id"])
                .values(created_at=T0 + dt.timedelta(minutes=i))
            )

    def names(filters: dict[str, Any], page: PageRequest = volumes.EVERY_VOLUME) -> list[str]:
        return [t["name"] for t in volume_types.list_page(database, filters, page)]

    assert names({}) == ["gold", "t3", "t2", "t1"]
    assert names({"is_public": True}) == ["gold", "t3", "t1"]
    assert names({"extra_specs": {"tier": "fast"}}) == ["gold", "t3", "t1"]
    assert names({"extra_specs": {"tier": "fast", "x": "1"}}) == ["t3"]
    assert names({"name": "t2"}) == ["t2"]
    assert names({"qos": "x"}) == []
    assert names({}, PageRequest(sort=(("name", "asc"),))) == ["gold", "t1", "t2", "t3"]
    first = names({}, PageRequest(limit=2, sort=(("name", "desc"),)))
    after = names({}, PageRequest(made[1]["id"], 2, sort=(("name", "desc"),)))
    assert (first, after) == (["t3", "t2"], ["t1", "gold"])
    assert names({}, PageRequest(limit=1, offset=2)) == ["t2"]
    with pytest.raises(exception.VolumeTypeNotFound):
        names({}, PageRequest(marker="nothing"))


def test_every_pair_of_keys_is_a_total_order(database: db_api.Database, rows: list[str]) -> None:
    keys = ["name", "size", "status", "host", "bootable", "updated_at", "project_id"]
    for first, second in itertools.combinations(keys, 2):
        sort = ((first, "asc"), (second, "desc"))
        whole = listed(database, PageRequest(sort=sort))
        paged: list[str] = []
        while len(paged) < len(whole):
            paged += listed(database, PageRequest(paged[-1] if paged else None, 3, sort=sort))
        assert paged == whole and sorted(whole) == sorted(rows), (first, second)
