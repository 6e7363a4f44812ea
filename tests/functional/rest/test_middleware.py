"""oslo.middleware in front of the REST app: request ids, body size, CORS, proxy headers,
and ``/healthcheck`` with volmgr's database and message-bus backends."""

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import webob
from oslo_config import cfg
from oslo_middleware import healthcheck

from tests.conftest import make_conf
from tests.functional.rest.conftest import Rest, fresh_admin
from volmgr_api.rest import deploy

ORIGIN = "https://dashboard.example.com"


OVERRIDDEN = [("allowed_origin", "cors"), ("enable_proxy_headers_parsing", "oslo_middleware")]


@pytest.fixture
def overrides(rest: Rest) -> Iterator[cfg.ConfigOpts]:
    """The stack's config; the middleware options tests set here are cleared afterwards."""
    yield rest.conf
    for name, group in OVERRIDDEN:
        rest.conf.clear_override(name, group=group)


def test_healthcheck_reports_database_and_message_bus(rest: Rest) -> None:
    request = webob.Request.blank("/healthcheck", headers={"Accept": "application/json"})
    response = request.get_response(rest.app)
    assert response.status_int == 200
    assert response.json["reasons"] == [
        "sqlite database: OK",
        "message bus (kombu+memory, in-process): OK",
    ]
    assert response.headers["x-openstack-request-id"].startswith("req-")
    head = webob.Request.blank("/healthcheck", method="HEAD").get_response(rest.app)
    assert (head.status_int, head.body) == (204, b"")


def test_healthcheck_is_503_when_database_or_broker_is_unreachable(tmp_path: Path) -> None:
    conf = make_conf(
        tmp_path,
        transport_url="rabbit://guest:guest@127.0.0.1:1/",
        database__connection=f"sqlite:///{tmp_path}",  # a directory: cannot be opened
        api__healthcheck_timeout=1.0,
    )
    check = healthcheck.Healthcheck(None, conf)
    request = webob.Request.blank("/healthcheck", headers={"Accept": "application/json"})
    response = request.get_response(check)
    assert response.status_int == 503
    assert response.json["reasons"] == [
        "the sqlite database is unreachable",
        "the message bus (rabbit) is unreachable",
    ]


def test_error_answers_carry_the_request_id(rest: Rest) -> None:
    response = rest.call("GET", "types", headers=fresh_admin(), version="3.99")
    assert response.status_int == 406
    assert response.headers["x-openstack-request-id"].startswith("req-")
    response = rest.call("GET", "volumes", headers={})
    assert response.status_int == 401
    assert response.json["unauthorized"]["code"] == 401
    assert response.headers["x-openstack-request-id"].startswith("req-")


def test_a_chunked_body_over_the_limit_is_413_with_a_cinder_fault(rest: Rest) -> None:
    headers = fresh_admin()
    body = json.dumps(rest.manage_body("x", description="d" * 200_000)).encode()
    request = webob.Request.blank(
        f"/v3/{headers['X-Project-Id']}/os-volume-manage",
        method="POST",
        headers={**headers, "Content-Type": "application/json"},
    )
    request.environ["wsgi.input"] = io.BytesIO(body)
    request.environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    request.environ["wsgi.input_terminated"] = True  # as cheroot and gunicorn say when chunked
    request.environ.pop("CONTENT_LENGTH", None)
    response = request.get_response(rest.app)
    assert response.status_int == 413, response.text
    assert response.json == {"overLimit": {"code": 413, "message": "Request is too large."}}
    assert response.headers["x-openstack-request-id"].startswith("req-")


def test_cors_preflight_is_answered_for_an_allowed_origin(
    rest: Rest, overrides: cfg.ConfigOpts
) -> None:
    overrides.set_override("allowed_origin", [ORIGIN], group="cors")
    app = deploy.build_pipeline(rest.conf, rest.api)
    request = webob.Request.blank(
        "/v3/p/volumes",
        method="OPTIONS",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-Auth-Token,OpenStack-API-Version",
        },
    )
    response = request.get_response(app)
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    request = webob.Request.blank("/v3/p/volumes", headers={"Origin": ORIGIN, **fresh_admin()})
    exposed = request.get_response(app).headers["Access-Control-Expose-Headers"]
    assert "X-OpenStack-Request-ID" in exposed


def test_proxy_headers_set_the_links_when_enabled(rest: Rest, overrides: cfg.ConfigOpts) -> None:
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "volumes.example.com"}
    response = webob.Request.blank("/", headers=proxied).get_response(rest.app)
    assert {"rel": "self", "href": "http://localhost/v3/"} in response.json["versions"][0]["links"]
    overrides.set_override("enable_proxy_headers_parsing", True, group="oslo_middleware")
    app = deploy.build_pipeline(rest.conf, rest.api)
    response = webob.Request.blank("/", headers=proxied).get_response(app)
    expected = {"rel": "self", "href": "https://volumes.example.com/v3/"}
    assert expected in response.json["versions"][0]["links"]
