"""Every way a request fails shows the caller a Cinder fault and nothing of the server.

Each answer below is checked for what must never be in it: a traceback, a file path
the caller did not send, the name of an exception class. The failures are real:
a bad version, body or policy, an unknown host, a volume driver that cannot read its
backend, a remote error raised again from an RPC answer (whose text carries the
remote traceback), and an oslo.messaging ``RemoteError`` from a service that sent
an exception volmgr does not know.
"""

import re
import uuid
from typing import Any

import oslo_messaging as messaging
import pytest
import webob

from tests.functional.rest.conftest import Rest, fresh_admin, fresh_member

PATH = re.compile(r"(?<![\w.:/-])/[\w.@+-]+(?:/[\w.@+-]*)+")
CLASS_NAME = re.compile(r"\b[A-Z]\w*(?:Error|Exception|_Remote)\b")


def assert_clean(response: webob.Response, code: int, sent: str = "") -> str:
    """The answer is a Cinder fault of ``code`` that shows nothing of the server."""
    assert response.status_int == code, response.text
    [(_kind, fault)] = response.json.items()
    assert fault["code"] == code
    text = response.text
    assert "Traceback" not in text and 'File \\"' not in text, text
    assert "\\n" not in text, text
    assert [p for p in PATH.findall(fault["message"]) if p not in sent] == [], text
    assert CLASS_NAME.findall(fault["message"]) == [], text
    return fault["message"]


def test_version_body_and_policy_faults(rest: Rest) -> None:
    admin = fresh_admin()
    for version, code in (("9.99", 406), ("x.y", 400)):
        assert_clean(rest.call("GET", "volumes", headers=admin, version=version), code)
    bad_json = b'{"volume": {"ref": /etc/passwd'
    assert_clean(
        rest.call("POST", "os-volume-manage", headers=admin, raw=bad_json), 400, str(bad_json)
    )
    body = rest.manage_body("/etc/shadow/x")
    body["volume"]["ref"]["source-name"] = ""
    assert_clean(rest.call("POST", "os-volume-manage", body, admin), 400)
    assert_clean(rest.call("GET", "os-services", headers=fresh_member()), 403)
    assert_clean(rest.call("GET", "no/such/route", headers=admin), 404)
    assert_clean(rest.call("DELETE", "os-services", headers=admin), 405)
    assert_clean(rest.call("GET", f"volumes/{uuid.uuid4()}", headers=admin), 404)


def test_unknown_host_is_a_400(rest: Rest) -> None:
    body = rest.manage_body(rest.make_file())
    body["volume"]["host"] = "ghost@nowhere"
    message = assert_clean(rest.call("POST", "os-volume-manage", body, fresh_admin()), 400)
    assert message == "Host 'ghost@nowhere' not found"


def test_a_remote_error_raised_again_shows_one_line(rest: Rest) -> None:
    # The volume service refuses the marker; its answer carries its traceback.
    path = f"os-volume-manage?host={rest.backend}&marker=nosuch"
    message = assert_clean(rest.call("GET", path, headers=fresh_admin()), 400)
    assert message == "Invalid input: marker 'nosuch' not found"


def test_a_driver_that_cannot_read_its_backend_is_a_plain_500(rest: Rest) -> None:
    hidden = rest.files.with_name(f"{rest.files.name}-away")
    rest.files.rename(hidden)
    try:
        path = f"os-volume-manage?host={rest.backend}"
        response = rest.call("GET", path, headers=fresh_admin())
    finally:
        hidden.rename(rest.files)
    message = assert_clean(response, 500)
    assert message.startswith("The server has either erred")
    assert str(rest.files) not in response.text


def test_an_unknown_remote_exception_is_a_plain_500(
    rest: Rest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def remote_failure(*_args: Any, **_kwargs: Any) -> Any:
        raise messaging.RemoteError(
            "KeyError",
            "'pools' at /usr/lib/python3/dist-packages/volmgr_volume/worker.py",
            'Traceback (most recent call last):\n  File "/usr/lib/x.py", line 1\nKeyError',
        )

    monkeypatch.setattr(rest.api.volume, "get_manageable_volumes", remote_failure)
    path = f"os-volume-manage?host={rest.backend}"
    message = assert_clean(rest.call("GET", path, headers=fresh_admin()), 500)
    assert "request req-" in message


def test_a_failed_manage_tells_the_user_no_path(rest: Rest) -> None:
    owner = fresh_admin()
    created = rest.call("POST", "os-volume-manage", rest.manage_body("absent.img"), owner)
    volume = rest.wait_status(created.json["volume"]["id"], headers=owner)
    assert volume["status"] == "error"
    [message] = rest.call("GET", "messages", headers=owner, version="3.3").json["messages"]
    assert message["user_message"].startswith("manage existing volume: ")
    for text in (message["user_message"], message["event_id"]):
        assert not PATH.search(text) and not CLASS_NAME.search(text)
        assert "managing" not in text.replace("manage existing", "")
