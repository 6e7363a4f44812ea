"""Functional tests of the in-process transport the other functional tests stand on.

``kombu+memory`` keeps a single broker per process, whatever virtual host the URL
names: the first test shows it, and is why the ``stack`` fixture empties that
broker before each test instead of relying on a throwaway virtual host. The second
shows that emptying it does keep a message queued by an earlier test away. The last
sends to a RabbitMQ URL where nothing listens: the API's clients give up after
``[api] broker_retries``.
"""

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import oslo_messaging as messaging
import pytest
from oslo_config import cfg

from tests.functional.stack import reset_memory_broker
from volmgr_common import context, exception, rpc
from volmgr_common.manage_request import RequestSpec
from volmgr_scheduler import rpcapi as scheduler_rpcapi

CTXT = context.RequestContext(user_id="user-a", project_id="project-a")


class Echo:
    """An RPC endpoint that answers ``ping`` and remembers ``note`` casts."""

    target = messaging.Target(version="1.0")

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.noted = threading.Event()

    def ping(self, ctxt: context.RequestContext) -> str:
        return "pong"

    def note(self, ctxt: context.RequestContext, text: str) -> None:
        self.notes.append(text)
        self.noted.set()


@pytest.fixture
def on_vhost(
    conf_factory: Callable[..., cfg.ConfigOpts], quick_stop: None
) -> Iterator[Callable[[], rpc.Messaging]]:
    """Open transports on ``kombu+memory`` virtual hosts of their own."""
    reset_memory_broker()
    opened: list[rpc.Messaging] = []

    def open_one() -> rpc.Messaging:
        conf = conf_factory(transport_url=f"kombu+memory:////{uuid.uuid4().hex}")
        opened.append(rpc.Messaging(conf, publisher="transport-test"))
        return opened[-1]

    yield open_one
    for msg in opened:
        msg.cleanup()
    reset_memory_broker()


def serve(msg: rpc.Messaging, endpoint: Echo) -> messaging.MessageHandlingServer:
    server = msg.server("volmgr-transport-test", "node1", [endpoint])
    server.start()
    return server


def stop(server: messaging.MessageHandlingServer) -> None:
    server.stop()
    server.wait()


def test_a_virtual_host_does_not_isolate_the_memory_broker(
    on_vhost: Callable[[], rpc.Messaging],
) -> None:
    first, second = on_vhost(), on_vhost()
    server = serve(first, Echo())
    try:
        client = second.client("volmgr-transport-test", "1.0", timeout=5)
        assert client.call(CTXT, "ping") == "pong"
    finally:
        stop(server)


def test_resetting_the_broker_drops_messages_left_by_an_earlier_test(
    on_vhost: Callable[[], rpc.Messaging],
) -> None:
    earlier = on_vhost()
    endpoint = Echo()
    stop(serve(earlier, endpoint))  # declares the queue, then goes away
    earlier.client("volmgr-transport-test", "1.0").cast(CTXT, "note", text="stale")

    reset_memory_broker()
    later = on_vhost()
    server = serve(later, endpoint)
    try:
        later.client("volmgr-transport-test", "1.0").cast(CTXT, "note", text="fresh")
        assert endpoint.noted.wait(5)
        later.client("volmgr-transport-test", "1.0", timeout=5).call(CTXT, "ping")
    finally:
        stop(server)
    assert endpoint.notes == ["fresh"]


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("retries", [0, 1])
def test_a_request_gives_up_on_an_unreachable_broker_with_a_503(
    conf_factory: Callable[..., cfg.ConfigOpts], retries: int
) -> None:
    """volmgr-api's messages try ``[api] broker_retries`` more times, then the request
    gets MessagingUnavailable (HTTP 503) instead of waiting for the broker forever."""
    conf = conf_factory(
        transport_url=f"rabbit://guest:guest@127.0.0.1:{closed_port()}/",
        api__broker_retries=retries,
        oslo_messaging_rabbit__rabbit_retry_interval=1,
        oslo_messaging_rabbit__rabbit_retry_backoff=1,
    )
    msg = rpc.Messaging(conf, publisher="volmgr-functional")
    try:
        scheduler = scheduler_rpcapi.SchedulerAPI(msg, retry=conf.api.broker_retries)
        started = time.monotonic()
        spec = RequestSpec("h@b", "nova", "t", volume_id="volume-1")
        with pytest.raises(exception.MessagingUnavailable) as raised, rpc.bus_unavailable_as_503():
            scheduler.manage_existing(CTXT, "volume-1", spec)
        assert raised.value.code == 503
        assert time.monotonic() - started < 10
    finally:
        msg.cleanup()
