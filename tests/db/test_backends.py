"""The database layer on every supported server: SQLite, PostgreSQL and MariaDB.

Each test runs against a throwaway database on the real server (URLs from
``VOLMGR_TEST_PG_URL`` and ``VOLMGR_TEST_MYSQL_URL``, defaulting to the local
services): migrations, the double-manage guard under concurrency, row-locked quota
that stays exact, idempotent compensation, the ownership fence of a flow's steps
against a takeover, and transactions retried through a real deadlock and a short
outage of the server.
"""

import concurrent.futures
import contextlib
import datetime as dt
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from tests import databases
from tests.integration import daemons
from volmgr_common import exception
from volmgr_common.conf import startup
from volmgr_common.db import api as db_api
from volmgr_common.db import (
    messages,
    migration,
    models,
    quota,
    quota_audit,
    reservations,
    volume_creation,
    volume_ownership,
    volume_record,
    volume_transitions,
    volume_types,
    volumes,
)
from volmgr_common.page_request import PageRequest

PG_URL = databases.server_url("postgresql")
MYSQL_URL = databases.server_url("mysql")
LIMITS = quota.DefaultLimits(volumes=30, gigabytes=1000, per_type=-1, reservation_expire=60)


def database_url(backend: str, tmp_path: Path, stack: contextlib.ExitStack) -> str:
    """A new SQLite file, or a throwaway database on the server, dropped when ``stack`` closes."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/volmgr.sqlite"
    return stack.enter_context(databases.throwaway(backend))


def _synced(backend: str, tmp_path: Path) -> Iterator[db_api.Database]:
    with contextlib.ExitStack() as stack:
        conf: cfg.ConfigOpts = startup.new_conf()
        conf([], project="volmgr", default_config_files=[])
        conf.set_override("connection", database_url(backend, tmp_path, stack), group="database")
        db = db_api.Database(conf)
        migration.sync(db)
        yield db
        db.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[db_api.Database]:
    yield from _synced(request.param, tmp_path)


@pytest.fixture(params=["postgresql", "mysql"])
def server_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[db_api.Database]:
    """A database server only: SQLite has no deadlocks (one writer) and no connections."""
    yield from _synced(request.param, tmp_path)


def _manage_values(type_id: str, name: str) -> dict:
    ref = {"source-name": name}
    return {
        "project_id": "p1",
        "user_id": "u1",
        "host": "node@files",
        "availability_zone": "nova",
        "volume_type_id": type_id,
        "reference": json.dumps(ref),
        "reference_key": volume_creation.reference_key("node@files", ref),
    }


def test_schema_is_current_after_sync(database: db_api.Database) -> None:
    assert migration.is_current(database)
    assert migration.current_revision(database) is not None


def test_concurrent_manages_one_winner_per_object_and_exact_quota(
    database: db_api.Database,
) -> None:
    vtype = volume_types.get_or_create(database, "__DEFAULT__")

    def manage(i: int) -> str:
        try:
            volume = volume_creation.create_managing(
                database, _manage_values(vtype["id"], f"disk{i % 10}"), {}, LIMITS, vtype["name"]
            )
        except exception.ManageExistingAlreadyManaged:
            return "duplicate"
        deltas = quota.volume_deltas(vtype["name"], gigabytes=3)
        reservation = reservations.reserve(database, "p1", deltas, LIMITS, volume_id=volume["id"])
        assert volume_transitions.commit_gigabytes(database, volume["id"], reservation, 3)
        return "managed"

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(manage, range(30)))

    assert outcomes.count("managed") == 10
    assert outcomes.count("duplicate") == 20
    usage = quota.usage(database, "p1", LIMITS)
    assert usage["volumes"] == {"in_use": 10, "reserved": 0, "limit": 30}
    assert usage["gigabytes"] == {"in_use": 30, "reserved": 0, "limit": 1000}
    assert usage["volumes___DEFAULT__"]["in_use"] == 10


def test_a_batch_goes_through_every_step_together(database: db_api.Database) -> None:
    """The batch statements (multi-row inserts, IN-list locks, executemany updates)."""
    vtype = volume_types.get_or_create(database, "__DEFAULT__")
    quota.set_limit(database, "p1", "volumes", 4)
    new = [
        volume_creation.NewVolume(_manage_values(vtype["id"], name), {"k": name}, vtype["name"])
        for name in ("a", "b", "a", "c", "d", "e")
    ]
    written = volume_creation.create_managing_many(database, new, LIMITS)
    assert [type(w).__name__ for w in written] == [
        "dict",
        "dict",
        "ManageExistingAlreadyManaged",
        "dict",
        "dict",
        "OverQuota",
    ]
    ids = [w["id"] for w in written if isinstance(w, dict)]
    assert (
        volume_ownership.place_many(database, [(v, "node@files#pool") for v in ids]) == [True] * 4
    )
    claimed = volume_ownership.claim_flows(database, ids, "worker-1")
    assert sorted(claimed) == sorted(ids)
    assert claimed[ids[0]]["metadata"] == {"k": "a"}
    deltas = quota.volume_deltas(vtype["name"], gigabytes=2)
    requests = [reservations.ReservationRequest("p1", deltas, v) for v in ids]
    reserved = reservations.reserve_many(database, requests, LIMITS)
    assert all(isinstance(r, str) for r in reserved)
    commits = [
        volume_transitions.SizeCommit(v, str(r), 2) for v, r in zip(ids, reserved, strict=True)
    ]
    assert volume_transitions.commit_gigabytes_many(database, commits) == [True] * 4
    assert volume_transitions.commit_gigabytes_many(database, commits) == [False] * 4
    finished = volume_transitions.finish_manage_many(database, [(v, f"volume-{v}") for v in ids])
    assert finished == [True] * 4
    assert {volumes.get(database, v)["status"] for v in ids} == {volume_record.AVAILABLE}
    usage = quota.usage(database, "p1", LIMITS)
    assert usage["volumes"]["in_use"] == 4
    assert usage["gigabytes"] == {"in_use": 8, "reserved": 0, "limit": 1000}
    # The listing's filters and the summary are statements of the database too.
    listed = volumes.list_volumes(
        database, project_id="p1", filters={"metadata": {"k": "c"}, "bootable": False}
    )
    assert [v["id"] for v in listed] == [ids[2]]
    assert volumes.count_and_size(database, "p1") == (4, 8)
    assert volumes.distinct_metadata(database, "p1") == {"k": ["a", "b", "c", "d"]}
    assert (
        len(volumes.list_volumes(database, project_id="p1", filters={"consumes_quota": True})) == 4
    )
    assert volumes.list_volumes(database, project_id="p1", filters={"consumes_quota": False}) == []


def test_failure_compensation_twice_equals_once(database: db_api.Database) -> None:
    vtype = volume_types.get_or_create(database, "__DEFAULT__")
    volume = volume_creation.create_managing(
        database, _manage_values(vtype["id"], "disk"), {}, LIMITS, vtype["name"]
    )
    first = volume_transitions.fail_manage(database, volume["id"], "driver said no", "req-1")
    second = volume_transitions.fail_manage(database, volume["id"], "driver said no", "req-1")

    assert first is not None and first["status"] == volume_record.ERROR_MANAGING
    assert second is None
    assert quota.usage(database, "p1", LIMITS)["volumes"]["in_use"] == 0
    again = volume_creation.create_managing(
        database, _manage_values(vtype["id"], "disk"), {}, LIMITS, vtype["name"]
    )
    assert again["status"] == volume_record.MANAGING


def test_over_quota_leaves_usage_unchanged(database: db_api.Database) -> None:
    vtype = volume_types.get_or_create(database, "__DEFAULT__")
    quota.set_limit(database, "p1", "gigabytes", 5)
    volume = volume_creation.create_managing(
        database, _manage_values(vtype["id"], "big"), {}, LIMITS, vtype["name"]
    )
    with pytest.raises(exception.OverQuota, match="gigabytes"):
        reservations.reserve(
            database,
            "p1",
            quota.volume_deltas(vtype["name"], gigabytes=6),
            LIMITS,
            volume_id=volume["id"],
        )
    usage = quota.usage(database, "p1", LIMITS)
    assert usage["gigabytes"] == {"in_use": 0, "reserved": 0, "limit": 5}


def test_quota_check_reports_corrupted_usage_and_sync_repairs_it(
    database: db_api.Database,
) -> None:
    vtype = volume_types.get_or_create(database, "__DEFAULT__")
    volume = volume_creation.create_managing(
        database, _manage_values(vtype["id"], "disk"), {}, LIMITS, vtype["name"]
    )
    reservation = reservations.reserve(
        database,
        "p1",
        quota.volume_deltas(vtype["name"], gigabytes=4),
        LIMITS,
        volume_id=volume["id"],
    )
    volume_transitions.commit_gigabytes(database, volume["id"], reservation, 4)
    assert quota_audit.check(database) == []

    with database.engine.begin() as conn:
        conn.execute(
            sa.update(models.QuotaUsage)
            .where(models.QuotaUsage.resource == "gigabytes")
            .values(in_use=99, reserved=7)
        )
        conn.execute(sa.delete(models.QuotaUsage).where(models.QuotaUsage.resource == "volumes"))

    drifts = {d.resource: d for d in quota_audit.check(database)}
    assert set(drifts) == {"gigabytes", "volumes"}
    assert (drifts["gigabytes"].in_use, drifts["gigabytes"].true_in_use) == (99, 4)
    assert (drifts["gigabytes"].reserved, drifts["gigabytes"].true_reserved) == (7, 0)
    assert (drifts["volumes"].in_use, drifts["volumes"].true_in_use) == (0, 1)

    assert len(quota_audit.sync(database)) == 2
    assert quota_audit.check(database) == []
    usage = quota.usage(database, "p1", LIMITS)
    assert usage["gigabytes"]["in_use"] == 4 and usage["volumes"]["in_use"] == 1


def test_a_takeover_never_splits_a_fenced_step(database: db_api.Database) -> None:
    """A fenced step (a driver rename) holds its row until it has recorded what it did:
    a takeover meanwhile skips the row (PostgreSQL, MariaDB: it is locked) or waits
    for the step's commit (SQLite: one writer), never takes it in the middle. Once
    taken over, the old token runs no step at all.
    """
    vtype = volume_types.get_or_create(database, "__DEFAULT__")
    created = volume_creation.create_managing(
        database, _manage_values(vtype["id"], "disk"), {}, LIMITS, vtype["name"]
    )
    volume = volume_ownership.claim_flow(database, created["id"], "paused-worker")
    assert volume is not None
    token = volume["flow_owner"]
    inside, release = threading.Event(), threading.Event()
    steps: list[str] = []

    def rename() -> str:
        steps.append("rename")
        inside.set()
        assert release.wait(20)
        return "volume-x"

    def step() -> str:
        return volume_ownership.fenced(
            database, created["id"], token, rename, lambda loc: {"provider_location": loc}
        )

    later = -60.0  # a negative age: the claim looks unrenewed whenever it was stamped
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        stepping = pool.submit(step)
        assert inside.wait(20)
        takeover = pool.submit(
            volume_ownership.take_over_flow, database, created["id"], token, later
        )
        if not database.is_sqlite:
            assert takeover.result(timeout=10) is False, "the takeover took a row mid-step"
        else:
            assert not takeover.done()
        release.set()
        assert stepping.result(timeout=20) == "volume-x"
        took = takeover.result(timeout=40)
    assert volumes.get(database, created["id"])["provider_location"] == "volume-x"
    assert took is database.is_sqlite
    if not took:
        assert volume_ownership.take_over_flow(database, created["id"], token, later)
    with pytest.raises(exception.FlowOwnershipLost):
        volume_ownership.fenced(database, created["id"], token, rename, lambda _: {})
    assert steps == ["rename"]


def test_a_deadlock_is_retried_until_both_transactions_commit(
    server_database: db_api.Database,
) -> None:
    """Two transactions lock two rows in opposite orders: the server picks a victim."""
    db = server_database
    first, second = (volume_types.create(db, name)["id"] for name in ("type-a", "type-b"))
    both_hold_one = threading.Barrier(2, timeout=20)
    attempts: Counter[str] = Counter()

    @db_api.writer
    def lock_both(session: sa.orm.Session, one: str, other: str, writer: str) -> None:
        attempts[writer] += 1
        for type_id in (one, other):
            session.execute(
                sa.update(models.VolumeType)
                .where(models.VolumeType.id == type_id)
                .values(description=writer)
            )
            if type_id == one and attempts[writer] == 1:
                both_hold_one.wait()

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        jobs = [
            pool.submit(lock_both, db, first, second, "first-then-second"),
            pool.submit(lock_both, db, second, first, "second-then-first"),
        ]
        for job in jobs:
            job.result(timeout=60)

    assert sum(attempts.values()) == 3, f"one victim, retried once: {dict(attempts)}"
    [victim] = [writer for writer, count in attempts.items() if count == 2]
    with db.session(write=False) as session:
        written = set(session.scalars(sa.select(models.VolumeType.description)))
    assert written == {victim}, "the victim's retry ran after the winner and wrote both rows"


def _cut_off(db: db_api.Database) -> None:
    """End every connection to the database; PostgreSQL also refuses new ones."""
    name = db.url.database
    if db.url.get_backend_name() == "postgresql":
        daemons.pg_cut_off(PG_URL, name)
        return
    admin = sa.create_engine(MYSQL_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        ids = conn.execute(
            sa.text("SELECT id FROM information_schema.processlist WHERE db = :name"),
            {"name": name},
        ).scalars()
        for connection_id in list(ids):
            conn.exec_driver_sql(f"KILL {int(connection_id)}")
    admin.dispose()


def _reopen(db: db_api.Database) -> None:
    if db.url.get_backend_name() == "postgresql":
        daemons.pg_reopen(PG_URL, db.url.database)


def test_a_short_outage_is_retried_and_leaves_no_partial_state(
    server_database: db_api.Database,
) -> None:
    """Connections cut (PostgreSQL: and refused for 1.5 s) while a manage is written."""
    db = server_database
    vtype = volume_types.get_or_create(db, "__DEFAULT__")
    volume_creation.create_managing(
        db, _manage_values(vtype["id"], "before"), {}, LIMITS, vtype["name"]
    )
    _cut_off(db)
    reopen = threading.Timer(1.5, _reopen, args=(db,))
    reopen.start()
    try:
        during = volume_creation.create_managing(
            db, _manage_values(vtype["id"], "during"), {"k": "v"}, LIMITS, vtype["name"]
        )
    finally:
        reopen.join()
    assert during["metadata"] == {"k": "v"}
    assert sorted(v["name"] or v["reference"]["source-name"] for v in volumes.list_volumes(db)) == [
        "before",
        "during",
    ]
    usage = quota.usage(db, "p1", LIMITS)
    assert usage["volumes"] == {"in_use": 2, "reserved": 0, "limit": 30}
    assert quota_audit.check(db) == []


def _messages(db: db_api.Database) -> list[dict]:
    """24 messages over two projects; times, events and resources repeat, some are null."""
    start = dt.datetime(2026, 1, 1, 12, 0, 0)
    rows = [
        models.Message(
            id=str(uuid.uuid4()),
            project_id="p1" if i % 4 else "p2",
            request_id=f"req{i}",
            resource_type="VOLUME",
            resource_uuid=None if i % 5 == 0 else f"r{i % 3}",
            event_id=f"e{i % 3}",
            message_level="ERROR" if i % 2 else "WARNING",
            detail=f"message {i}",
            created_at=start + dt.timedelta(seconds=i // 3),
        )
        for i in range(24)
    ]
    with db.session(write=True) as session:
        session.add_all(rows)
    return [messages.to_dict(row) for row in rows]


def _expected(rows: list[dict], sort: list[tuple[str, str]]) -> list[str]:
    """The ids in ``sort`` order, then Cinder's created_at and id in the direction of
    the first key, by Python."""
    keys = [*sort, *((k, sort[0][1]) for k in ("created_at", "id") if k not in dict(sort))]
    ordered = list(rows)
    for key, direction in reversed(keys):
        ordered.sort(key=lambda m, k=key: m[k] or "", reverse=direction == "desc")
    return [m["id"] for m in ordered]


@pytest.mark.parametrize(
    "sort",
    [
        [("created_at", "desc")],
        [("created_at", "asc")],
        [("event_id", "asc"), ("created_at", "desc")],
        [("resource_uuid", "desc"), ("message_level", "asc")],
        [("id", "asc")],
    ],
)
def test_messages_are_sorted_and_paged_by_the_database(
    database: db_api.Database, sort: list[tuple[str, str]]
) -> None:
    rows = [m for m in _messages(database) if m["project_id"] == "p1"]
    expected = _expected(rows, sort)
    walked: list[str] = []
    marker = None
    while True:
        page = messages.list_page(database, "p1", {}, PageRequest(marker, 5, sort=tuple(sort)))
        walked += [m["id"] for m in page]
        if len(page) < 5:
            break
        marker = page[-1]["id"]
    assert walked == expected


def test_message_filters_marker_and_project(database: db_api.Database) -> None:
    rows = _messages(database)
    sort = [("created_at", "asc")]
    sorting = tuple(sort)
    wanted = [m for m in rows if m["project_id"] == "p1" and m["event_id"] == "e1"]
    listed = messages.list_page(
        database, "p1", {"event_id": "e1"}, PageRequest(None, 100, sort=sorting)
    )
    assert [m["id"] for m in listed] == _expected(wanted, sort)
    everyone = messages.list_page(
        database, None, {"event_id": "e1"}, PageRequest(None, 100, sort=sorting)
    )
    assert len(everyone) == len([m for m in rows if m["event_id"] == "e1"]) > len(listed)
    outside = next(m["id"] for m in rows if m["event_id"] != "e1")
    with pytest.raises(exception.InvalidMarker):
        messages.list_page(
            database, "p1", {"event_id": "e1"}, PageRequest(outside, 100, sort=sorting)
        )
    # A name that is not a filter matches nothing, as in Cinder; ~ asks for a part.
    assert messages.list_page(database, "p1", {"detail": "x"}, PageRequest(None, 100)) == []
    some = messages.list_page(database, "p1", {"event_id~": "1"}, PageRequest(None, 100))
    assert {m["id"] for m in some} == {
        m["id"] for m in rows if m["project_id"] == "p1" and "1" in m["event_id"]
    }
    with pytest.raises(exception.InvalidInput):
        messages.list_page(database, "p1", {}, PageRequest(None, 100, sort=(("detail", "asc"),)))
    other = next(m for m in rows if m["project_id"] == "p2")
    assert messages.get(database, other["id"], project_id="p1") is None
    assert messages.get(database, other["id"]) == other
