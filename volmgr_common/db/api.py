"""Engine, transactions and retries: the one way code reaches the database.

A query function is decorated with :func:`reader` or :func:`writer`; it receives a
session inside one transaction and is retried as a whole, with tenacity, when the
database fails in a way a later attempt may not meet (:func:`is_retriable`: a
deadlock, a serialization failure, a lock timeout, a lost or refused connection,
too many connections, a read-only or unwritable database, an I/O error); when the
retries run out it raises :class:`~volmgr_common.exception.DatabaseUnavailable`
(HTTP 503) from the last error. A failure that leaves its connection unusable (a
session opened read-only, an SQLite file opened while unwritable) makes the engine
discard that connection, so that the database's recovery is seen without a
restart. On SQLite a writer transaction starts with ``BEGIN IMMEDIATE`` so that
several processes sharing one file queue for the write lock instead of failing.
"""

import functools
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
import tenacity
from oslo_config import cfg
from sqlalchemy import event, exc
from sqlalchemy.orm import Session, sessionmaker

from volmgr_common import exception

LOG = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# Transient failures, retried: a new attempt of the same transaction, possibly on a
# new connection, may not meet them. Everything else the database reports is the
# caller's (a duplicate key, a bad statement) and is raised as it is.
#
# PostgreSQL, by SQLSTATE class: 08 connection exception, 40 transaction rollback
# (serialization failure, deadlock), 53 insufficient resources (too many
# connections, disk full, out of memory), 57 operator intervention (admin or crash
# shutdown, cannot connect now, statement cancelled), 58 system error (I/O), XX
# internal error; and single states: 25006 read-only transaction (a hot standby, a
# database set read-only), 55P03 lock not available, 55006 object in use.
_PG_RETRY_CLASSES = ("08", "40", "53", "57", "58", "XX")
_PG_RETRY_STATES = {"25006", "55P03", "55006"}
_PG_NOT_ACCEPTING = "not currently accepting connections"
# MySQL/MariaDB: server gone (2003 cannot connect, 2006 gone away, 2013 lost during a
# query, 2055 lost at handshake, 4031 disconnected for inactivity, 1053 shutdown,
# 1927 connection killed, 1317 query interrupted), too many connections (1040, 1203),
# read-only (1290 --read-only, 1836 read-only mode, 1792 read-only transaction),
# lock wait timeout and deadlock (1205, 1213), disk full or storage engine error
# (1021, 1030, 1114), the server's own errors (1180 commit failed, 1969 statement
# timeout).
_MYSQL_RETRY_CODES = {
    *(2003, 2006, 2013, 2055, 4031, 1053, 1927, 1317),
    *(1040, 1203),
    *(1290, 1836, 1792),
    *(1205, 1213),
    *(1021, 1030, 1114),
    *(1180, 1969),
}
# SQLite (sqlite3's extended error names; the message where a driver gives none):
# another writer holds the lock, the file cannot be written (read-only, I/O error,
# disk full, cannot be opened), or is damaged.
_SQLITE_RETRY_NAMES = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_READONLY",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_CANTOPEN",
    "SQLITE_CORRUPT",
    "SQLITE_NOMEM",
    "SQLITE_PROTOCOL",
)
_SQLITE_RETRY_TEXT = (
    "database is locked",
    "database table is locked",
    "busy",
    "readonly database",
    "disk i/o error",
    "database or disk is full",
    "unable to open database file",
    "database disk image is malformed",
)
# Failures after which the connection itself may stay unusable while the database
# recovers: a session opened read-only keeps that default, an SQLite connection
# opened on an unwritable file stays read-only. The engine discards such a
# connection (and the pool's older ones) as it does on a disconnect.
_PG_DISCARD_STATES = {"25006"}
_MYSQL_DISCARD_CODES = {1290, 1836, 1792}
_SQLITE_DISCARD_NAMES = ("SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_CORRUPT")
_SQLITE_DISCARD_TEXT = (
    "readonly database",
    "disk i/o error",
    "unable to open database file",
    "database disk image is malformed",
)


class RetryTransaction(Exception):
    """Raised inside a transaction that lost a race and must run again as a whole."""


def is_retriable(error: BaseException) -> bool:
    """True for errors that a new attempt of the same transaction may not hit."""
    if isinstance(error, RetryTransaction | exc.TimeoutError | exc.DisconnectionError):
        return True  # a race lost; no pooled connection free in time; a dead one
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    sqlstate = _sqlstate(orig)
    if sqlstate is not None:
        if sqlstate in _PG_RETRY_STATES or sqlstate.startswith(_PG_RETRY_CLASSES):
            return True
        return sqlstate == "55000" and _PG_NOT_ACCEPTING in str(orig)
    if _is_pg_connection_failure(error):
        return True
    if _mysql_code(orig) in _MYSQL_RETRY_CODES:
        return True
    return isinstance(error, exc.OperationalError) and _sqlite_matches(
        orig, _SQLITE_RETRY_NAMES, _SQLITE_RETRY_TEXT
    )


def leaves_connection_unusable(error: BaseException) -> bool:
    """True for failures after which the connection should be discarded, not reused."""
    if _sqlstate(error) in _PG_DISCARD_STATES or _mysql_code(error) in _MYSQL_DISCARD_CODES:
        return True
    return _sqlite_matches(error, _SQLITE_DISCARD_NAMES, _SQLITE_DISCARD_TEXT)


