"""The volmgr WSGI app: routing, version negotiation, authentication, faults, access log.

Order of checks for a request: microversion (400/406), path and query text (400,
:mod:`volmgr_api.rest.inputs`), route (404/405), route
version (404 below its first version), identity (401), project in the URL (403
unless admin; a URL without one acts in the caller's); then the handler, whose
errors become Cinder faults. The request id, proxy headers, CORS, the body size
limit (413) and ``/healthcheck`` are oslo.middleware's, in front of this app
(``volmgr_api.rest.deploy``).
"""

import json
import time

import routes as routes_lib
import webob
import webob.dec
from oslo_config import cfg
from oslo_log import log as logging
from oslo_middleware import request_id as oslo_request_id

from volmgr_api.api import API
from volmgr_api.rest import auth, faults, inputs, microversion
from volmgr_api.rest.policy import Enforcer
from volmgr_api.rest.request import ApiRequest, AppState, Reply
from volmgr_api.rest.routes import PROJECT_ID_PATTERN, ROUTES, Route
from volmgr_common import metrics
from volmgr_common.context import RequestContext

LOG = logging.getLogger(__name__)


class RestApp:
    """The volmgr REST API as a WSGI callable."""

    def __init__(self, conf: cfg.ConfigOpts, api: API) -> None:
        self.state = AppState(conf=conf, api=api, enforcer=Enforcer(conf))
        self.strategy = conf.api.auth_strategy
        self.mapper = routes_lib.Mapper(explicit=True)
        self.mapper.minimization = False
        for index, route in enumerate(ROUTES):
            requirements = {"project_id": PROJECT_ID_PATTERN}
            self.mapper.connect(route.template, route_index=index, requirements=requirements)

    @webob.dec.wsgify
    def __call__(self, request: webob.Request) -> webob.Response:
        started = time.monotonic()
        # Until its identity is read, the request's log lines name only its id, never
        # the caller of the thread's previous request.
        RequestContext(request_id=request.environ.get(oslo_request_id.ENV_REQUEST_ID))
        with metrics.api_request(request.method) as answer:
            response = self._respond(request)
            answer["status"] = response.status_int
        response.headers["Vary"] = microversion.HEADER
        LOG.info(
            '%s "%s %s" status: %s len: %s time: %.4f request: %s',
            request.remote_addr,
            request.method,
            inputs.loggable_target(request.environ),
            response.status_int,
            response.content_length,
            time.monotonic() - started,
            request.environ.get(oslo_request_id.ENV_REQUEST_ID),
        )
        return response

    def _respond(self, request: webob.Request) -> webob.Response:
        try:
            headers = inputs.TextHeaders(request.headers)
            version = microversion.negotiate(headers.get(microversion.HEADER))
        except faults.HTTPError as error:
            return faults.fault_response(error)
        except microversion.InvalidVersion as error:
            return faults.fault_response(faults.bad_request(str(error)))
        except microversion.UnsupportedVersion as error:
            return faults.fault_response(faults.HTTPError(406, str(error)))
        req = ApiRequest(webob=request, state=self.state, version=version)
        try:
            response = self._dispatch(req)
        except Exception as error:
            request_id = request.environ.get(oslo_request_id.ENV_REQUEST_ID)
            response = faults.fault_response(faults.from_exception(error, request_id))
        response.headers[microversion.HEADER] = f"{microversion.SERVICE} {version}"
        return response

    def _match(self, request: webob.Request) -> tuple[Route, dict[str, str]]:
        path = request.path_info
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/")
        match = self.mapper.match(path or "/")
        if match is None:
            raise faults.not_found()
        route = ROUTES[int(match.pop("route_index"))]
        if request.method not in route.methods:
            allowed = ", ".join(sorted(route.methods))
            raise faults.HTTPError(
                405, f"The method {request.method} is not allowed here.", {"Allow": allowed}
            )
        return route, match

    def _dispatch(self, req: ApiRequest) -> webob.Response:
        inputs.check_url(req.webob.environ)
        route, args = self._match(req.webob)
        if route.min_version and not req.version.matches(route.min_version):
            raise faults.not_found(
                f"API version {req.version} is not supported on this method: it needs"
                f" {route.min_version} or later ({microversion.HEADER}:"
                f" {microversion.SERVICE} {route.min_version}; in the clients"
                f" --os-volume-api-version {route.min_version})."
            )
        if not route.public:
            req.context = auth.context_for(self.strategy, req.webob.environ, req.headers)
            req.context.update_store()
            url_project = args.pop("project_id", None)
            if url_project is None:
                req.project_in_url = False
            else:
                self._check_project(req, url_project)
        reply = route.methods[req.webob.method](req, **args)
        return _render(reply)

    @staticmethod
    def _check_project(req: ApiRequest, url_project: str) -> None:
        if url_project != req.ctxt.project_id and not req.ctxt.is_admin:
            raise faults.forbidden(
                f"Project {url_project[:64]} in the URL is not the project of the caller."
            )


def _render(reply: Reply) -> webob.Response:
    response = webob.Response(status=reply.status)
    if reply.raw is not None:
        response.content_type = reply.content_type
        response.body = reply.raw
    elif reply.body is not None:
        response.content_type = reply.content_type
        response.charset = "utf-8"
        response.body = json.dumps(reply.body).encode()
    else:
        response.content_type = None
        response.body = b""
    response.headers.update(reply.headers.items())
    return response
