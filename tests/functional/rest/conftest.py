"""The REST API in front of the three services running in one process.

One stack per test module (starting and stopping services takes about a second):
SQLite under a temporary directory, the in-process broker ``kombu+memory``, the
file driver over a temporary directory, and the API service built as volmgr-api
builds it, with its HTTP server on a free localhost port. Tests call the WSGI app
in-process (:meth:`Rest.call`) or over HTTP (:attr:`Rest.url`), and keep apart by
using projects and file names of their own.
"""

import contextlib
import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import webob
from futurist import _thread as futurist_thread
from kombu.transport import memory
from oslo_config import cfg
from sqlalchemy.orm import Session

from tests.conftest import make_conf, start_from_template
from volmgr_api import service as api_service
from volmgr_api.api import API
from volmgr_api.rest import deploy
from volmgr_api.rest.server import WsgiService
from volmgr_common import rpc, service
from volmgr_common.db import api as db_api
from volmgr_common.db import migration, models, quota_audit
from volmgr_scheduler import service as scheduler_service
from volmgr_volume import service as volume_service

ADMIN = {"X-User-Id": "admin", "X-Project-Id": "admin-project"}
WAIT_SECONDS = 15.0
GIB = 1024**3


def identity(user: str, project: str, roles: str | None = None) -> dict[str, str]:
    """The noauth headers of ``user`` in ``project``."""
    headers = {"X-User-Id": user, "X-Project-Id": project}
    if roles:
        headers["X-Roles"] = roles
    return headers


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def fresh_admin() -> dict[str, str]:
    """An administrator in a project no other test uses."""
    return identity("admin", unique("adm"))


def fresh_member() -> dict[str, str]:
    """A member (not an admin) of a project no other test uses."""
    return identity(unique("user"), unique("proj"), roles="member")


@dataclasses.dataclass
class Rest:
    """A running stack and helpers to talk to its REST API."""

    conf: cfg.ConfigOpts
    db: db_api.Database
    api: API
    app: Any
    http: WsgiService
    files: Path
    backend: str

    @property
    def url(self) -> str:
        return self.http.url

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        version: str | None = None,
        raw: bytes | None = None,
    ) -> webob.Response:
        """One request to the WSGI app, in-process; ``path`` is below /v3/<project>
        unless it starts with '/'."""
        headers = dict(ADMIN if headers is None else headers)
        if not path.startswith("/"):
            path = f"/v3/{headers.get('X-Project-Id', 'none')}/{path}"
        request = webob.Request.blank(path, method=method)
        for name, value in headers.items():
            request.headers[name] = value
        if version:
            request.headers["OpenStack-API-Version"] = f"volume {version}"
        if raw is not None or body is not None:
            request.body = raw if raw is not None else json.dumps(body).encode()
            request.content_type = "application/json"
        return request.get_response(self.app)

    def make_file(self, name: str | None = None, size: int = GIB) -> str:
        """A sparse file in the backend directory; returns its name."""
        name = name or f"disk-{uuid.uuid4().hex[:12]}.img"
        with open(self.files / name, "wb") as image:
            image.truncate(size)
        return name

    def manage_body(self, source_name: str, **fields: Any) -> dict[str, Any]:
        return {"volume": {"host": self.backend, "ref": {"source-name": source_name}, **fields}}

    def wait_status(
        self, volume_id: str, headers: dict[str, str] | None = None, leave: str = "creating"
    ) -> dict[str, Any]:
        """The volume once its Cinder status is no longer ``leave``."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            response = self.call("GET", f"volumes/{volume_id}", headers=headers)
            if response.status_int == 404 and leave != "creating":
                return {"id": volume_id, "status": "gone"}
            volume = response.json["volume"]
            if volume["status"] != leave:
                return volume
            assert time.monotonic() < deadline, f"{volume_id} still {leave}"
            time.sleep(0.02)

    def manage(self, headers: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
        """Manage a new file and wait until it is available; returns the volume view."""
        response = self.call(
            "POST",
            "os-volume-manage",
            self.manage_body(self.make_file(), **fields),
            headers=headers,
        )
        assert response.status_int == 202, response.text
        volume = self.wait_status(response.json["volume"]["id"], headers=headers)
        assert volume["status"] == "available", volume
        return volume


@db_api.writer
def _delete_rows(session: Session, volume_ids: list[str]) -> None:
    session.execute(
        sa.delete(models.VolumeMetadata).where(models.VolumeMetadata.volume_id.in_(volume_ids))
    )
    session.execute(sa.delete(models.Volume).where(models.Volume.id.in_(volume_ids)))


def forget(rest: Rest, *volume_ids: str) -> None:
    """Make the database forget volumes, as a restored older copy would: their rows go
    and the quota usage is what the remaining rows hold."""
    forget_rows(rest.db, *volume_ids)


def forget_rows(db: db_api.Database, *volume_ids: str) -> None:
    """:func:`forget` in ``db``."""
    _delete_rows(db, list(volume_ids))
    quota_audit.sync(db)


def reset_memory_broker() -> None:
    """Forget every queue of kombu's process-wide in-memory broker."""
    memory.Channel.queues.clear()
    memory.Channel.events.clear()
    memory.Transport.global_state.clear()


@contextlib.contextmanager
def running_stack(
    tmp_path: Path,
    database_url: str | None = None,
    more_volume_hosts: tuple[str, ...] = (),
    **settings: Any,
) -> Iterator[Rest]:
    """The three services and the REST API on ``database_url`` (default: SQLite under
    ``tmp_path``), stopped when the block ends. ``settings`` override options (as
    ``make_conf`` takes them); ``more_volume_hosts`` start more volume services, on
    these hosts, with the same settings and backend directory (members of a cluster)."""
    if database_url:
        settings["database__connection"] = database_url
    settings = {
        "transport_url": f"kombu+memory:////{uuid.uuid4().hex}",
        "api__bind_port": 0,
        "api__threads": 4,
        **settings,
    }
    conf = make_conf(tmp_path, **settings)
    members = [make_conf(tmp_path, **{**settings, "host": host}) for host in more_volume_hosts]
    patch = pytest.MonkeyPatch()
    patch.setattr(futurist_thread.ThreadWorker, "MAX_IDLE_FOR", 0.05)
    reset_memory_broker()
    start_from_template(conf.database.connection)
    db = db_api.Database(conf)
    migration.sync(db)  # at the head already when copied: only checks the revision
    messaging = rpc.Messaging(conf, publisher="volmgr-rest-tests")
    services: list[service.Service] = []
    try:
        builds = [
            (api_service.build, conf),
            (scheduler_service.build, conf),
            (volume_service.build, conf),
            *((volume_service.build, member) for member in members),
        ]
        for build, service_conf in builds:
            services.append(build(service_conf, db, messaging))
            services[-1].start()
        [http] = services[0].extra_servers
        api_obj = services[0].endpoints[0]._api
        yield Rest(
            conf=conf,
            db=db,
            api=api_obj,
            app=deploy.build_pipeline(conf, api_obj),
            http=http,
            files=Path(conf.file_backend.directory),
            backend=volume_service.backend_host(conf),
        )
    finally:
        for svc in reversed(services):
            svc.stop()
        messaging.cleanup()
        db.dispose()
        patch.undo()


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rest]:
    """The three services and the REST API on SQLite, for every test of a module."""
    with running_stack(tmp_path_factory.mktemp("rest")) as stack:
        yield stack
