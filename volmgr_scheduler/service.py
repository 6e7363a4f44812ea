"""Builds the volmgr-scheduler service: endpoint, host manager, reservation expiry."""

from oslo_config import cfg

from volmgr_common import rpc, service
from volmgr_common.db import api as db_api
from volmgr_common.db import reservations
from volmgr_scheduler import host_manager, manager, rpcapi

BINARY = "volmgr-scheduler"


def build(conf: cfg.ConfigOpts, db: db_api.Database, messaging: rpc.Messaging) -> service.Service:
    """The scheduler service, not yet started. Several may run at once."""
    hosts = host_manager.HostManager(conf, db)

    def expire_reservations() -> None:
        reservations.expire_reservations(db)

    return service.Service(
        binary=BINARY,
        topic=rpcapi.TOPIC,
        rpc_version=rpcapi.RPC_API_VERSION,
        host=conf.host,
        availability_zone=conf.storage_availability_zone,
        endpoints=[manager.SchedulerManager(conf, db, messaging, hosts)],
        messaging=messaging,
        db=db,
        report_interval=conf.report_interval,
        retry_max_interval=conf.periodic_retry_max_interval,
        periodic_tasks=[
            service.PeriodicTask(
                "expire_reservations",
                conf.quota.reservation_expire / 4,
                expire_reservations,
            ),
        ],
    )
