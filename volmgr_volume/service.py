"""Builds the volmgr-volume service of one backend: endpoint, driver, periodic reports.

A service answers on ``host@backend``; a member of a cluster (``[DEFAULT] cluster``)
answers on the cluster's ``cluster@backend`` too, and works for the cluster: its
requests, recovery scans, capability reports and listings are the cluster's.
"""

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import batching, metrics, rpc, service
from volmgr_common.context import get_admin_context
from volmgr_common.db import adoption_jobs as jobs_db
from volmgr_common.db import api as db_api
from volmgr_common.db import services as services_db
from volmgr_scheduler import rpcapi as scheduler_rpcapi
from volmgr_volume import (
    adoption,
    audit,
    drivers,
    manager,
    planner,
    rpcapi,
    snapshot_worker,
    worker,
)
from volmgr_volume import capabilities as capabilities_module

LOG = logging.getLogger(__name__)
BINARY = "volmgr-volume"


def backend_host(conf: cfg.ConfigOpts) -> str:
    """``host@backend``: the name this volume service answers on."""
    return f"{conf.host}@{conf.volume.backend_name}"


def cluster_backend(conf: cfg.ConfigOpts) -> str | None:
    """``cluster@backend``: the cluster's name of a member of a cluster (None: not one)."""
    return f"{conf.cluster}@{conf.volume.backend_name}" if conf.cluster else None


def build(conf: cfg.ConfigOpts, db: db_api.Database, messaging: rpc.Messaging) -> service.Service:
    """The volume service for ``[volume] backend_name``, not yet started."""
    driver = drivers.load_driver(conf)
    driver.do_setup()
    host = backend_host(conf)
    cluster = cluster_backend(conf)
    # What the requests, the claims and the object keys of this backend are recorded as.
    backend = cluster or host
    scheduler = scheduler_rpcapi.SchedulerAPI(messaging)
    svc = service.Service(
        binary=BINARY,
        topic=rpcapi.TOPIC,
        rpc_version=rpcapi.RPC_API_VERSION,
        host=host,
        availability_zone=conf.storage_availability_zone,
        endpoints=[],
        messaging=messaging,
        db=db,
        report_interval=conf.report_interval,
        retry_max_interval=conf.periodic_retry_max_interval,
        cluster=cluster,
    )
    volume_worker = worker.VolumeWorker(
        conf, db, messaging, driver, backend, svc.instance_id, own_host=host
    )
    batcher: manager.ManageBatcher = batching.Batcher(
        "volmgr-volume-manage-batches", volume_worker.manage_many, conf.manage_batch_size
    )
    snapshots = snapshot_worker.SnapshotWorker(
        conf,
        db,
        volume_worker.api,
        driver,
        volume_worker.backends,
        svc.instance_id,
        volume_worker.notifier,
    )
    auditor = audit.Auditor(conf, db, driver, volume_worker.backends, volume_worker.notifier)
    runner = adoption.AdoptionRunner(
        conf,
        db,
        driver,
        volume_worker.backends,
        svc.instance_id,
        # A job's step runs as one batch of the worker's manage_many (up to its
        # max_in_flight): one transaction per flow step for all its items.
        volume_worker.manage_many,
        volume_worker.notifier,
    )
    svc.metrics_collectors.append(
        metrics.AdoptionProgressCollector(lambda: jobs_db.live_progress(db, runner.backends))
    )
    volume_planner = planner.Planner(conf, db, driver, volume_worker.backends)
    svc.endpoints.append(
        manager.VolumeManager(volume_worker, batcher, snapshots, auditor, volume_planner, runner)
    )
    svc.executor_threads = batching.handler_threads(conf)

    def report_capabilities() -> None:
        capabilities = capabilities_module.reported(conf, driver)
        assert svc.service_id is not None
        services_db.heartbeat(db, svc.service_id, capabilities)
        scheduler.update_service_capabilities(get_admin_context(), backend, capabilities)

    svc.on_start = report_capabilities
    svc.periodic_tasks.append(
        service.PeriodicTask(
            "capabilities",
            conf.capability_report_interval,
            report_capabilities,
            run_at_start=False,
            backoff=True,
        )
    )
    svc.periodic_tasks.append(
        service.PeriodicTask("recovery", conf.recovery.interval, volume_worker.recover)
    )
    svc.periodic_tasks.append(
        service.PeriodicTask("snapshot-recovery", conf.recovery.interval, snapshots.recover)
    )
    svc.periodic_tasks.append(
        service.PeriodicTask("adoption", conf.recovery.interval, runner.resume_stale)
    )
    # Three renewals fit in the time after which another process may take a claim over.
    svc.periodic_tasks.append(
        service.PeriodicTask(
            "claims", conf.recovery.stale_after / 3, volume_worker.renew_claims, False
        )
    )
    svc.periodic_tasks.append(
        service.PeriodicTask(
            "snapshot-claims", conf.recovery.stale_after / 3, snapshots.renew_claims, False
        )
    )
    if conf.audit.enabled:
        svc.periodic_tasks.append(
            service.PeriodicTask(
                "audit",
                conf.audit.interval,
                auditor.run_periodic,
                run_at_start=False,
                jitter=conf.audit.jitter,
            )
        )
    return svc
