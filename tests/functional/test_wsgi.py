"""The REST API served by gunicorn through ``volmgr_api.wsgi``, as an operator runs it.

gunicorn runs as a process with two workers over an SQLite database made by the
migrations and the in-process transport (nothing in these requests crosses the
bus); the test reads ``/healthcheck`` and real API answers over HTTP, with their
request ids. A manage through gunicorn to real daemons on RabbitMQ is in
``tests/integration/test_wsgi_e2e.py``.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import webob

from tests import wsgi_support
from tests.conftest import make_conf
from volmgr_api import wsgi
from volmgr_common.db import api as db_api
from volmgr_common.db import migration

ADMIN = {"X-User-Id": "admin", "X-Project-Id": "wsgi-project"}


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
    with wsgi_support.gunicorn(config, home / "gunicorn.out") as url:
        yield url


def test_healthcheck_checks_database_and_message_bus(gunicorn: str) -> None:
    status, headers, body = wsgi_support.request(
        f"{gunicorn}/healthcheck", headers={"Accept": "application/json"}
    )
    assert status == 200
    reasons = json.loads(body)["reasons"]
    assert reasons == ["sqlite database: OK", "message bus (kombu+memory, in-process): OK"]
    assert headers["x-openstack-request-id"].startswith("req-")


def test_api_answers_with_a_request_id(gunicorn: str) -> None:
    status, headers, body = wsgi_support.request(
        f"{gunicorn}/v3/wsgi-project/volumes", headers=ADMIN
    )
    assert status == 200, body
    assert json.loads(body) == {"volumes": []}
    assert headers["x-openstack-request-id"].startswith("req-")
    assert headers["OpenStack-API-Version"].startswith("volume 3.")


def test_error_answers_carry_a_request_id_and_a_cinder_fault(gunicorn: str) -> None:
    status, headers, body = wsgi_support.request(
        f"{gunicorn}/v3/wsgi-project/volumes/nope", headers=ADMIN
    )
    assert status == 404
    assert json.loads(body)["itemNotFound"]["code"] == 404
    assert headers["x-openstack-request-id"].startswith("req-")
    status, headers, _ = wsgi_support.request(f"{gunicorn}/v3/wsgi-project/volumes")
    assert status == 401
    assert headers["x-openstack-request-id"].startswith("req-")


def test_application_is_built_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = f"sqlite:///{tmp_path / 'volmgr.sqlite'}"
    db = db_api.Database(make_conf(tmp_path, database__connection=database))
    migration.sync(db)
    db.dispose()
    config = tmp_path / "volmgr.conf"
    config.write_text(
        f"[DEFAULT]\ntransport_url = kombu+memory:////\n[database]\nconnection = {database}\n"
    )
    monkeypatch.setenv(wsgi.CONFIG_FILES_ENV, str(config))
    monkeypatch.setattr(wsgi, "_application", None)
    first = wsgi.application
    assert wsgi.application is first
    response = webob.Request.blank("/healthcheck").get_response(first)
    assert response.status_int == 200


def test_a_missing_config_file_ends_the_worker_with_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(wsgi.CONFIG_FILES_ENV, str(tmp_path / "absent.conf"))
    with pytest.raises(SystemExit) as exited:
        wsgi.init_application()
    assert exited.value.code == 2
    assert "config file not found" in capsys.readouterr().err
