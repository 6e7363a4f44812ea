"""Throwaway databases on the real servers, for tests that run a stack on them.

The servers come from ``VOLMGR_TEST_PG_URL`` and ``VOLMGR_TEST_MYSQL_URL``
(defaulting to the local services). A server that cannot be reached fails the test
with a message saying how to start it: these tests are never skipped.
"""

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

PG_URL_ENV = "VOLMGR_TEST_PG_URL"
MYSQL_URL_ENV = "VOLMGR_TEST_MYSQL_URL"
SERVER_URLS = {
    "postgresql": (PG_URL_ENV, "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "mysql": (MYSQL_URL_ENV, "mysql+pymysql://root@127.0.0.1:3306/test"),
}
HOW_TO_START = {
    "postgresql": "start it with: pg_ctlcluster --skip-systemctl-redirect "
    f"$(ls /etc/postgresql) main start (or set {PG_URL_ENV})",
    "mysql": "start it with: start-stop-daemon --start --oknodo --background "
    f"--exec /usr/sbin/mariadbd (or set {MYSQL_URL_ENV})",
}


def server_url(backend: str) -> str:
    """The URL of the ``postgresql`` or ``mysql`` server the tests use."""
    env, default = SERVER_URLS[backend]
    return os.environ.get(env) or default


@contextlib.contextmanager
def throwaway(backend: str, charset: str | None = None) -> Iterator[str]:
    """The URL of a new, empty database on ``backend``'s server, dropped afterwards
    (``charset``: its default character set, MySQL/MariaDB only)."""
    url = sa.make_url(server_url(backend))
    name = f"volmgr_tmp_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            suffix = f" CHARACTER SET {charset}" if charset else ""
            conn.exec_driver_sql(f"CREATE DATABASE {name}{suffix}")
    except sa.exc.OperationalError as error:
        admin.dispose()
        pytest.fail(
            f"cannot reach {backend} at {url.render_as_string()}: {error.orig}; "
            f"{HOW_TO_START[backend]}"
        )
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            force = " WITH (FORCE)" if backend == "postgresql" else ""
            conn.exec_driver_sql(f"DROP DATABASE {name}{force}")
        admin.dispose()
