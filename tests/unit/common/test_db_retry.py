"""Unit tests of transaction retries (volmgr_common.db.api): what is retried, how often.

The errors are synthetic DBAPIErrors shaped like those of psycopg (``sqlstate``),
psycopg2 (``pgcode``), PyMySQL (``args[0]`` is the error code) and sqlite3 (the
message), so no server is needed.
"""

import sqlite3
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import exc
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import models


class PgError(Exception):
    """psycopg 3 style: the SQLSTATE is an attribute."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"pg error {sqlstate}")
        self.sqlstate = sqlstate


class Pg2Error(Exception):
    """psycopg2 style: the SQLSTATE is ``pgcode``."""

    def __init__(self, pgcode: str) -> None:
        super().__init__(f"pg error {pgcode}")
        self.pgcode = pgcode


class PgNotAccepting(PgError):
    """What a database with ``ALLOW_CONNECTIONS false`` answers a new connection."""

    def __init__(self) -> None:
        super().__init__("55000")
        self.args = ('database "x" is not currently accepting connections',)

    def __str__(self) -> str:
        return self.args[0]


class PsycopgClientError(Exception):
    """A psycopg error raised on the client side (no server state), e.g. refused."""

    __module__ = "psycopg"
    sqlstate = None


def operational(orig: Exception) -> exc.OperationalError:
    return exc.OperationalError("UPDATE quota_usages SET ...", {}, orig)


def locked() -> exc.OperationalError:
    return operational(sqlite3.OperationalError("database is locked"))


@pytest.mark.parametrize(
    "error",
    [
        operational(PgError("40001")),
        operational(PgError("40P01")),
        exc.DBAPIError("SELECT 1", {}, Pg2Error("40P01")),
        operational(PgError("55P03")),
        operational(Exception(1213, "Deadlock found when trying to get lock")),
        operational(Exception(1205, "Lock wait timeout exceeded")),
        locked(),
        operational(sqlite3.OperationalError("database table is locked")),
        exc.DBAPIError("SELECT 1", {}, Exception("server closed"), connection_invalidated=True),
        db_api.RetryTransaction("lost a race"),
        operational(PgError("57P03")),
        operational(PgError("08006")),
        operational(PgNotAccepting()),
        operational(PsycopgClientError("connection refused")),
        operational(Exception(2003, "Can't connect to MySQL server")),
        operational(Exception(1927, "Connection was killed")),
        exc.InternalError("INSERT", {}, PgError("25006")),
        operational(PgError("57P01")),
        operational(PgError("53300")),
        operational(PgError("58030")),
        exc.InternalError("SELECT", {}, PgError("XX000")),
        operational(Exception(1040, "Too many connections")),
        operational(Exception(1290, "The MariaDB server is running with the --read-only")),
        operational(Exception(1836, "Running in read-only mode")),
        operational(Exception(2013, "Lost connection to server during query")),
        operational(sqlite3.OperationalError("attempt to write a readonly database")),
        operational(sqlite3.OperationalError("disk I/O error")),
        operational(sqlite3.OperationalError("unable to open database file")),
        operational(sqlite3.OperationalError("database or disk is full")),
        exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"),
    ],
    ids=[
        "pg-serialization",
        "pg-deadlock",
        "psycopg2-deadlock",
        "pg-lock-not-available",
        "mysql-deadlock",
        "mysql-lock-wait",
        "sqlite-locked",
        "sqlite-table-locked",
        "connection-invalidated",
        "retry-transaction",
        "pg-cannot-connect-now",
        "pg-connection-failure",
        "pg-database-not-accepting-connections",
        "psycopg-connection-refused",
        "mysql-cannot-connect",
        "mysql-connection-killed",
        "pg-read-only-transaction",
        "pg-admin-shutdown",
        "pg-too-many-connections",
        "pg-io-error",
        "pg-internal-error",
        "mysql-too-many-connections",
        "mysql-read-only-option",
        "mariadb-read-only-mode",
        "mysql-lost-mid-query",
        "sqlite-read-only",
        "sqlite-io-error",
        "sqlite-cannot-open",
        "sqlite-disk-full",
        "pool-timeout",
    ],
)
def test_transient_errors_are_retriable(error: BaseException) -> None:
    assert db_api.is_retriable(error)


@pytest.mark.parametrize(
    "error",
    [
        exc.IntegrityError("INSERT", {}, PgError("23505")),
        exc.IntegrityError("INSERT", {}, Exception(1062, "Duplicate entry")),
        exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")),
        operational(sqlite3.OperationalError("no such table: volumes")),
        exc.ProgrammingError("SELECT", {}, PgError("42P01")),
        operational(PgError("55000")),
        ValueError("not a database error"),
        exc.NoResultFound(),
    ],
    ids=[
        "pg-unique",
        "mysql-duplicate",
        "sqlite-unique",
        "sqlite-no-table",
        "pg-undefined-table",
        "pg-other-prerequisite-state",
        "value-error",
        "orm-no-result",
    ],
)
def test_other_errors_are_not_retriable(error: BaseException) -> None:
    assert not db_api.is_retriable(error)


def sqlite_error(message: str, name: str) -> sqlite3.OperationalError:
    """An sqlite3 error with its extended error name, as Python 3.11's sqlite3 raises it."""
    error = sqlite3.OperationalError(message)
    error.sqlite_errorname = name  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("orig", "retried", "discarded"),
    [
        (sqlite_error("attempt to write a readonly database", "SQLITE_READONLY"), True, True),
        (sqlite_error("disk I/O error", "SQLITE_IOERR_WRITE"), True, True),
        (sqlite_error("unable to open database file", "SQLITE_CANTOPEN"), True, True),
        (sqlite_error("database is locked", "SQLITE_BUSY"), True, False),
        (sqlite_error("no such table: volumes", "SQLITE_ERROR"), False, False),
        (PgError("25006"), True, True),
        (PgError("40P01"), True, False),
        (Exception(1290, "--read-only"), True, True),
        (Exception(1213, "Deadlock found"), True, False),
    ],
    ids=[
        "sqlite-read-only",
        "sqlite-io-error",
        "sqlite-cannot-open",
        "sqlite-busy",
        "sqlite-no-table",
        "pg-read-only",
        "pg-deadlock",
        "mysql-read-only",
        "mysql-deadlock",
    ],
)
def test_a_connection_left_unusable_is_discarded(
    orig: Exception, retried: bool, discarded: bool
) -> None:
    """Retried or not, and whether the engine must open a new connection for the retry
    (a session opened read-only, or an SQLite file opened unwritable, stays so)."""
    assert db_api.is_retriable(operational(orig)) is retried
    assert db_api.leaves_connection_unusable(orig) is discarded


