"""Options of the [database] group: where the shared SQL database lives."""

from oslo_config import cfg

GROUP = cfg.OptGroup("database", title="Database options")

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "connection",
        secret=True,
        default="sqlite:///$state_path/volmgr.sqlite",
        help="SQLAlchemy URL of the database shared by all volmgr services. SQLite is "
        "the embedded default and is safe for several processes on one host; use "
        "PostgreSQL (postgresql+psycopg://...) or MySQL/MariaDB (mysql+pymysql://...) "
        "when services run on several hosts. The password is never logged.",
    ),
    cfg.BoolOpt(
        "connection_debug",
        default=False,
        help="Log every SQL statement (verbose; for debugging only).",
    ),
    cfg.IntOpt(
        "max_pool_size",
        default=10,
        min=1,
        help="Largest number of connections kept open to a server database.",
    ),
    cfg.IntOpt(
        "db_max_retries",
        default=10,
        min=0,
        help="How many times a transaction that hit a deadlock, a serialization "
        "failure, a lock timeout, a lost or refused connection, too many connections, "
        "a read-only or unwritable database or an I/O error is retried before the "
        "caller gets DatabaseUnavailable (HTTP 503).",
    ),
    cfg.FloatOpt(
        "db_retry_interval",
        default=0.05,
        min=0.0,
        help="Seconds to wait before the first retry of a failed transaction; the wait "
        "doubles with each retry (up to db_max_retry_interval), plus a random jitter of "
        "up to this many seconds. At the defaults, the retries of one transaction span "
        "about 11 seconds: a database outage that short is ridden out.",
    ),
    cfg.FloatOpt(
        "db_max_retry_interval",
        default=2.0,
        min=0.0,
        help="Longest wait in seconds between two retries of a failed transaction.",
    ),
    cfg.IntOpt(
        "sqlite_busy_timeout",
        default=30,
        min=1,
        help="Seconds an SQLite connection waits for another process's write lock.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
