"""Unit tests of how volmgr registers oslo.messaging's options on its own ``ConfigOpts``.

volmgr uses only oslo.messaging's public functions for this; where the library
gives no public way (the tracing and metrics groups it registers on ``cfg.CONF``
alone), ``rpc.UNLISTED_OPTS`` copies them, and these tests fail, naming what
changed, when the installed library no longer matches that copy.
"""

from typing import Any

import oslo_messaging as messaging
import pytest
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_messaging import opts as messaging_opts

from volmgr_common import context, rpc
from volmgr_common.conf import startup


def _listed_groups() -> set[str | None]:
    return {group for group, _opts in messaging_opts.list_opts()}


def _global_messaging_groups() -> set[str]:
    """oslo.messaging's groups on ``cfg.CONF`` (a group is an item that is a mapping)."""
    return {
        name
        for name in cfg.CONF
        if name.startswith("oslo_messaging")
        and isinstance(cfg.CONF[name], cfg.ConfigOpts.GroupAttr)
    }


def test_every_group_the_library_keeps_to_itself_is_copied() -> None:
    unlisted = _global_messaging_groups() - _listed_groups()
    assert unlisted == set(rpc.UNLISTED_OPTS), (
        "oslo.messaging now registers these groups on cfg.CONF only: "
        f"{sorted(unlisted)}; volmgr copies {sorted(rpc.UNLISTED_OPTS)} "
        "(update rpc.UNLISTED_OPTS, or drop the copy of a group list_opts() now gives)"
    )


@pytest.mark.parametrize("group", sorted(rpc.UNLISTED_OPTS))
def test_copied_group_has_the_library_names_and_defaults(group: str) -> None:
    library: dict[str, Any] = {name: cfg.CONF[group][name] for name in cfg.CONF[group]}
    copied = {opt.dest: opt.default for opt in rpc.UNLISTED_OPTS[group]}
    assert copied == library, (
        f"oslo.messaging's [{group}] changed: it has {library}, volmgr copies {copied}"
    )


def test_register_opts_sets_volmgr_defaults_on_its_conf_only() -> None:
    conf = startup.new_conf()
    conf([], project="volmgr", default_config_files=[])
    assert conf.control_exchange == "volmgr"
    assert conf.executor_thread_pool_size == rpc.EXECUTOR_THREADS
    assert conf.oslo_messaging_notifications.driver == ["messagingv2"]
    assert conf.oslo_messaging_rabbit.rabbit_qos_prefetch_count == rpc.PREFETCH
    assert conf.oslo_messaging_tracing.tracing_enabled is False
    assert conf.oslo_messaging_metrics.metrics_enabled is False
    library = dict(messaging_opts.list_opts())
    pool = {opt.dest: opt.default for opt in library[None]}
    assert pool["executor_thread_pool_size"] != rpc.EXECUTOR_THREADS  # untouched


def test_sample_lists_the_messaging_options_with_volmgr_defaults() -> None:
    listed = {(group, opt.dest): opt.default for group, opts in rpc.list_opts() for opt in opts}
    for group, defaults in rpc.DEFAULTS.items():
        for name, value in defaults.items():
            assert listed[(group, name)] == value


def test_a_private_conf_sends_and_the_library_registers_its_own_opts() -> None:
    conf = startup.new_conf()
    conf([], project="volmgr", default_config_files=[])
    conf.set_override("transport_url", "kombu+memory:////")
    bus = rpc.Messaging(conf, publisher="test")
    try:
        client = bus.client("volmgr-test", "1.0")
        client.cast(context.get_admin_context(), "anything")  # no NoSuchOptError
        bus.notifier.info(context.get_admin_context(), "test.event", {})
        server = bus.server("volmgr-test", "node1", [])
        server.start()
        server.stop()
        server.wait()
    finally:
        bus.cleanup()
    assert isinstance(bus.transport, messaging.Transport)


def test_admin_context_does_not_become_current() -> None:
    previous = oslo_context.get_current()
    admin = context.get_admin_context(request_id="req-9")
    assert oslo_context.get_current() is previous
    admin.update_store()
    assert oslo_context.get_current() is admin
