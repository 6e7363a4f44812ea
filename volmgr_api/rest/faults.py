"""Errors as Cinder answers them: ``{"badRequest": {"code": 400, "message": "..."}}``.

Handlers raise :class:`HTTPError` (or a volmgr exception, mapped by its ``code``);
:func:`fault_response` renders either in the body Cinder clients parse. The name of
the top-level key follows Cinder's table; codes without a name in it (406, 500)
use Cinder's fallback ``computeFault``. :class:`FaultBodies` gives the same shape to
the error answers of the middleware in front of the app (oslo.middleware's body size
limit answers 413 in plain text or HTML).

An error answer never shows the server's insides: :func:`from_exception` takes a
volmgr exception's own message (``msg``: the text of an exception raised again
from an RPC answer also holds the remote traceback), keeps only its first line and
puts ``<path>`` for any file path in it; a server error (500) says only that it
happened and names the request id, while the log has the whole error. Whatever a
handler or an exception says, :func:`fault_response` sends no line after the first
(a traceback or a dump never follows a message into an answer).
"""

import http
import json
import re
from typing import Any

import oslo_messaging as messaging
import webob
import webob.dec
import webob.exc
from oslo_log import log as logging

from volmgr_common import exception

LOG = logging.getLogger(__name__)

FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}
FALLBACK_NAME = "computeFault"
MESSAGES = {413: "Request is too large."}
"""The message of an error answered by a middleware, by code (else the status phrase)."""


class HTTPError(Exception):
    """An error response: status code, message, extra headers."""

    def __init__(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> HTTPError:
    return HTTPError(400, message)


def not_found(message: str = "The resource could not be found.") -> HTTPError:
    return HTTPError(404, message)


def forbidden(message: str) -> HTTPError:
    return HTTPError(403, message)


ABSOLUTE_PATH = re.compile(r"(?<![\w.:/-])/[\w.@+-]+(?:/[\w.@+-]*)+")
"""A file path of two components or more (``/srv/files/disk1.img``); not a URL."""
PATH_PLACEHOLDER = "<path>"


def first_line(text: str) -> str:
    """``text`` up to its first line break: a traceback or a dump never follows it."""
    return text.split("\n", 1)[0].rstrip()


def public_message(error: exception.VolmgrException) -> str:
    """What a caller may read of a volmgr exception: its own message (not ``str()``,
    which for an exception raised again from an RPC answer ends with the remote
    traceback), one line, with ``<path>`` for the server's file paths."""
    return ABSOLUTE_PATH.sub(PATH_PLACEHOLDER, first_line(error.msg))


def server_error(request_id: str | None) -> HTTPError:
    return HTTPError(
        500,
        f"The server has either erred or is incapable of performing the requested "
        f"operation (request {request_id}).",
    )


def from_exception(error: BaseException, request_id: str | None) -> HTTPError:
    """The HTTP error for anything a handler raised; unexpected errors are logged."""
    if isinstance(error, HTTPError):
        return error
    if isinstance(error, webob.exc.WSGIHTTPException) and error.code < 500:
        return HTTPError(error.code, MESSAGES.get(error.code, error.title))
    if isinstance(error, exception.VolmgrException) and error.code < 500:
        return HTTPError(error.code, public_message(error))
    if isinstance(error, exception.VolmgrException) and not isinstance(
        error, exception.InternalError
    ):
        LOG.warning("Request %s failed: %s", request_id, error.msg)
        if error.code == 500:  # a driver's or a service's inside: the log has it
            return server_error(request_id)
        return HTTPError(error.code, public_message(error))
    if isinstance(error, messaging.MessageDeliveryFailure):
        LOG.warning("Request %s: the message bus is unavailable: %s", request_id, error)
        return HTTPError(503, "The message bus is unavailable; try again later.")
    if isinstance(error, messaging.MessagingTimeout):
        LOG.warning("Request %s: no answer from a service in time: %s", request_id, error)
        return HTTPError(503, "A volmgr service did not answer in time; try again later.")
    if not isinstance(error, exception.InternalError):
        LOG.exception("Unexpected error in request %s", request_id)
    return server_error(request_id)


def fault_body(code: int, message: str) -> dict[str, Any]:
    return {FAULT_NAMES.get(code, FALLBACK_NAME): {"code": code, "message": message}}


def fault_response(error: HTTPError) -> webob.Response:
    response = webob.Response(
        status=f"{error.code} {http.HTTPStatus(error.code).phrase}",
        content_type="application/json",
        charset="utf-8",
        body=json.dumps(fault_body(error.code, first_line(error.message))).encode(),
    )
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


class FaultBodies:
    """WSGI middleware: an error answer that is not JSON gets Cinder's fault body.

    The app's own faults are JSON already; this shapes those of the middleware
    between it and the client (the body size limit), keeping status and headers.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    @webob.dec.wsgify
    def __call__(self, request: webob.Request) -> webob.Response:
        response = request.get_response(self.application)
        if response.status_int < 400 or response.content_type == "application/json":
            return response
        code = response.status_int
        message = MESSAGES.get(code) or http.HTTPStatus(code).phrase
        fault = fault_response(HTTPError(code, message))
        for name, value in response.headers.items():
            if name.lower() not in ("content-type", "content-length"):
                fault.headers[name] = value
        return fault
