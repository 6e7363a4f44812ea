"""The WSGI application: routing, version negotiation, authentication, faults, access log.

Order of checks for a request: microversion (400/406), path and query text (400,
:mod:`volmgr_api.rest.inputs`), route (404/405), route
version (404 below its first version), identity (401), project in the URL (403
unless admin; a URL without one acts in the caller's), body size (413); then the
handler, whose errors become Cinder faults.
"""

import json
import time
from typing import Any

import routes as routes_lib
import webob
import webob.dec
from oslo_config import cfg
from oslo_log import log as logging

from volmgr_api.api import API
from volmgr_api.rest import auth, faults, inputs, microversion
from volmgr_api.rest.policy import Enforcer
from volmgr_api.rest.request import ApiRequest, AppState, Reply
from volmgr_api.rest.routes import PROJECT_ID_PATTERN, ROUTES, Route

LOG = logging.getLogger(__name__)
REQUEST_ID_HEADERS = ("x-openstack-request-id", "x-compute-request-id")


class RestApp:
    """The volmgr REST API as a WSGI callable."""

    def __init__(self, conf: cfg.ConfigOpts, api: API) -> None:
        self.state = AppState(conf=conf, api=api, enforcer=Enforcer(conf))
        self.strategy = conf.api.auth_strategy
        self.max_body = conf.api.max_request_body_size
        self.mapper = routes_lib.Mapper(explicit=True)
        self.mapper.minimization = False
        for index, route in enumerate(ROUTES):
            requirements = {"project_id": PROJECT_ID_PATTERN}
            self.mapper.connect(route.template, route_index=index, requirements=requirements)

    @webob.dec.wsgify
    def __call__(self, request: webob.Request) -> webob.Response:
        started = time.monotonic()
        response, request_id = self._respond(request)
        response.headers["Vary"] = microversion.HEADER
        LOG.info(
            '%s "%s %s" status: %s len: %s time: %.4f request: %s',
            request.remote_addr,
            request.method,
            inputs.loggable_target(request.environ),
            response.status_int,
            response.content_length,
            time.monotonic() - started,
            request_id,
        )
        return response

    def _respond(self, request: webob.Request) -> tuple[webob.Response, str | None]:
        try:
            headers = inputs.TextHeaders(request.headers)
            version = microversion.negotiate(headers.get(microversion.HEADER))
        except faults.HTTPError as error:
            return faults.fault_response(error), None
        except microversion.InvalidVersion as error:
            return faults.fault_response(faults.bad_request(str(error))), None
        except microversion.UnsupportedVersion as error:
            return faults.fault_response(faults.HTTPError(406, str(error))), None
        req = ApiRequest(webob=request, state=self.state, version=version)
        try:
            response = self._dispatch(req)
        except Exception as error:
            request_id = req.context.request_id if req.context else None
            response = faults.fault_response(faults.from_exception(error, request_id))
        response.headers[microversion.HEADER] = f"{microversion.SERVICE} {version}"
        request_id = req.context.request_id if req.context else None
        if request_id:
            for name in REQUEST_ID_HEADERS:
                response.headers[name] = request_id
        return response, request_id

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
            raise faults.not_found()
        if not route.public:
            req.context = auth.context_for(self.strategy, req.webob.environ, req.headers)
            req.context.update_store()
            url_project = args.pop("project_id", None)
            if url_project is None:
                req.project_in_url = False
            else:
                self._check_project(req, url_project)
        self._read_body(req.webob)
        reply = route.methods[req.webob.method](req, **args)
        return _render(reply)

    @staticmethod
    def _check_project(req: ApiRequest, url_project: str) -> None:
        if url_project != req.ctxt.project_id and not req.ctxt.is_admin:
            raise faults.forbidden(
                f"Project {url_project[:64]} in the URL is not the project of the caller."
            )

    def _read_body(self, request: webob.Request) -> None:
        too_large = faults.HTTPError(413, "Request is too large.")
        if request.content_length is not None and request.content_length > self.max_body:
            raise too_large
        if request.is_body_readable:
            raw = request.body_file.read(self.max_body + 1)
            if len(raw) > self.max_body:
                raise too_large
            request.body = raw


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


def build_app(conf: cfg.ConfigOpts, api: API) -> Any:
    """The WSGI application of the REST API, without the server's auth middleware."""
    return RestApp(conf, api)
