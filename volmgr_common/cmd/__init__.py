"""The shared launcher of the daemons (and of volmgr-all), and volmgr-manage.

``launch`` and ``run`` parse the config, open the database and the transport, build
the services and serve them; each daemon package's ``cmd.py`` names its builders.
"""

import functools
import logging as stdlib_logging
import os
import signal
import sys
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import metrics, rpc, service
from volmgr_common.conf import startup
from volmgr_common.db import api as db_api
from volmgr_common.db import migration
from volmgr_common.db import services as services_db

LOG = logging.getLogger(__name__)

ServiceBuilder = Callable[[cfg.ConfigOpts, db_api.Database, rpc.Messaging], service.Service]


def open_database(
    conf: cfg.ConfigOpts, prog: str, sync: bool = False, check: bool = True
) -> db_api.Database:
    """Connect and check (or, with ``sync``, bring) the schema to the newest revision.

    A schema that a newer release has already expanded is accepted (with a warning),
    with or without ``sync``: migrations only add, so the previous release runs on it
    during an upgrade.
    """
    db = db_api.Database(conf)
    try:
        if sync and migration.schema_state(db) is not migration.SchemaState.AHEAD:
            migration.sync(db)
        elif sync or check:
            _check_schema(db, prog)
    except sa.exc.OperationalError as error:
        _exit(prog, f"cannot reach the database {db}: {str(error.orig).splitlines()[0]}", 1)
    return db


def connect_messaging(conf: cfg.ConfigOpts, db: db_api.Database, prog: str) -> rpc.Messaging:
    """The process's messaging, reading ``[upgrade_levels] = auto`` caps from ``db``."""
    messaging = rpc.Messaging(conf, publisher=prog)
    messaging.read_versions_from(functools.partial(services_db.rpc_versions, db))
    return messaging


def _check_schema(db: db_api.Database, prog: str) -> None:
    state = migration.schema_state(db)
    if state is migration.SchemaState.BEHIND:
        _exit(prog, "the database schema is not current; run 'volmgr-manage db sync'", 2)
    if state is migration.SchemaState.AHEAD:
        LOG.warning(
            "The database schema (revision %s) is newer than this release's (%s): "
            "running on it, as during a rolling upgrade",
            migration.current_revision(db),
            migration.head_revision(db),
        )


def launch(prog: str, builders: Sequence[ServiceBuilder], argv: Sequence[str]) -> None:
    """Parse config, connect, build the services and serve until SIGTERM."""
    conf = startup.new_conf()
    startup.parse_args(argv, conf, prog)
    run(prog, conf, builders, sync=False)


def run(prog: str, conf: cfg.ConfigOpts, builders: Sequence[ServiceBuilder], sync: bool) -> None:
    conf.log_opt_values(LOG, logging.DEBUG)
    db = open_database(conf, prog, sync=sync)
    messaging = connect_messaging(conf, db, prog)
    services = [build(conf, db, messaging) for build in builders]
    metrics_server = None
    if conf.metrics.enabled:
        queues = [name for s in services for name in (s.topic, f"{s.topic}.{s.host}")]
        collectors = [c for s in services for c in s.metrics_collectors]
        metrics_server = metrics.MetricsServer(conf, queues, collectors)
        try:
            metrics_server.start()
        except OSError as error:
            _exit(prog, f"cannot serve metrics: {error}", 1)

    def cleanup() -> None:
        if metrics_server is not None:
            metrics_server.stop()
        messaging.cleanup()
        db.dispose()

    try:
        stopped = service.serve(
            services,
            cleanup,
            on_reload=lambda: _reload(conf, messaging),
            stop_timeout=conf.graceful_shutdown_timeout,
        )
    except OSError as error:  # e.g. the REST port is taken
        _exit(prog, f"cannot start: {error}", 1)
    if not stopped:
        # Threads still stuck in a broker read would keep the interpreter from
        # exiting; everything durable is written, so leave without them.
        stdlib_logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    # Stopped cleanly: the process only exits now. A further SIGTERM or SIGINT (a
    # supervisor repeating itself) must not turn that clean stop into a signal death.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _reload(conf: cfg.ConfigOpts, messaging: rpc.Messaging) -> None:
    """SIGHUP: re-read the mutable options and the ``auto`` RPC version caps."""
    startup.reload_mutable(conf)
    messaging.refresh_version_caps()


def _exit(prog: str, reason: str, code: int) -> None:
    print(f"{prog}: error: {reason}", file=sys.stderr)
    raise SystemExit(code)
