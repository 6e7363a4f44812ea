"""Functional test: a deployment in the middle of a rolling upgrade.

The scheduler and the volume service are of the previous release: their endpoints
answer RPC version 1.0 only, so a 1.1 batch cast is refused (oslo.messaging's
dispatcher checks the version before it looks at the method). The API is new and
sends to the scheduler under ``[upgrade_levels] scheduler = 1.0``; the scheduler
sends to the volume service under ``[upgrade_levels] volume = 1.0``. The same runs
with the caps given as the previous release's name (``0.1.0``), its services
answering what that release answered (scheduler and volume 1.1). Each daemon
has its own config and its own transport, as separate processes would; a burst of
concurrent manages must still end ``available``, every message a 1.0 message.
"""

import concurrent.futures
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import oslo_messaging as messaging
import pytest
from oslo_config import cfg

from tests.functional.stack import (
    GIB,
    PROJECT,
    NotificationCollector,
    Stack,
    make_file,
    reset_memory_broker,
)
from volmgr_api import rpcapi as api_rpcapi
from volmgr_api import service as api_service
from volmgr_common import context, rpc, rpc_versions, service
from volmgr_common.db import api as db_api
from volmgr_common.db import services as services_db
from volmgr_common.db import volume_record
from volmgr_scheduler import rpcapi as scheduler_rpcapi
from volmgr_scheduler import service as scheduler_service
from volmgr_volume import rpcapi as volume_rpcapi
from volmgr_volume import service as volume_service

OLD_VERSION = "1.0"
PREVIOUS_RELEASE = "0.1.0"
BURST = 12


