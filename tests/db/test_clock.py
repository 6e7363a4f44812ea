"""Times that hosts compare are the database's, on SQLite, PostgreSQL and MariaDB.

A heartbeat, a volume row's last change and a reservation's expiry are stamped by
the database's clock and compared with it in the statement that reads them, so a
host whose clock is off can neither keep a dead service up nor make a live one
down; a heartbeat from the future counts as down.
"""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.db.test_backends import LIMITS, _manage_values, _synced
from volmgr_common.db import api as db_api
from volmgr_common.db import (
    clock,
    models,
    quota,
    reservations,
    services,
    volume_creation,
    volume_ownership,
    volume_recovery,
    volume_types,
)

DOWN_TIME = 15
HOST = "node@files"


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[db_api.Database]:
    yield from _synced(request.param, tmp_path)


def db_now(db: db_api.Database) -> dt.datetime:
    with db.session(write=False) as session:
        return clock.now(session)


def set_column(db: db_api.Database, table: type[models.Base], column: str, value: object) -> None:
    with db.engine.begin() as connection:
        connection.execute(sa.update(table).values({column: value}))


def is_up(db: db_api.Database) -> bool:
    return bool(services.get_by_host(db, HOST, "volmgr-volume", down_time=DOWN_TIME)["is_up"])


def test_utc_now_is_the_databases_time_with_its_offset(database: db_api.Database) -> None:
    with database.session(write=False) as session:
        now, earlier, later = (clock.now(session, offset) for offset in (0, -3.5, 7200))
    assert abs((models.utcnow() - now).total_seconds()) < 2  # this host's clock is right
    assert abs((now - earlier).total_seconds() - 3.5) < 0.1
    assert abs((later - now).total_seconds() - 7200) < 0.1


def test_a_heartbeat_counts_by_the_databases_clock_and_never_from_the_future(
    database: db_api.Database,
) -> None:
    service_id = services.register(database, HOST, "volmgr-volume", "volmgr-volume", "nova")
    services.heartbeat(database, service_id, {"pools": []})
    assert is_up(database)
    now = db_now(database)
    for age, up in [
        (DOWN_TIME - 3, True),
        (DOWN_TIME + 3, False),
        (-1, True),  # within the tolerance of rounding
        (-60, False),  # a minute in the future: no clock of the database wrote it
        (-365 * 24 * 3600, False),  # a year ahead: not up forever
    ]:
        set_column(database, models.Service, "last_heartbeat", now - dt.timedelta(seconds=age))
        assert is_up(database) is up, f"heartbeat {age}s old"
        listed = services.list_all(database, down_time=DOWN_TIME)
        assert [s["is_up"] for s in listed] == [up]
    services.heartbeat(database, service_id)
    assert is_up(database)


def test_recovery_scans_count_stillness_by_the_databases_clock(database: db_api.Database) -> None:
    vtype = volume_types.get_or_create(database, "__DEFAULT__")
    volume = volume_creation.create_managing(
        database, _manage_values(vtype["id"], "disk"), {}, LIMITS, vtype["name"]
    )
    assert volume_ownership.place(database, volume["id"], f"{HOST}#pool")

    def still(seconds: float) -> list[str]:
        rows = volume_recovery.transitional(database, ("managing",), still_for=seconds)
        return [r["id"] for r in rows]

    assert still(5) == []  # just placed
    assert still(-5) == [volume["id"]]
    now = db_now(database)
    set_column(database, models.Volume, "updated_at", now - dt.timedelta(seconds=10))
    assert still(5) == [volume["id"]]
    claimed = volume_ownership.claim_flows(database, [volume["id"]], "worker-1")
    assert list(claimed) == [volume["id"]]
    assert still(5) == []  # the claim stamped it again, by the database's clock


def test_reservations_expire_by_the_databases_clock(database: db_api.Database) -> None:
    deltas = quota.volume_deltas("__DEFAULT__", gigabytes=2)
    (reservation,) = reservations.reserve_many(
        database, [reservations.ReservationRequest("p1", deltas, None)], LIMITS
    )
    assert isinstance(reservation, str)
    with database.engine.connect() as connection:
        expire = connection.scalar(sa.select(sa.func.min(models.Reservation.expire)))
    delay = (expire - db_now(database)).total_seconds()
    assert LIMITS.reservation_expire - 3 < delay <= LIMITS.reservation_expire + 1
    assert reservations.expired_reservation_ids(database) == []
    set_column(database, models.Reservation, "expire", db_now(database) - dt.timedelta(seconds=1))
    assert reservations.expired_reservation_ids(database) == [reservation]
