"""Health check backends of the REST API: can this process reach its database and its broker?

oslo.middleware's ``Healthcheck`` answers ``/healthcheck`` (200 when every backend
is available, 503 otherwise) and loads its backends by name from the
``oslo.middleware.healthcheck`` entry points (``[healthcheck] backends``; volmgr's
default runs both of these). Each backend builds what it checks from the process's
configuration, so it works alike in volmgr-api and in a WSGI server's worker:

* ``volmgr_database``: ``SELECT 1`` on ``[database] connection``;
* ``volmgr_message_bus``: an AMQP connection (handshake and login, then closed) to
  each RabbitMQ host of ``transport_url`` in turn, until one answers; an in-process
  transport (``kombu+memory``, ``fake``) is always reachable.

A probe waits at most ``[api] healthcheck_timeout`` seconds.
"""

from typing import Any

import oslo_messaging as messaging
import sqlalchemy as sa
from oslo_config import cfg
from oslo_log import log as logging
from oslo_middleware.healthcheck import pluginbase

from volmgr_common import rpc

LOG = logging.getLogger(__name__)
IN_PROCESS_TRANSPORTS = frozenset({"kombu+memory", "fake"})


def _failure(what: str, error: BaseException) -> pluginbase.HealthcheckResult:
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    LOG.warning("Health check: %s is unreachable: %s", what, first_line)
    return pluginbase.HealthcheckResult(
        available=False, reason=f"{what} is unreachable", details=first_line
    )


class DatabaseCheck(pluginbase.HealthcheckBaseExtension):
    """Available when ``SELECT 1`` on the configured database succeeds in time."""

    def __init__(self, oslo_conf: cfg.ConfigOpts, conf: dict[str, Any]) -> None:
        super().__init__(oslo_conf, conf)
        timeout = oslo_conf.api.healthcheck_timeout
        url = sa.make_url(oslo_conf.database.connection)
        backend = url.get_backend_name()
        connect_args: dict[str, Any] = {"timeout": timeout}
        if backend in ("postgresql", "mysql"):
            connect_args = {"connect_timeout": max(1, round(timeout))}
        self._engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=connect_args)
        self._name = backend

    def healthcheck(self, server_port: int) -> pluginbase.HealthcheckResult:
        try:
            with self._engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as error:
            return _failure(f"the {self._name} database", error)
        return pluginbase.HealthcheckResult(available=True, reason=f"{self._name} database: OK")


class MessageBusCheck(pluginbase.HealthcheckBaseExtension):
    """Available when a RabbitMQ host of ``transport_url`` accepts a connection in time."""

    def __init__(self, oslo_conf: cfg.ConfigOpts, conf: dict[str, Any]) -> None:
        super().__init__(oslo_conf, conf)
        self._timeout = oslo_conf.api.healthcheck_timeout
        self._conf = oslo_conf
        self._url = messaging.TransportURL.parse(oslo_conf, oslo_conf.transport_url)

    def healthcheck(self, server_port: int) -> pluginbase.HealthcheckResult:
        transport = self._url.transport
        if transport in IN_PROCESS_TRANSPORTS:
            return pluginbase.HealthcheckResult(
                available=True, reason=f"message bus ({transport}, in-process): OK"
            )
        error: BaseException = ValueError(f"no host in the {transport} transport_url")
        for host in self._url.hosts:
            try:
                self._connect(host)
            except Exception as failure:  # kombu raises socket, AMQP and login errors
                error = failure
                continue
            return pluginbase.HealthcheckResult(
                available=True, reason=f"message bus ({transport}): OK"
            )
        return _failure(f"the message bus ({transport})", error)

    def _connect(self, host: messaging.TransportHost) -> None:
        connection = rpc.broker_connection(
            self._conf, self._url, host, self._timeout, transport_options={"max_retries": 0}
        )
        try:
            connection.connect()
        finally:
            connection.release()
