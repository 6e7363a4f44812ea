"""A manage through gunicorn: the WSGI workers take REST, the daemons do the rest.

gunicorn serves ``volmgr_api.wsgi`` with the deployment's config (RabbitMQ vhost,
PostgreSQL); its workers run the REST app and the RPC clients only. The manage it
accepts travels to the running scheduler and volume daemons and ends ``available``;
``/healthcheck`` reports the real database and broker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests import wsgi_support
from tests.integration import daemons
from tests.integration.conftest import Cluster

ADMIN = {"X-User-Id": "admin", "X-Project-Id": "wsgi-it"}
WAIT_SECONDS = 30.0


@pytest.fixture(scope="module")
def gunicorn(factory: daemons.DaemonFactory, cluster: Cluster) -> Iterator[str]:
    config = factory.write_config("gunicorn")
    with wsgi_support.gunicorn(config, factory.base_dir / "gunicorn" / "gunicorn.out") as url:
        yield url


def test_healthcheck_reaches_postgresql_and_rabbitmq(gunicorn: str) -> None:
    status, headers, body = wsgi_support.request(
        f"{gunicorn}/healthcheck", headers={"Accept": "application/json"}
    )
    assert status == 200, body
    assert json.loads(body)["reasons"] == ["postgresql database: OK", "message bus (rabbit): OK"]
    assert headers["x-openstack-request-id"].startswith("req-")


def test_a_manage_through_gunicorn_ends_available(gunicorn: str, cluster: Cluster) -> None:
    name = f"wsgi-{daemons.unique_name('disk')}.img"
    with (cluster.directory / name).open("wb") as image:
        image.truncate(1024**3)
    body = {"volume": {"host": cluster.backend_host, "ref": {"source-name": name}}}
    base = f"{gunicorn}/v3/wsgi-it"
    status, headers, answer = wsgi_support.request(f"{base}/os-volume-manage", "POST", ADMIN, body)
    assert status == 202, answer
    request_id = headers["x-openstack-request-id"]
    volume_id = json.loads(answer)["volume"]["id"]
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status, _, answer = wsgi_support.request(f"{base}/volumes/{volume_id}", headers=ADMIN)
        volume = json.loads(answer)["volume"]
        if volume["status"] != "creating" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert volume["status"] == "available", volume
    assert (cluster.directory / f"volume-{volume_id}").exists()
    assert request_id in cluster.volume.log_text()  # the request id travelled with the cast
