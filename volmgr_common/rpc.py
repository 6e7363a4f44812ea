"""RPC plumbing: transports, the context serializer, client and server helpers.

Every volmgr service talks over oslo.messaging. The request context is carried in
each message; on the receiving side it becomes the thread's current context so that
oslo.log stamps every line with the request id. Only the exceptions listed in
``volmgr_common.exception.REMOTE_EXCEPTIONS`` cross the wire; any other error is
logged where it happened and replaced by ``InternalError``.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_messaging import server as messaging_server
from oslo_messaging._drivers import impl_rabbit
from oslo_messaging._metrics import client as _metrics_client
from oslo_messaging._tracing import client as _tracing_client
from oslo_messaging.notify import notifier

from volmgr_common import context as volmgr_context
from volmgr_common import exception

LOG = logging.getLogger(__name__)

ALLOWED_EXMODS = [exception.__name__]
NOTIFIER_PUBLISHER_PREFIX = "volmgr"

F = TypeVar("F", bound=Callable[..., Any])


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register oslo.messaging's option groups on a private ``ConfigOpts``.

    oslo.messaging registers its tracing and metrics groups only on ``cfg.CONF`` at
    import time; a process or test with its own ``ConfigOpts`` needs them too.
    """
    for group, opts in (
        ("oslo_messaging_tracing", _tracing_client.oslo_messaging_tracing),
        ("oslo_messaging_metrics", _metrics_client.oslo_messaging_metrics),
    ):
        conf.register_opts(opts, group=group)
    set_defaults()
    conf.register_opts(messaging.transport._transport_opts)
    conf.register_opts(messaging_server._pool_opts)
    conf.register_opts(notifier._notifier_opts, group="oslo_messaging_notifications")


EXECUTOR_THREADS = 8
"""Default ``[DEFAULT] executor_thread_pool_size`` of every RPC server (oslo's is 64)."""

PREFETCH = 2 * EXECUTOR_THREADS
"""Default ``[oslo_messaging_rabbit] rabbit_qos_prefetch_count`` (oslo's is unlimited)."""


def set_defaults() -> None:
    """volmgr's defaults for oslo.messaging options.

    Its own exchange and v2 notifications; and a small executor pool with a bounded
    prefetch. A daemon is one Python process: more threads than this do not run
    more at once, they only take turns on one interpreter lock (measured: 64
    threads cost the three daemons ~25 % more CPU per manage than 8, see
    docs/performance.rst). The prefetch keeps a backlog in RabbitMQ, not in the
    daemon's memory.
    """
    messaging.set_transport_defaults(control_exchange="volmgr")
    cfg.set_defaults(notifier._notifier_opts, driver=["messagingv2"])
    cfg.set_defaults(messaging_server._pool_opts, executor_thread_pool_size=EXECUTOR_THREADS)
    cfg.set_defaults(impl_rabbit.rabbit_opts, rabbit_qos_prefetch_count=PREFETCH)


class RequestContextSerializer(messaging.Serializer):
    """Carry the request context in every message and restore it on arrival."""

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity

    def serialize_context(self, ctxt: volmgr_context.RequestContext) -> dict[str, Any]:
        return ctxt.to_dict()

    def deserialize_context(self, ctxt: dict[str, Any]) -> volmgr_context.RequestContext:
        # overwrite=True makes it the thread's current context, which oslo.log reads.
        return volmgr_context.RequestContext.from_dict(ctxt, overwrite=True)


def batch_entry(ctxt: volmgr_context.RequestContext, **fields: Any) -> dict[str, Any]:
    """One request of a batch message: its own context with its fields.

    The message's context is not the requests'; each keeps its request id, user
    and project in the entry (see :func:`entry_context`).
    """
    return dict(fields, context=ctxt.to_dict())


def entry_context(entry: dict[str, Any]) -> volmgr_context.RequestContext:
    """The request context an entry of a batch message carries (:func:`batch_entry`)."""
    return volmgr_context.RequestContext.from_dict(entry["context"])


class Messaging:
    """The transports and notifier of one process, built from its config."""

    def __init__(self, conf: cfg.ConfigOpts, publisher: str) -> None:
        self.conf = conf
        self.transport = messaging.get_rpc_transport(conf, allowed_remote_exmods=ALLOWED_EXMODS)
        self.notification_transport = messaging.get_notification_transport(
            conf, allowed_remote_exmods=ALLOWED_EXMODS
        )
        self.serializer = RequestContextSerializer()
        self.notifier = messaging.Notifier(
            self.notification_transport,
            publisher_id=f"{NOTIFIER_PUBLISHER_PREFIX}.{publisher}",
            serializer=self.serializer,
        )

    def client(
        self,
        topic: str,
        version: str,
        server: str | None = None,
        fanout: bool = False,
        timeout: int | None = None,
    ) -> messaging.RPCClient:
        target = messaging.Target(topic=topic, version=version, server=server, fanout=fanout)
        return messaging.get_rpc_client(
            self.transport, target, serializer=self.serializer, timeout=timeout
        )

    def server(
        self, topic: str, server: str, endpoints: list[Any]
    ) -> messaging.MessageHandlingServer:
        target = messaging.Target(topic=topic, server=server)
        return messaging.get_rpc_server(
            self.transport,
            target,
            endpoints,
            serializer=self.serializer,
        )

    def cleanup(self) -> None:
        self.transport.cleanup()
        if self.notification_transport is not self.transport:
            self.notification_transport.cleanup()


def remote_boundary(func: F) -> F:
    """Mark an RPC endpoint method: only whitelisted exceptions leave it.

    A whitelisted exception is expected (no traceback in the server log); anything
    else is logged with its traceback and replaced by ``InternalError`` that names
    the request id, so a caller never sees internals of this service.
    """

    @functools.wraps(func)
    def wrapper(self: Any, ctxt: volmgr_context.RequestContext, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(self, ctxt, *args, **kwargs)
        except exception.REMOTE_EXCEPTIONS:
            # ExpectedException captures the exception being handled and sends it.
            raise messaging.ExpectedException() from None
        except Exception:
            LOG.exception("Unexpected error in %s", func.__name__)
            try:
                raise exception.InternalError(request_id=getattr(ctxt, "request_id", None))
            except exception.InternalError:
                raise messaging.ExpectedException() from None

    return wrapper  # type: ignore[return-value]
