"""Engine, transactions and retries: the one way code reaches the database.

A query function is decorated with :func:`reader` or :func:`writer`; it receives a
session inside one transaction and is retried as a whole, with tenacity, when the
database reports a deadlock, a serialization failure, a lock timeout or a lost or
refused connection; when the retries run out it raises
:class:`~volmgr_common.exception.DatabaseUnavailable` (HTTP 503) from the last
error. On SQLite a writer transaction starts with ``BEGIN IMMEDIATE`` so that
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

# PostgreSQL: serialization failure, deadlock, lock not available, the server ending
# or refusing connections (shutdown, restart, ALLOW_CONNECTIONS false); and every
# state of class 08 (connection exception).
_PG_RETRY_STATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03"}
_PG_NOT_ACCEPTING = "not currently accepting connections"
# MySQL/MariaDB: lock wait timeout, deadlock, connection killed, server shutdown,
# cannot connect, server gone away, connection lost.
_MYSQL_RETRY_CODES = {1205, 1213, 1927, 1053, 2003, 2006, 2013}
_SQLITE_RETRY_TEXT = ("database is locked", "database table is locked", "busy")


class RetryTransaction(Exception):
    """Raised inside a transaction that lost a race and must run again as a whole."""


def is_retriable(error: BaseException) -> bool:
    """True for errors that a new attempt of the same transaction may not hit."""
    if isinstance(error, RetryTransaction):
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in _PG_RETRY_STATES or (sqlstate or "").startswith("08"):
        return True
    if sqlstate == "55000" and _PG_NOT_ACCEPTING in str(orig):
        return True
    if _is_pg_connection_failure(error):
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_RETRY_CODES:
        return True
    text = str(orig).lower()
    return isinstance(error, exc.OperationalError) and any(t in text for t in _SQLITE_RETRY_TEXT)


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