@pytest.fixture
def fast_db(
    conf_factory: Callable[..., cfg.ConfigOpts], db: db_api.Database
) -> Iterator[db_api.Database]:
    """The migrated database, reopened with short retry waits and 3 attempts at most."""
    conf = conf_factory(
        database__db_retry_interval=0.001,
        database__db_max_retry_interval=0.01,
        database__db_max_retries=2,
    )
    fast = db_api.Database(conf)
    yield fast
    fast.dispose()


def flaky_writer(failures: list[BaseException]) -> tuple[Callable[..., str], list[int]]:
    """A writer that inserts a quota row, then raises the next of ``failures`` if any."""
    calls: list[int] = []

    @db_api.writer
    def write(session: Session, project_id: str) -> str:
        calls.append(1)
        session.add(models.Quota(project_id=project_id, resource="volumes", hard_limit=1))
        session.flush()
        if failures:
            raise failures.pop(0)
        return "done"

    return write, calls


def quota_rows(db: db_api.Database) -> int:
    with db.session(write=False) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(models.Quota)) or 0


def test_a_writer_that_fails_twice_runs_three_times(fast_db: db_api.Database) -> None:
    write, calls = flaky_writer([locked(), operational(PgError("40001"))])
    assert write(fast_db, "project-a") == "done"
    assert len(calls) == 3
    # The failed attempts were rolled back: only the last one's row is there.
    assert quota_rows(fast_db) == 1


def test_a_non_retriable_error_is_raised_at_once(fast_db: db_api.Database) -> None:
    error = operational(sqlite3.OperationalError("no such table: volumes"))
    write, calls = flaky_writer([error])
    with pytest.raises(exc.OperationalError) as raised:
        write(fast_db, "project-a")
    assert raised.value is error
    assert len(calls) == 1
    assert quota_rows(fast_db) == 0


def test_retries_stop_after_db_max_retries(fast_db: db_api.Database) -> None:
    errors = [locked() for _ in range(5)]
    last = errors[2]
    write, calls = flaky_writer(errors)
    with pytest.raises(exception.DatabaseUnavailable, match="3 attempts") as raised:
        write(fast_db, "project-a")
    assert raised.value.__cause__ is last
    assert raised.value.code == 503
    assert exception.DatabaseUnavailable in exception.REMOTE_EXCEPTIONS
    assert len(calls) == 3
    assert quota_rows(fast_db) == 0


def test_a_reader_is_retried_too(fast_db: db_api.Database) -> None:
    failures: list[BaseException] = [locked()]
    calls: list[int] = []

    @db_api.reader
    def read(session: Session) -> int:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return session.scalar(sa.select(sa.func.count()).select_from(models.Quota)) or 0

    assert read(fast_db) == 0
    assert len(calls) == 2


def test_a_read_only_connection_is_replaced_and_the_transaction_retried(
    fast_db: db_api.Database,
) -> None:
    """The pool's only connection turns read-only (``PRAGMA query_only``, as a connection
    opened on an unwritable file stays): the writer's first attempt fails on it, the
    engine discards it, and the retry succeeds on a new connection, no restart needed."""
    with fast_db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA query_only = ON")
        read_only = connection.connection.dbapi_connection
    write, calls = flaky_writer([])
    assert write(fast_db, "project-a") == "done"
    assert len(calls) == 2
    assert quota_rows(fast_db) == 1
    with fast_db.engine.connect() as connection:
        assert connection.connection.dbapi_connection is not read_only
