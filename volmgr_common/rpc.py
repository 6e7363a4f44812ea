"""RPC plumbing: transports, the context serializer, client and server helpers.

Every volmgr service talks over oslo.messaging. The request context is carried in
each message; on the receiving side it becomes the thread's current context so that
oslo.log stamps every line with the request id. Only the exceptions listed in
``volmgr_common.exception.REMOTE_EXCEPTIONS`` cross the wire; any other error is
logged where it happened and replaced by ``InternalError``.
"""

import contextlib
import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import kombu
import oslo_messaging as messaging
from kombu import exceptions as kombu_exceptions
from oslo_config import cfg
from oslo_messaging import opts as messaging_opts

from volmgr_common import context as volmgr_context
from volmgr_common import exception, rpc_versions, storable

LOG = logging.getLogger(__name__)

ALLOWED_EXMODS = [exception.__name__]
NOTIFIER_PUBLISHER_PREFIX = "volmgr"

F = TypeVar("F", bound=Callable[..., Any])

EXECUTOR_THREADS = 8
"""Default ``[DEFAULT] executor_thread_pool_size`` of every RPC server (oslo's is 64)."""

PREFETCH = 2 * EXECUTOR_THREADS
"""Default ``[oslo_messaging_rabbit] rabbit_qos_prefetch_count`` (oslo's is unlimited)."""

DEFAULTS: dict[str | None, dict[str, Any]] = {
    None: {"control_exchange": "volmgr", "executor_thread_pool_size": EXECUTOR_THREADS},
    "oslo_messaging_notifications": {"driver": ["messagingv2"]},
    "oslo_messaging_rabbit": {"rabbit_qos_prefetch_count": PREFETCH},
}
"""volmgr's defaults for oslo.messaging options, by group (None: ``[DEFAULT]``).

Its own exchange and v2 notifications; and a small executor pool with a bounded
prefetch. A daemon is one Python process: more threads than this do not run
more at once, they only take turns on one interpreter lock (measured: 64
threads cost the three daemons ~25 % more CPU per manage than 8, see
docs/performance.rst). The prefetch keeps a backlog in RabbitMQ, not in the
daemon's memory.
"""

