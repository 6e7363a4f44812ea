"""Builds the volmgr-api service: its RPC server and, beside it, the REST API's HTTP server."""

from oslo_config import cfg

from volmgr_api import api, manager, recovery, rpcapi
from volmgr_api.rest import server as rest_server
from volmgr_common import batching, rpc, service
from volmgr_common.db import api as db_api

BINARY = "volmgr-api"


def build(
    conf: cfg.ConfigOpts, db: db_api.Database, messaging: rpc.Messaging, rest: bool = True
) -> service.Service:
    """The API's service, not yet started. Several may run at once, each REST server on
    its own ``[api] bind_host:bind_port``; ``rest=False`` builds the RPC server alone."""
    return _build(conf, db, messaging, rest)


def build_daemon(
    conf: cfg.ConfigOpts, db: db_api.Database, messaging: rpc.Messaging
) -> service.Service:
    """The service of the volmgr-api daemon: REST too unless ``[api] builtin_server`` is off
    (a WSGI server serves it, ``volmgr_api.wsgi``)."""
    return _build(conf, db, messaging, conf.api.builtin_server)


def _build(
    conf: cfg.ConfigOpts, db: db_api.Database, messaging: rpc.Messaging, rest: bool
) -> service.Service:
    api_obj = api.API(conf, db, messaging, conf.host)
    return service.Service(
        binary=BINARY,
        topic=rpcapi.TOPIC,
        rpc_version=rpcapi.RPC_API_VERSION,
        host=conf.host,
        availability_zone=conf.storage_availability_zone,
        endpoints=[manager.ApiManager(api_obj)],
        messaging=messaging,
        db=db,
        report_interval=conf.report_interval,
        retry_max_interval=conf.periodic_retry_max_interval,
        periodic_tasks=[
            service.PeriodicTask(
                "recovery", conf.recovery.interval, lambda: recovery.recover(api_obj)
            )
        ],
        extra_servers=[rest_server.build_wsgi_service(conf, api_obj)] if rest else [],
        executor_threads=batching.handler_threads(conf),
    )
