"""The request a handler gets and the reply it gives; the request body decoded and validated.

A handler is ``handler(req: ApiRequest, **url_args) -> Reply``. ``ApiRequest`` carries
the webob request, the caller's context, the negotiated microversion and the
application's state (config, the ``API`` object, the policy enforcer).
"""

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import jsonschema
import webob
from jsonschema.protocols import Validator
from oslo_config import cfg

from volmgr_api.api import API
from volmgr_api.rest import faults, inputs
from volmgr_api.rest.microversion import APIVersion
from volmgr_api.rest.policy import Enforcer
from volmgr_common.context import RequestContext

JSON_TYPES = ("application/json", "application/vnd.openstack.volume+json")
MAX_ECHO = 80


@dataclasses.dataclass
class AppState:
    """What every handler may use: config, the API operations, the policy enforcer."""

    conf: cfg.ConfigOpts
    api: API
    enforcer: Enforcer


@dataclasses.dataclass
class Reply:
    """A handler's answer: status, JSON body (None: no body) and extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    content_type: str = "application/json"
    raw: bytes | None = None


@dataclasses.dataclass
class ApiRequest:
    """One REST request after routing, authentication and version negotiation."""

    webob: webob.Request
    state: AppState
    version: APIVersion
    context: RequestContext | None = None
    project_in_url: bool = True
    """False for a request to a route without the project id (3.67 and later)."""

    @property
    def ctxt(self) -> RequestContext:
        assert self.context is not None, "handler of an authenticated route"
        return self.context

    @property
    def api(self) -> API:
        return self.state.api

    @property
    def conf(self) -> cfg.ConfigOpts:
        return self.state.conf

    @property
    def headers(self) -> inputs.TextHeaders:
        """The request's headers as checked UTF-8 text (a 400 when one read is not)."""
        return inputs.TextHeaders(self.webob.headers)

    @property
    def base_url(self) -> str:
        """Scheme, host and script name, without a trailing slash."""
        return self.webob.application_url.rstrip("/")

    def authorize(self, rule: str, target: dict[str, Any]) -> None:
        self.state.enforcer.authorize(self.ctxt, rule, target)

    def allows(self, rule: str, target: dict[str, Any]) -> bool:
        return self.state.enforcer.allows(self.ctxt, rule, target)

    def json_body(self, validator: Validator) -> Any:
        """The body decoded (:func:`inputs.parse_json`) and checked by a compiled schema;
        400/415 otherwise."""
        content_type = self.webob.content_type
        if content_type and content_type not in JSON_TYPES:
            raise faults.HTTPError(415, "Unsupported Content-Type")
        body = inputs.parse_json(self.webob.body)
        validate(body, validator)
        return body


def _shorten(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_ECHO else f"{text[:MAX_ECHO]}..."


def validate(body: Any, validator: Validator) -> None:
    """Raise a 400 HTTPError that names the first problem of ``body``
    (``validator``: a compiled schema, ``volmgr_api.schemas.compile_schema``)."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is None:
        return
    path = "/".join(str(p) for p in error.absolute_path) or "body"
    raise faults.bad_request(
        f"Invalid input for field/attribute {path}. Value: {_shorten(error.instance)}. "
        f"{_describe(error)}"
    )


def _describe(error: jsonschema.ValidationError) -> str:
    """The problem in words, without echoing a long value in full."""
    limits = {
        "maxLength": "is longer than {} characters",
        "minLength": "is shorter than {} characters",
        "maxProperties": "has more than {} properties",
        "minProperties": "has fewer than {} properties",
        "maximum": "is larger than {}",
        "minimum": "is smaller than {}",
    }
    if error.validator in limits:
        return f"The value {limits[error.validator].format(error.validator_value)}."
    message = error.message
    return message if len(message) <= 300 else f"{message[:300]}..."


Handler = Callable[..., Reply]
