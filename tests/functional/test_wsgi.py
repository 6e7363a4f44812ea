"""The REST API served by gunicorn through ``volmgr_api.wsgi``, as an operator runs it.

gunicorn runs as a process with two workers over an SQLite database made by the
migrations and the in-process transport (nothing in these requests crosses the
bus); the test reads ``/healthcheck`` and real API answers over HTTP, with their
request ids. A manage through gunicorn to real daemons on RabbitMQ is in
``tests/integration/test_wsgi_e2e.py``.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_conf
from volmgr_api import wsgi
from volmgr_common.db import api as db_api
from volmgr_common.db import migration

ADMIN = {"X-User-Id": "admin", "X-Project-Id": "wsgi-project"}
START_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _wait_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited at start"
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not serve {url} within {START_SECONDS}s")


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn serving ``volmgr_api.wsgi:init_application()``; yields its base URL."""
    home = tmp_path_factory.mktemp("wsgi")
    database = f"sqlite:///{home / 'volmgr.sqlite'}"
    db = db_api.Database(make_conf(home, database__connection=database))
    migration.sync(db)
    db.dispose()
    config = home / "volmgr.conf"
    config.write_text(
        f"[DEFAULT]\ntransport_url = kombu+memory:////\nstate_path = {home}\n"
        f"log_file = {home / 'wsgi.log'}\n[database]\nconnection = {database}\n"
    )
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *("--workers", "2", "--threads", "2", "--bind", f"127.0.0.1:{port}"),
        "volmgr_api.wsgi:init_application()",
    ]
    env = {**os.environ, wsgi.CONFIG_FILES_ENV: str(config)}
    output = (home / "gunicorn.out").open("wb")
    process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_serving(f"{url}/healthcheck", process)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        output.close()
        assert process.returncode == 0, (home / "gunicorn.out").read_text()


def test_healthcheck_checks_database_and_message_bus(gunicorn: str) -> None:
    status, headers, body = _get(f"{gunicorn}/healthcheck", {"Accept": "application/json"})
    assert status == 200
    reasons = json.loads(body)["reasons"]
    assert reasons == ["sqlite database: OK", "message bus (kombu+memory, in-process): OK"]
    assert headers["x-openstack-request-id"].startswith("req-")


def test_api_answers_with_a_request_id(gunicorn: str) -> None:
    status, headers, body = _get(f"{gunicorn}/v3/wsgi-project/volumes", ADMIN)
    assert status == 200, body
    assert json.loads(body) == {"volumes": []}
    assert headers["x-openstack-request-id"].startswith("req-")
    assert headers["OpenStack-API-Version"].startswith("volume 3.")


def test_error_answers_carry_a_request_id_and_a_cinder_fault(gunicorn: str) -> None:
    status, headers, body = _get(f"{gunicorn}/v3/wsgi-project/volumes/nope", ADMIN)
    assert status == 404
    assert json.loads(body)["itemNotFound"]["code"] == 404
    assert headers["x-openstack-request-id"].startswith("req-")
    status, headers, _ = _get(f"{gunicorn}/v3/wsgi-project/volumes")  # no identity
    assert status == 401
    assert headers["x-openstack-request-id"].startswith("req-")
