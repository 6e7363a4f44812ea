"""The database's clock: every time that another host compares is stamped and compared by it.

Hosts' clocks differ (a host whose clock is an hour ahead would write heartbeats
that look alive for an hour after it died). So a heartbeat, a volume row's last
change and a reservation's expiry are stamped with the database's current UTC time,
and compared with it in the statement that reads them: :class:`utc_now` is that time
(plus an offset in seconds) as a SQL expression, compiled for each dialect volmgr
runs on; :func:`now` reads it in a transaction when a stamp must also be returned.
Times are naive UTC, as every column stores them (``models.utcnow``).
"""

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class utc_now(FunctionElement[dt.datetime]):  # noqa: N801 - a SQL function, named like one
    """The database's current UTC time plus ``offset`` seconds (naive, microseconds).

    SQLite: ``strftime`` of ``'now'`` (milliseconds, written with six digits as the
    ``DateTime`` columns store them); PostgreSQL: ``statement_timestamp()`` in UTC;
    MySQL/MariaDB: ``UTC_TIMESTAMP(6)``.
    """

    type = sa.DateTime()
    name = "utc_now"
    inherit_cache = True

    def __init__(self, offset: float = 0.0) -> None:
        super().__init__(sa.literal(float(offset), sa.Float()))


def _offset(element: utc_now, compiler: SQLCompiler, **kw: Any) -> str:
    (offset,) = element.clauses
    return compiler.process(offset, **kw)


@compiles(utc_now, "sqlite")
def _sqlite(element: utc_now, compiler: SQLCompiler, **kw: Any) -> str:
    offset = _offset(element, compiler, **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%f', 'now', printf('%+.6f seconds', {offset})) || '000')"


@compiles(utc_now, "postgresql")
def _postgresql(element: utc_now, compiler: SQLCompiler, **kw: Any) -> str:
    offset = _offset(element, compiler, **kw)
    return (
        "(timezone('utc', statement_timestamp()) "
        f"+ make_interval(secs => CAST({offset} AS DOUBLE PRECISION)))"
    )


@compiles(utc_now, "mysql")
@compiles(utc_now, "mariadb")
def _mysql(element: utc_now, compiler: SQLCompiler, **kw: Any) -> str:
    offset = _offset(element, compiler, **kw)
    return f"(UTC_TIMESTAMP(6) + INTERVAL ROUND({offset} * 1000000) MICROSECOND)"


@compiles(utc_now)
def _other(element: utc_now, compiler: SQLCompiler, **kw: Any) -> str:
    raise sa.exc.CompileError(f"utc_now() is not defined for {compiler.dialect.name}")


def now(session: Session, offset: float = 0.0) -> dt.datetime:
    """The database's current UTC time (plus ``offset`` seconds), read in ``session``."""
    value = session.scalar(sa.select(utc_now(offset)))
    assert value is not None
    return value