class Received:
    """What the previous-release endpoints were sent, by method name."""

    def __init__(self) -> None:
        self.methods: list[str] = []
        self._lock = threading.Lock()

    def record(self, endpoint: Any, name: str) -> None:
        original: Callable[..., Any] = getattr(endpoint, name)

        def recording(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.methods.append(name)
            return original(*args, **kwargs)

        setattr(endpoint, name, recording)


def previous_version(level: str, api: str) -> str:
    """The version the previous-release service of ``api`` answers, for the cap ``level``
    (a version: that version; a release name: what that release's services answer)."""
    return rpc_versions.RELEASES[level][api] if level in rpc_versions.RELEASES else level


def as_previous_release(svc: service.Service, received: Received, version: str) -> service.Service:
    """Make the service's endpoint answer what a previous-release one does: ``version``
    and the older minor versions only."""
    endpoint = svc.endpoints[0]
    endpoint.target = messaging.Target(version=version)
    svc.rpc_version = version
    for name in ("manage_existing", "manage_existing_batch"):
        received.record(endpoint, name)
    return svc


@pytest.fixture(params=[OLD_VERSION, PREVIOUS_RELEASE], ids=["version-1.0", "release-0.1.0"])
def mixed_stack(
    request: pytest.FixtureRequest,
    conf_factory: Callable[..., cfg.ConfigOpts],
    db: db_api.Database,
    quick_stop: None,
) -> Any:
    """New API (scheduler capped); previous-release scheduler (volume capped) and volume
    service; one transport per daemon. The caps are a version (1.0: the old services
    answer 1.0 only) or the previous release's name (they answer what it answered)."""
    level = request.param
    reset_memory_broker()
    url = f"kombu+memory:////{uuid.uuid4().hex}"
    api_conf = conf_factory(transport_url=url, api__bind_port=0, upgrade_levels__scheduler=level)
    scheduler_conf = conf_factory(transport_url=url, upgrade_levels__volume=level)
    volume_conf = conf_factory(transport_url=url)
    received = Received()
    transports: list[rpc.Messaging] = []

    def messaging_of(conf: cfg.ConfigOpts) -> rpc.Messaging:
        transports.append(rpc.Messaging(conf, publisher="volmgr-functional"))
        return transports[-1]

    client_messaging = messaging_of(api_conf)
    listener = messaging.get_notification_listener(
        client_messaging.notification_transport,
        [messaging.Target(topic="notifications")],
        [NotificationCollector()],
        executor="threading",
    )
    listener.start()
    stack = Stack(
        conf=volume_conf,
        db=db,
        messaging=client_messaging,
        listener=listener,
        services=[],
        api=api_rpcapi.ApiAPI(client_messaging, timeout=10),
        ctxt=context.RequestContext(user_id="user-a", project_id=PROJECT, roles=["member"]),
        files=Path(volume_conf.file_backend.directory),
        notifications=NotificationCollector(),
    )
    try:
        stack.start(api_service.build(api_conf, db, messaging_of(api_conf)))
        scheduler = scheduler_service.build(scheduler_conf, db, messaging_of(scheduler_conf))
        old_scheduler = previous_version(level, "scheduler")
        stack.start(as_previous_release(scheduler, received, old_scheduler))
        volume = volume_service.build(volume_conf, db, messaging_of(volume_conf))
        stack.start(as_previous_release(volume, received, previous_version(level, "volume")))
        yield stack, received, level
    finally:
        stack.stop()
        for transport in transports[1:]:
            transport.cleanup()


def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every batch the new clients are asked to send."""
    sizes: list[int] = []
    for client_cls in (scheduler_rpcapi.SchedulerAPI, volume_rpcapi.VolumeAPI):
        original: Callable[..., None] = client_cls.manage_existing_batch

        def recording(self: Any, ctxt: Any, *args: Any, _send: Any = original) -> None:
            sizes.append(len(args[-1]))
            _send(self, ctxt, *args)

        monkeypatch.setattr(client_cls, "manage_existing_batch", recording)
    return sizes


def test_a_burst_of_manages_succeeds_across_mixed_releases(
    mixed_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, received, level = mixed_stack
    sizes = batch_sizes(monkeypatch)
    names = [f"lun-{n:02}.img" for n in range(BURST)]
    for name in names:
        make_file(stack.files / name, GIB)
    with concurrent.futures.ThreadPoolExecutor(BURST) as pool:
        accepted = list(pool.map(stack.manage, names))
    outcomes = [stack.wait_terminal(volume["id"]) for volume in accepted]

    assert [v["status"] for v in outcomes] == [volume_record.AVAILABLE] * BURST
    # The new clients had batches to send (a 1.1 message each, without the caps) ...
    assert max(sizes) > 1, sizes
    if level == OLD_VERSION:
        # ... yet every request reached both 1.0 services as a 1.0 single cast.
        assert received.methods.count("manage_existing") == 2 * BURST
        assert "manage_existing_batch" not in received.methods
    else:
        # ... which 0.1.0's services answer: nothing newer reached them (the endpoints
        # refuse a newer version, and every request ended available).
        assert set(received.methods) <= {"manage_existing", "manage_existing_batch"}
    versions = {s["binary"]: s["rpc_version"] for s in services_db.list_all(stack.db)}
    assert versions == {
        api_service.BINARY: api_rpcapi.RPC_API_VERSION,
        scheduler_service.BINARY: previous_version(level, "scheduler"),
        volume_service.BINARY: previous_version(level, "volume"),
    }


def test_a_previous_release_service_refuses_a_newer_message(mixed_stack: Any) -> None:
    """Why the caps matter: without one, a newer message (the 1.1 batch for a 1.0
    service, the 1.2 snapshot listing for 0.1.0's) is refused."""
    stack, _received, level = mixed_stack
    client = stack.messaging.client(volume_rpcapi.TOPIC, volume_rpcapi.RPC_API_VERSION, timeout=5)
    if level == OLD_VERSION:
        newer = client.prepare(server=stack.backend, version="1.1")
        call = {"method": "manage_existing_batch", "requests": []}
    else:
        newer = client.prepare(server=stack.backend, version="1.2")
        call = {"method": "get_manageable_snapshots", "limit": 1}
    with pytest.raises(messaging.RemoteError) as refused:
        newer.call(stack.ctxt, call.pop("method"), **call)
    assert refused.value.exc_type == "UnsupportedVersion"
