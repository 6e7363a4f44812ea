"""The built-in HTTP server of the REST API: cheroot's threaded WSGI server beside the RPC server.

:func:`build_wsgi_service` returns an object with ``start()`` and ``stop()`` that
``volmgr_common.service.Service`` starts after its RPC server and stops before it.
It serves the whole pipeline of ``volmgr_api.rest.deploy`` (oslo.middleware,
``/healthcheck``, keystonemiddleware with ``[api] auth_strategy = keystone``) with
``[api] threads`` threads behind a listen queue of ``[api] backlog``. Under a WSGI
server (gunicorn, uwsgi) ``volmgr_api.wsgi`` serves the same pipeline instead.
"""

import threading
from typing import Any

from cheroot import wsgi as cheroot_wsgi
from oslo_config import cfg
from oslo_log import log as logging

from volmgr_api.api import API
from volmgr_api.rest import deploy

LOG = logging.getLogger(__name__)
SERVER_NAME = "volmgr-api"


class WsgiService:
    """A started-on-demand HTTP server for one WSGI application."""

    def __init__(self, app: Any, host: str, port: int, threads: int, backlog: int) -> None:
        self._server = cheroot_wsgi.Server(
            (host, port),
            app,
            numthreads=threads,
            server_name=SERVER_NAME,
            request_queue_size=backlog,
        )
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Host and port bound (the real port when 0 was asked for); valid after start()."""
        host, port = self._server.bind_addr[:2]
        return host, port

    @property
    def url(self) -> str:
        host, port = self.address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Bind (raising OSError if the port is taken) and serve in a thread."""
        self._server.prepare()
        self._thread = threading.Thread(
            target=self._server.serve, name="volmgr-api-http", daemon=True
        )
        self._thread.start()
        LOG.info("REST API listening on %s", self.url)

    def stop(self) -> None:
        """Stop accepting connections, let requests in progress finish, close."""
        if self._thread is None:
            return
        self._server.stop()
        self._thread.join(timeout=10)
        self._thread = None
        LOG.info("REST API on %s stopped", self.url)


def build_wsgi_service(conf: cfg.ConfigOpts, api_obj: API) -> WsgiService:
    """The REST API server for ``[api] bind_host:bind_port``, not yet started."""
    app = deploy.build_pipeline(conf, api_obj)
    api = conf.api
    return WsgiService(app, api.bind_host, api.bind_port, api.threads, api.backlog)