UNLISTED_OPTS: dict[str, list[cfg.Opt]] = {
    "oslo_messaging_tracing": [
        cfg.BoolOpt("tracing_enabled", default=False, help="Trace RPC calls with OpenTelemetry."),
        cfg.StrOpt(
            "tracing_service_name",
            default="openstack",
            help="Service name reported in trace spans.",
        ),
        cfg.StrOpt(
            "otel_exporter_otlp_endpoint",
            default="http://localhost:4318",
            help="OTLP exporter endpoint URL.",
        ),
        cfg.StrOpt(
            "otlp_protocol",
            default="http/protobuf",
            choices=["http/protobuf", "grpc"],
            help="OTLP transport protocol.",
        ),
        cfg.BoolOpt(
            "insecure", default=False, help="Do not verify TLS of the OTLP endpoint (gRPC)."
        ),
    ],
    "oslo_messaging_metrics": [
        cfg.BoolOpt("metrics_enabled", default=False, help="Send RPC metrics to oslo.metrics."),
        cfg.IntOpt("metrics_buffer_size", default=1000, help="Metrics buffered in memory."),
        cfg.StrOpt(
            "metrics_socket_file",
            default="/var/tmp/metrics_collector.sock",
            help="Unix socket to which the metrics are sent.",
        ),
        cfg.StrOpt("metrics_process_name", default="", help="Process name the metrics carry."),
        cfg.IntOpt(
            "metrics_thread_stop_timeout",
            default=10,
            help="Seconds after the last send at which the sending thread stops.",
        ),
    ],
}
"""Groups that oslo.messaging reads from the transport's config but leaves out of
``oslo_messaging.opts.list_opts()``.

oslo.messaging registers these two groups only on the global ``cfg.CONF``, at import
time, from private modules, and reads them from whatever ``ConfigOpts`` the
transport was given: without them every cast and call on a private ``ConfigOpts``
fails with ``NoSuchOptError``. No public function of the library hands out these
options, so volmgr declares the same names and defaults here and registers them
on its own ``ConfigOpts``. ``tests/unit/common/test_rpc.py`` compares them with
what the installed oslo.messaging registered on ``cfg.CONF`` (names, defaults,
and that list_opts() still leaves them out) and fails, naming the difference,
when the library changes.
"""


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """oslo.messaging's options with volmgr's defaults, for the sample config.

    The options are the library's own (``oslo_messaging.opts.list_opts()`` gives
    copies), so setting their defaults changes nothing inside the library.
    """
    groups = messaging_opts.list_opts()
    for group, opts in groups:
        cfg.set_defaults(opts, **DEFAULTS.get(group, {}))
    return groups


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register oslo.messaging's options on a private ``ConfigOpts``, with volmgr's defaults.

    The library registers some of its options itself when a transport, server or
    notifier is built; registering equal copies first changes nothing for it, and
    lets volmgr set its defaults on ``conf`` alone (never on the library's
    module-level options).
    """
    for listed_group, listed_opts in messaging_opts.list_opts():
        conf.register_opts(listed_opts, group=listed_group)
    for group_name, opts in UNLISTED_OPTS.items():
        if group_name not in conf:
            conf.register_opts(opts, group=group_name)
    for group, defaults in DEFAULTS.items():
        for name, value in defaults.items():
            conf.set_default(name, value, group=group)


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


def broker_connection(
    conf: cfg.ConfigOpts,
    url: messaging.TransportURL,
    host: messaging.TransportHost,
    timeout: float,
    **options: Any,
) -> kombu.Connection:
    """A plain AMQP connection (not yet open) to one RabbitMQ host of ``url``, with the
    credentials, vhost and TLS setting the daemons use: for probes and queue reads
    that oslo.messaging has no public call for (the health check, queue depths)."""
    return kombu.Connection(
        hostname=host.hostname,
        port=host.port or 5672,
        userid=host.username or "guest",
        password=host.password or "guest",
        virtual_host=url.virtual_host or "/",
        ssl=bool(conf.oslo_messaging_rabbit.ssl),
        connect_timeout=timeout,
        **options,
    )


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
        self._reported_versions: Callable[[str], Iterable[str | None]] | None = None
        self._auto_clients: list[tuple[messaging.RPCClient, str]] = []

    def read_versions_from(self, reported: Callable[[str], Iterable[str | None]]) -> None:
        """Where ``[upgrade_levels] = auto`` reads the versions services answer (a
        binary's versions, ``volmgr_common.db.services.rpc_versions``); set before
        any client is made."""
        self._reported_versions = reported

    def _cap(self, api: str) -> str | None:
        cap = rpc_versions.version_cap(self.conf, api, self._reported_versions)
        if cap is not None:
            LOG.info(
                "%s RPC API capped at version %s ([upgrade_levels] %s = %s)",
                api,
                cap,
                api,
                self.conf.upgrade_levels[api],
            )
        return cap

    def refresh_version_caps(self) -> None:
        """Read the ``auto`` caps again (on SIGHUP): a cap lifts once every recorded
        service answers the newer version. A failure to read keeps the caps."""
        for client, api in self._auto_clients:
            try:
                client.version_cap = self._cap(api)
            except Exception as error:  # the database away: keep the cap in force
                LOG.warning("Cannot read the services' RPC versions, caps kept: %s", error)
                return

    def client(
        self,
        topic: str,
        version: str,
        server: str | None = None,
        fanout: bool = False,
        timeout: int | None = None,
        retry: int | None = None,
        upgrade_level: str | None = None,
    ) -> messaging.RPCClient:
        """An RPC client; ``retry``: how many times a cast or call tries again to reach
        the broker before it raises (None: until it succeeds, oslo.messaging's default).

        ``upgrade_level``: the RPC API's name in ``[upgrade_levels]``; the client then
        sends nothing newer than the cap set there (see :mod:`volmgr_common.rpc_versions`);
        an ``auto`` cap is read again by :meth:`refresh_version_caps`.
        """
        target = messaging.Target(topic=topic, version=version, server=server, fanout=fanout)
        cap = self._cap(upgrade_level) if upgrade_level else None
        client = messaging.get_rpc_client(
            self.transport,
            target,
            serializer=self.serializer,
            timeout=timeout,
            retry=retry,
            version_cap=cap,
        )
        if upgrade_level and rpc_versions.is_auto(self.conf, upgrade_level):
            self._auto_clients.append((client, upgrade_level))
        return client

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


@contextlib.contextmanager
def bus_unavailable_as_503() -> Iterator[None]:
    """Raise ``MessagingUnavailable`` (HTTP 503) when a message could not be sent.

    oslo.messaging raises ``MessageDeliveryFailure`` when a client's retries to reach
    the broker run out (or the broker refuses the connection: a vhost that is gone);
    when its pool has to open a new connection and cannot, kombu's own
    ``OperationalError`` comes through instead.
    """
    try:
        yield
    except (messaging.MessageDeliveryFailure, kombu_exceptions.OperationalError) as error:
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        LOG.warning("A message could not be sent: %s", reason)
        raise exception.MessagingUnavailable(reason="a message could not be sent") from error


def _check_storable(
    ctxt: volmgr_context.RequestContext, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    found = storable.first_problem(
        [
            ("the caller's user id", getattr(ctxt, "user_id", None)),
            ("the caller's project id", getattr(ctxt, "project_id", None)),
            *((f"argument {index}", value) for index, value in enumerate(args)),
            *kwargs.items(),
        ]
    )
    if found is not None:
        raise exception.InvalidInput(reason=found)


def remote_boundary(func: F) -> F:
    """Mark an RPC endpoint method: only whitelisted exceptions leave it.

    A whitelisted exception is expected (no traceback in the server log); anything
    else is logged with its traceback and replaced by ``InternalError`` that names
    the request id, so a caller never sees internals of this service.

    Every argument, and the caller's user and project, must be text a database can
    store (:mod:`volmgr_common.storable`): otherwise the call is refused with
    ``InvalidInput`` before the method runs, as the REST API refuses it with a 400.
    """

    @functools.wraps(func)
    def wrapper(self: Any, ctxt: volmgr_context.RequestContext, *args: Any, **kwargs: Any) -> Any:
        try:
            _check_storable(ctxt, args, kwargs)
            return func(self, ctxt, *args, **kwargs)
        except exception.REMOTE_EXCEPTIONS:
            # ExpectedException captures the exception being handled and sends it.
            raise messaging.ExpectedException() from None
        except Exception:
            request_id = getattr(ctxt, "request_id", None)
            LOG.exception("Unexpected error in %s (request %s)", func.__name__, request_id)
            try:
                raise exception.InternalError(request_id=request_id)
            except exception.InternalError:
                raise messaging.ExpectedException() from None

    return wrapper  # type: ignore[return-value]
