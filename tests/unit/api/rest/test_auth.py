"""Who the REST API takes a caller to be, under noauth and behind keystonemiddleware."""

import pytest
import webob
import webob.dec
from oslo_middleware import request_id

from volmgr_api.rest import auth, faults


def test_noauth_reads_cinderclient_headers() -> None:
    ctxt = auth.noauth_context({"X-User-Id": "bob", "X-Project-Id": "p1", "X-Auth-Token": "bob:p1"})
    assert (ctxt.user_id, ctxt.project_id, ctxt.is_admin) == ("bob", "p1", False)
    assert ctxt.request_id.startswith("req-")


def test_noauth_token_alone_names_user_and_project() -> None:
    ctxt = auth.noauth_context({"X-Auth-Token": "carol:p2"})
    assert (ctxt.user_id, ctxt.project_id) == ("carol", "p2")


def test_noauth_token_without_project_uses_the_auth_project_header_or_user() -> None:
    assert auth.noauth_context({"X-Auth-Token": "dave"}).project_id == "dave"
    ctxt = auth.noauth_context({"X-Auth-Token": "dave", "X-Auth-Project-Id": "p3"})
    assert ctxt.project_id == "p3"


def test_admin_user_or_admin_role_is_admin() -> None:
    assert auth.noauth_context({"X-User-Id": "admin", "X-Project-Id": "p"}).is_admin
    ctxt = auth.noauth_context(
        {"X-User-Id": "ops", "X-Project-Id": "p", "X-Roles": "reader, admin"}
    )
    assert ctxt.is_admin
    assert ctxt.roles == ["reader", "admin"]
    member = auth.noauth_context({"X-User-Id": "eve", "X-Project-Id": "p", "X-Roles": "member"})
    assert not member.is_admin


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-User-Id": "u"} | {"X-Auth-Token": ":"},
        {"X-User-Id": "has space", "X-Project-Id": "p"},
        {"X-User-Id": "u", "X-Project-Id": "x" * 256},
    ],
)
def test_noauth_without_a_usable_identity_is_401(headers: dict[str, str]) -> None:
    with pytest.raises(faults.HTTPError) as raised:
        auth.noauth_context(headers)
    assert raised.value.code == 401


def test_request_ids_come_from_oslo_request_id_middleware() -> None:
    good = "req-12345678-1234-1234-1234-123456789abc"
    seen: dict[str, auth.RequestContext] = {}

    @webob.dec.wsgify
    def app(request: webob.Request) -> webob.Response:
        seen["ctxt"] = auth.noauth_context(request.headers, request.environ)
        return webob.Response()

    headers = {"X-User-Id": "u", "X-Project-Id": "p", "X-OpenStack-Request-Id": good}
    response = webob.Request.blank("/", headers=headers).get_response(request_id.RequestId(app))
    assert seen["ctxt"].global_request_id == good
    assert seen["ctxt"].request_id == response.headers["x-openstack-request-id"] != good
    headers["X-OpenStack-Request-Id"] = "anything"
    webob.Request.blank("/", headers=headers).get_response(request_id.RequestId(app))
    assert seen["ctxt"].global_request_id is None


def test_keystone_refuses_an_unconfirmed_identity() -> None:
    environ = {"HTTP_X_USER_ID": "u", "HTTP_X_PROJECT_ID": "p"}
    with pytest.raises(faults.HTTPError) as raised:
        auth.keystone_context(environ)
    assert raised.value.code == 401


def test_keystone_takes_the_confirmed_identity() -> None:
    environ = {
        "HTTP_X_IDENTITY_STATUS": "Confirmed",
        "HTTP_X_USER_ID": "u1",
        "HTTP_X_PROJECT_ID": "p1",
        "HTTP_X_ROLES": "member,admin",
    }
    ctxt = auth.context_for(auth.KEYSTONE, environ, {})
    assert (ctxt.user_id, ctxt.project_id, ctxt.is_admin) == ("u1", "p1", True)
