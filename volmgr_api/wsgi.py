"""volmgr's REST API under a WSGI server (gunicorn, uwsgi, mod_wsgi): the application factory.

::

    gunicorn --workers 4 --threads 8 --bind 0.0.0.0:8776 'volmgr_api.wsgi:init_application()'
    uwsgi --http :8776 --processes 4 --threads 8 --module volmgr_api.wsgi:application

(``application`` is built on first use, in the worker that uses it.) The
configuration is read from the files named in ``VOLMGR_CONFIG_FILES`` (separated by
commas), else from oslo.config's default places (``/etc/volmgr/volmgr.conf``, ...).

A worker serves the same pipeline as the built-in server of volmgr-api
(``volmgr_api.rest.deploy``: oslo.middleware, ``/healthcheck``, the REST app) with the
database and the RPC *clients* the API needs: it casts manages to the schedulers and
calls the volume services. It runs no RPC server and no periodic task: the
``volmgr-api`` daemon still runs somewhere in the deployment for its RPC topic
(``manage_existing_failed`` from the volume services, manages over RPC), its
heartbeat and its recovery scans, with ``[api] builtin_server = false`` when it
should leave REST to the WSGI server. With ``[metrics] enabled`` the workers serve
the metrics under ``[metrics] path`` (set ``PROMETHEUS_MULTIPROC_DIR`` to add up
the workers' counts). Do not preload the app in a forking server's
master (gunicorn's ``--preload``): connections must be opened in each worker.
"""

import atexit
import os
import threading
from typing import Any

from volmgr_api import api
from volmgr_api.rest import deploy
from volmgr_common import metrics
from volmgr_common.cmd import connect_messaging, open_database
from volmgr_common.conf import startup

PROG = "volmgr-api-wsgi"
CONFIG_FILES_ENV = "VOLMGR_CONFIG_FILES"

_lock = threading.Lock()
_application: Any = None


def _config_args() -> list[str]:
    files = [f.strip() for f in os.environ.get(CONFIG_FILES_ENV, "").split(",") if f.strip()]
    return [f"--config-file={path}" for path in files]


def init_application() -> Any:
    """Read the configuration, connect, and return the REST API's WSGI pipeline.

    Exits (code 2, one line on stderr) on a bad configuration or a database whose
    schema is not current, as the daemons do.
    """
    conf = startup.new_conf()
    startup.parse_args(_config_args(), conf, PROG)
    db = open_database(conf, PROG)
    messaging = connect_messaging(conf, db, PROG)

    def cleanup() -> None:
        messaging.cleanup()
        db.dispose()

    atexit.register(cleanup)
    extra_apps = {conf.metrics.path: metrics.wsgi_app()} if conf.metrics.enabled else {}
    return deploy.build_pipeline(conf, api.API(conf, db, messaging, conf.host), extra_apps)


def __getattr__(name: str) -> Any:
    """``application``: the pipeline, built once per process on first use."""
    global _application
    if name != "application":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _lock:
        if _application is None:
            _application = init_application()
    return _application
