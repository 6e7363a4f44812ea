"""The HTTP server of the REST API: cheroot's threaded WSGI server, run beside the RPC server.

:func:`build_wsgi_service` returns an object with ``start()`` and ``stop()`` that
``volmgr_common.service.Service`` starts after its RPC server and stops before it.
With ``[api] auth_strategy = keystone`` the app is wrapped in keystonemiddleware's
``auth_token`` (an optional dependency, configured in ``[keystone_authtoken]``).
"""

import threading
from typing import Any

from cheroot import wsgi as cheroot_wsgi
from oslo_config import cfg
from oslo_log import log as logging

from volmgr_api.api import API
from volmgr_api.rest import app as rest_app
from volmgr_api.rest import auth

LOG = logging.getLogger(__name__)
SERVER_NAME = "volmgr-api"


class KeystoneMissing(RuntimeError):
    """auth_strategy is keystone but keystonemiddleware is not installed."""


def wrap_keystone(app: Any, conf: cfg.ConfigOpts) -> Any:
    """``app`` behind keystonemiddleware's auth_token, configured from ``conf``."""
    try:
        from keystonemiddleware import auth_token
    except ImportError as error:
        raise KeystoneMissing(
            "[api] auth_strategy = keystone needs keystonemiddleware: "
            "pip install keystonemiddleware"
        ) from error
    return auth_token.AuthProtocol(app, {"oslo_config_config": conf})


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
    app = rest_app.build_app(conf, api_obj)
    if conf.api.auth_strategy == auth.KEYSTONE:
        app = wrap_keystone(app, conf)
    api = conf.api
    return WsgiService(app, api.bind_host, api.bind_port, api.threads, api.backlog)
