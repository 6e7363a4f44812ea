"""Builds the volmgr-api RPC service."""

from oslo_config import cfg

from volmgr_api import api, manager, recovery, rpcapi
from volmgr_common import rpc, service
from volmgr_common.db import api as db_api

BINARY = "volmgr-api"


def build(conf: cfg.ConfigOpts, db: db_api.Database, messaging: rpc.Messaging) -> service.Service:
    """The API's RPC service, not yet started. Several may run at once."""
    api_obj = api.API(conf, db, messaging, conf.host)
    return service.Service(
        binary=BINARY,
        topic=rpcapi.TOPIC,
        host=conf.host,
        availability_zone=conf.storage_availability_zone,
        endpoints=[manager.ApiManager(api_obj)],
        messaging=messaging,
        db=db,
        report_interval=conf.report_interval,
        periodic_tasks=[
            service.PeriodicTask(
                "recovery", conf.recovery.interval, lambda: recovery.recover(api_obj)
            )
        ],
    )
