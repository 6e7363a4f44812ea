"""oslo.middleware's options in front of the REST API, with volmgr's defaults.

The REST API's WSGI pipeline (``volmgr_api.rest.deploy``) is made of oslo.middleware's
pieces, which read their options from the process's ``ConfigOpts``:
``[oslo_middleware] max_request_body_size`` and ``enable_proxy_headers_parsing``,
``[cors]`` and ``[healthcheck]``. They are registered here (equal copies of the
library's options, so that the middleware registering its own changes nothing) and given
volmgr's defaults on the process's ``ConfigOpts`` alone: the health check runs the
``volmgr_database`` and ``volmgr_message_bus`` backends, CORS lets a browser send and read the
headers of the OpenStack APIs.
"""

import copy
import itertools
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from oslo_middleware import opts as middleware_opts

HEALTHCHECK_BACKENDS = ["volmgr_database", "volmgr_message_bus"]
"""Names of the health check backends (entry points ``oslo.middleware.healthcheck``)."""

API_HEADERS = ["X-Auth-Token", "X-OpenStack-Request-ID", "OpenStack-API-Version"]
NOAUTH_HEADERS = ["X-Identity-Status", "X-Roles", "X-User-Id", "X-Project-Id"]

DEFAULTS: dict[str, dict[str, Any]] = {
    "healthcheck": {"backends": HEALTHCHECK_BACKENDS},
    "cors": {
        "allow_headers": [*API_HEADERS, *NOAUTH_HEADERS],
        "expose_headers": [*API_HEADERS, "X-Subject-Token"],
        "allow_methods": ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD"],
    },
}


def _library_opts() -> list[tuple[str, Sequence[cfg.Opt]]]:
    return list(
        itertools.chain(
            middleware_opts.list_opts_sizelimit(),
            middleware_opts.list_opts_http_proxy_to_wsgi(),
            middleware_opts.list_opts_cors(),
            [
                (group, opts)
                for group, opts in middleware_opts.list_opts_healthcheck()
                if group == "healthcheck"
            ],
        )
    )


def _merged() -> list[tuple[str, list[cfg.Opt]]]:
    """One entry per group (sizelimit and proxy headers share ``oslo_middleware``)."""
    groups: dict[str, list[cfg.Opt]] = {}
    for group, opts in _library_opts():
        groups.setdefault(group, []).extend(opts)
    return list(groups.items())


def register_opts(conf: cfg.ConfigOpts) -> None:
    for group, opts in _merged():
        conf.register_opts(opts, group=group)
    for group, defaults in DEFAULTS.items():
        for name, value in defaults.items():
            conf.set_default(name, value, group=group)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """The same options with volmgr's defaults, for the sample config (copies)."""
    result: list[tuple[str | None, list[cfg.Opt]]] = []
    for group, opts in _merged():
        copies = copy.deepcopy(opts)
        cfg.set_defaults(copies, **DEFAULTS.get(group, {}))
        result.append((group, copies))
    return result
