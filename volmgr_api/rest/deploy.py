"""The REST API's WSGI pipeline: oslo.middleware in front of the volmgr app.

From the client inwards:

* ``CORS`` (``[cors]``; off until ``allowed_origin`` is set);
* ``HTTPProxyToWSGI`` (the scheme, host and prefix a TLS-terminating proxy names in
  ``X-Forwarded-*``/``Forwarded``, with ``[oslo_middleware]
  enable_proxy_headers_parsing``), so that links in answers point where the client
  called;
* ``RequestId``: a request id for every request, sent back in
  ``x-openstack-request-id`` (and ``x-compute-request-id``) on every answer, error
  answers and ``/healthcheck`` included; the caller's well-formed
  ``X-OpenStack-Request-Id`` becomes the global request id;
* ``/healthcheck``: oslo.middleware's ``Healthcheck`` with the backends of
  ``[healthcheck] backends`` (volmgr's default checks the database and the message
  bus, ``volmgr_api.rest.healthcheck``); it needs no identity;
* everything else: ``FaultBodies`` (Cinder's error body for the answers of the
  middleware below), ``RequestBodySizeLimiter`` (``[oslo_middleware]
  max_request_body_size``: 413 before the body is read), keystonemiddleware's
  ``auth_token`` when ``[api] auth_strategy = keystone``, then the app
  (``volmgr_api.rest.app``).

The same pipeline is served by the built-in server of volmgr-api and volmgr-all
(``volmgr_api.rest.server``) and by a WSGI server (``volmgr_api.wsgi``).
"""

from typing import Any

import webob
import webob.dec
from oslo_config import cfg
from oslo_middleware import cors, healthcheck, http_proxy_to_wsgi, request_id, sizelimit

from volmgr_api.api import API
from volmgr_api.rest import app as rest_app
from volmgr_api.rest import auth, faults

HEALTHCHECK_PATH = "/healthcheck"


class KeystoneMissing(RuntimeError):
    """auth_strategy is keystone but keystonemiddleware is not installed."""


class RequestId(request_id.RequestId):
    """oslo.middleware's request id, also in the header older Cinder clients read."""

    compat_headers = ["x-compute-request-id"]


class PathDispatch:
    """WSGI dispatch on the path: fixed paths to their own apps, the rest to ``default``."""

    def __init__(self, apps: dict[str, Any], default: Any) -> None:
        self.apps = apps
        self.default = default

    @webob.dec.wsgify
    def __call__(self, request: webob.Request) -> Any:
        # The raw WSGI path (bytes as latin-1): the app itself answers 400 for a path
        # that is not UTF-8; only ASCII paths are looked up here.
        path = request.environ.get("PATH_INFO", "").rstrip("/") or "/"
        return self.apps.get(path, self.default)


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


def build_pipeline(conf: cfg.ConfigOpts, api: API, extra_apps: dict[str, Any] | None = None) -> Any:
    """The REST API as a WSGI application, middleware included.

    ``extra_apps`` maps further fixed paths to apps served without identity (the
    metrics, when served on the API's own port).
    """
    app: Any = rest_app.RestApp(conf, api)
    if conf.api.auth_strategy == auth.KEYSTONE:
        app = wrap_keystone(app, conf)
    app = faults.FaultBodies(sizelimit.RequestBodySizeLimiter(app, conf))
    paths = {HEALTHCHECK_PATH: healthcheck.Healthcheck(None, conf), **(extra_apps or {})}
    app = RequestId(PathDispatch(paths, app), conf)
    app = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    return cors.CORS(app, conf)