def _sqlstate(orig: Any) -> str | None:
    """The SQLSTATE of a psycopg (``sqlstate``) or psycopg2 (``pgcode``) error."""
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else None


def _mysql_code(orig: Any) -> int | None:
    """The error code of a PyMySQL / mysqlclient error (its first argument)."""
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _sqlite_matches(orig: Any, names: tuple[str, ...], texts: tuple[str, ...]) -> bool:
    """Whether an sqlite3 error's extended name (or, without one, its message) matches."""
    name = getattr(orig, "sqlite_errorname", None)
    if isinstance(name, str):
        return name.startswith(names)
    text = str(orig).lower()
    return any(t in text for t in texts)


def _is_pg_connection_failure(error: exc.DBAPIError) -> bool:
    """A psycopg error raised by the client without a server state: refused, reset, lost."""
    orig = error.orig
    return (
        isinstance(error, exc.OperationalError)
        and type(orig).__module__.startswith("psycopg")  # psycopg and psycopg2
        and getattr(orig, "sqlstate", None) is None
        and getattr(orig, "pgcode", None) is None
    )


class Database:
    """One engine and its session factories, built from the [database] options."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        opts = conf.database
        self.url = sa.make_url(opts.connection)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        # No pre-ping (a SELECT 1 on every checkout, 2-5 % of each daemon's CPU): a
        # pooled connection the server has closed fails its transaction with
        # ``connection_invalidated``, and the transaction is retried on a new one.
        kwargs: dict[str, Any] = {"echo": opts.connection_debug}
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            os.makedirs(os.path.dirname(os.path.abspath(self.url.database)), exist_ok=True)
        if self.is_sqlite:
            kwargs["connect_args"] = {
                "timeout": opts.sqlite_busy_timeout,
                "check_same_thread": False,
            }
        else:
            kwargs["pool_size"] = opts.max_pool_size
        if self.url.get_backend_name() == "mysql":
            # No gap locks: concurrent inserts of different volumes do not deadlock.
            kwargs["isolation_level"] = "READ COMMITTED"
        self.engine = sa.create_engine(self.url, **kwargs)
        event.listen(self.engine, "handle_error", _discard_unusable_connection)
        if self.is_sqlite:
            _configure_sqlite(self.engine, opts.sqlite_busy_timeout)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(volmgr_writer=True), expire_on_commit=False
        )
        self._retry_if = tenacity.retry_if_exception(is_retriable)
        self._stop = tenacity.stop_after_attempt(opts.db_max_retries + 1)
        # Doubling waits with a little jitter: ten retries cover ~11 s of outage at
        # the defaults (full jitter could spend them all within a second).
        self._wait = tenacity.wait_exponential(
            multiplier=max(opts.db_retry_interval, 0.001), max=opts.db_max_retry_interval
        ) + tenacity.wait_random(0, opts.db_retry_interval)

    def retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            retry=self._retry_if,
            stop=self._stop,
            wait=self._wait,
            before_sleep=_log_retry,
            reraise=True,
        )

    @contextmanager
    def session(self, write: bool) -> Iterator[Session]:
        factory = self._write if write else self._read
        with factory() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)})"


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    orig = getattr(error, "orig", error)
    summary = str(orig).splitlines()[0] if orig is not None else "unknown error"
    LOG.warning("Transaction attempt %d failed (%s); retrying", state.attempt_number, summary)


def _discard_unusable_connection(context: sa.engine.ExceptionContext) -> None:
    """Treat a failure that leaves its connection unusable as a disconnect: the engine
    then discards that connection and the pool's older ones, so that the next attempt
    opens a fresh one (see :func:`leaves_connection_unusable`)."""
    if leaves_connection_unusable(context.original_exception):
        context.is_disconnect = True


def _configure_sqlite(engine: sa.Engine, busy_timeout: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        writer = conn.get_execution_options().get("volmgr_writer", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def _transaction(
    write: bool,
) -> Callable[[Callable[Concatenate[Session, P], R]], Callable[Concatenate[Database, P], R]]:
    def decorator(
        fn: Callable[Concatenate[Session, P], R],
    ) -> Callable[Concatenate[Database, P], R]:
        @functools.wraps(fn)
        def wrapper(db: Database, *args: P.args, **kwargs: P.kwargs) -> R:
            retrying = db.retrying()
            try:
                for attempt in retrying:
                    with attempt, db.session(write) as session:
                        return fn(session, *args, **kwargs)
            except Exception as error:
                if is_retriable(error):
                    # Retries ran out on a transient error: say so, not "internal error".
                    attempts = retrying.statistics.get("attempt_number", 1)
                    LOG.error("Transaction %s gave up after %d attempts", fn.__name__, attempts)
                    raise exception.DatabaseUnavailable(attempts=attempts) from error
                raise
            raise AssertionError("unreachable: tenacity reraises the last error")

        return wrapper

    return decorator


reader = _transaction(write=False)
"""Run the decorated query in one read transaction, retried on transient errors."""

writer = _transaction(write=True)
"""Run the decorated query in one write transaction, retried on transient errors."""
