"""Fixtures of the functional tests: the three services in one process, per test.

Each test gets a fresh SQLite file, a fresh in-process broker (``kombu+memory``),
the API, scheduler and file-backed volume service started on them, and the
handles of :class:`tests.functional.stack.Stack`. The services are stopped at
teardown.

``kombu+memory`` keeps one broker per process: a virtual host in the URL does not
isolate anything (``test_transport.py`` shows it). So that no message of an earlier
test reaches this one, the fixture empties the in-memory broker before it starts.
"""

import uuid
from collections.abc import Callable, Iterator

import pytest
from futurist import _thread as futurist_thread
from kombu.transport import memory
from oslo_config import cfg

from tests.fault_plugin import FaultPlugin
from tests.functional.stack import Stack, reset_memory_broker
from volmgr_common.db import api as db_api


@pytest.fixture
def stack_conf(conf_factory: Callable[..., cfg.ConfigOpts]) -> cfg.ConfigOpts:
    """Config of the in-process services: an in-memory broker and the API's REST
    server (unused here) on a free localhost port."""
    return conf_factory(transport_url=f"kombu+memory:////{uuid.uuid4().hex}", api__bind_port=0)


@pytest.fixture
def quick_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the in-process transport cheap: idle servers neither spin nor linger.

    oslo.messaging sets kombu's memory transport to poll its queues with no pause,
    which keeps every idle consumer thread busy; a 5 ms pause costs a request a few
    milliseconds and saves most of the CPU (two cores are all CI has). And an RPC
    server stops once its idle worker threads notice, which they check every
    ``MAX_IDLE_FOR`` seconds (1 s); checking every 50 ms keeps each teardown short.
    """
    monkeypatch.setattr(
        memory.Transport,
        "polling_interval",
        property(lambda _self: 0.005, lambda _self, _value: None),
        raising=False,
    )
    monkeypatch.setattr(futurist_thread.ThreadWorker, "MAX_IDLE_FOR", 0.05)


@pytest.fixture
def stack(
    stack_conf: cfg.ConfigOpts, db: db_api.Database, quick_stop: None, fault_plugin: FaultPlugin
) -> Iterator[Stack]:
    """API, scheduler and file volume service running on one in-process broker, with
    the fault plugin registered (a request's ``_fault`` metadata acts)."""
    reset_memory_broker()
    running = Stack.start_all(stack_conf, db)
    yield running
    running.stop()
