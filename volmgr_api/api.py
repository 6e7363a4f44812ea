"""What volmgr-api does, behind both of its faces (RPC endpoint and REST handlers).

Each method takes the caller's request context. Project scoping is enforced here:
a caller who is not an admin sees and changes only its own project's volumes.
Admin-only operations are checked by the faces (policy) before they get here.
"""

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_api import adoption, adoption_jobs, managed, readoption, snapshots, validation
from volmgr_api.flows import manage_existing
from volmgr_api.scope import listing_scope, project_scope
from volmgr_common import cache, exception, metrics, notifications, rpc
from volmgr_common.batching import Batcher
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import backend_orphans, quota, volume_record, volume_transitions
from volmgr_common.db import messages as messages_db
from volmgr_common.db import services as services_db
from volmgr_common.db import volume_types as types_db
from volmgr_common.db import volumes as volumes_db
from volmgr_common.flows import make_context_current, run_flow_batch
from volmgr_common.manage_request import ManageRequest
from volmgr_common.page_request import PageRequest
from volmgr_scheduler import rpcapi as scheduler_rpcapi
from volmgr_volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)


class API:
    """The operations of volmgr-api."""

    def __init__(
        self, conf: cfg.ConfigOpts, db: db_api.Database, messaging: rpc.Messaging, host: str
    ) -> None:
        self.conf = conf
        self.db = db
        # A request's messages give up on a broker that is away after a bounded time:
        # the caller gets MessagingUnavailable (503) instead of a thread that waits;
        # a notification is dropped (oslo.messaging logs it) instead of holding it.
        retry = conf.api.broker_retries
        self.scheduler = scheduler_rpcapi.SchedulerAPI(messaging, retry=retry)
        self.volume = volume_rpcapi.VolumeAPI(messaging, retry=retry)
        self.notifier = messaging.notifier.prepare(publisher_id=f"volmgr.api.{host}", retry=retry)
        self.snapshots = snapshots.SnapshotAPI(conf, db, self.volume, self.notifier)
        self._volumes = managed.ManagedKind(
            noun="volume",
            db=db,
            get=volumes_db.get,
            start_unmanage=volume_transitions.start_unmanage,
            delete_failed=volume_transitions.delete_failed,
            notify=functools.partial(notifications.notify, self.notifier),
            send_unmanage=self.volume.unmanage,
        )
        # Adoption jobs (apply, show, pause, resume, cancel, undo).
        self.adoption_jobs = adoption_jobs.AdoptionJobs(conf, db, self.volume)
        self.adoption = adoption.AdoptionAPI(conf, db, messaging)
        # Built once: run_flow_batch does not change a flow, so every request shares it.
        # Service rows the flow's checks read, cleared here when a service's status changes.
        self._service_rows: cache.ShortLivedCache[dict[str, Any]] = cache.ShortLivedCache()
        self._manage_flow = manage_existing.get_flow(conf, db, self.scheduler, self._service_rows)
        # Concurrent requests run the flow together: one transaction for their rows,
        # one message to the scheduler.
        self._manages: Batcher[dict[str, Any], volume_record.VolumeRecord] = Batcher(
            "volmgr-api-manage-batches", self._run_manages, conf.manage_batch_size
        )

    def manage_existing(
        self, ctxt: RequestContext, request: ManageRequest
    ) -> volume_record.VolumeRecord:
        """Accept a checked manage request (``validation.manage_request``); returns the new
        volume in status ``managing``. A chain (``with_snapshots``) is refused (400)
        while the volume services' version cap is below the chain manages'."""
        if request.with_snapshots:
            volume_rpcapi.check_chains(self.volume, request.host)
        volume = self._manages.submit(
            {manage_existing.CONTEXT: ctxt, manage_existing.REQUEST: request}
        )
        LOG.info(
            "Accepted manage of %s on %s as volume %s", request.ref, request.host, volume["id"]
        )
        return volume

    def _run_manages(self, stores: Sequence[dict[str, Any]]) -> list[Any]:
        """The manage flow for a batch of requests: each its new volume or its error."""
        outcomes = run_flow_batch(self._manage_flow, stores, enter=make_context_current)
        for outcome in outcomes:
            accepted = isinstance(outcome, dict)
            metrics.MANAGES.labels("api", "accepted" if accepted else "refused").inc()
        return [
            outcome[manage_existing.VOLUME]
            if isinstance(outcome, dict)
            else outcome.exception
            or exception.InternalError(request_id=store[manage_existing.CONTEXT].request_id)
            for store, outcome in zip(stores, outcomes, strict=True)
        ]

    def get_volume(self, ctxt: RequestContext, volume_id: str) -> volume_record.VolumeRecord:
        return volumes_db.get(self.db, volume_id, project_id=project_scope(ctxt))

    def list_volumes(
        self,
        ctxt: RequestContext,
        page: PageRequest,
        status: str | None = None,
        all_projects: bool = True,
        filters: Mapping[str, Any] | None = None,
    ) -> list[volume_record.VolumeRecord]:
        """A page of volumes (at most ``[api] max_list_limit``) with ``filters`` (see
        :mod:`volmgr_common.db.volume_filters`); an admin listing every project may
        name a ``project_id`` among them."""
        limit = page.limit
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise exception.InvalidInput(reason="limit must be a non-negative integer")
        filters = dict(filters or {})
        if status is not None:
            filters["status"] = status
        page = page.capped(self.conf.api.max_list_limit)
        scope = listing_scope(ctxt, all_projects)
        return volumes_db.list_volumes(self.db, page, project_id=scope, filters=filters)

    def volume_summary(
        self,
        ctxt: RequestContext,
        all_projects: bool,
        filters: Mapping[str, Any] | None = None,
    ) -> tuple[int, int]:
        """``(count, GiB)`` of the volumes the caller may list (see ``list_volumes``)."""
        scope = listing_scope(ctxt, all_projects)
        return volumes_db.count_and_size(self.db, project_id=scope, filters=filters)

    def volume_metadata_values(
        self, ctxt: RequestContext, all_projects: bool
    ) -> dict[str, list[str]]:
        """Each metadata key of the volumes the caller may list, with its distinct values."""
        scope = listing_scope(ctxt, all_projects)
        return volumes_db.distinct_metadata(self.db, project_id=scope)

    def unmanage(self, ctxt: RequestContext, volume_id: str) -> None:
        """Stop managing: the row goes, the backend object stays under its current name."""
        self._volumes.unmanage(ctxt, volume_id)

    def delete_volume(self, ctxt: RequestContext, volume_id: str) -> None:
        """Remove the record of a failed manage; never touches backend data."""
        self._volumes.delete(ctxt, volume_id)

    def get_manageable_volumes(
        self, ctxt: RequestContext, host: Any, page: PageRequest
    ) -> list[dict[str, Any]]:
        """Objects on a backend and whether each can be managed (asks its volume service)."""
        backend = self._live_backend(host)
        with rpc.bus_unavailable_as_503():  # a cluster's listing: any member answers
            return self.volume.get_manageable_volumes(ctxt, backend, page)

    def _live_backend(self, host: Any) -> str:
        """The backend (or cluster) whose volume service answers for ``host``;
        BackendNotFound or ServiceUnavailable (400) when none is, or none is up."""
        backend, _pool = validation.parse_host(host)
        return manage_existing.up_backend(self.db, backend, self.conf.service_down_time)

    def list_audited_orphans(
        self, ctxt: RequestContext, host: Any, page: PageRequest
    ) -> list[dict[str, Any]]:
        """A page (at most ``[api] max_list_limit``) of the orphans the last audit of the
        backend ``host`` found and no row knows now (see
        ``volmgr_common.db.backend_orphans``); its service need not be up.
        Administrators only."""
        readoption.require_admin(ctxt)
        backend, _pool = validation.parse_host(host)
        service = manage_existing.volume_service(self.db, backend, self.conf.service_down_time)
        page = page.capped(self.conf.api.max_list_limit)
        return backend_orphans.list_orphans(self.db, str(service["backend"]), page)

    def list_orphans(self, ctxt: RequestContext, host: Any) -> list[dict[str, Any]]:
        """The objects of a backend in managed form that no volume knows, as the backend
        shows them now (asks its volume service; see ``volmgr_volume.orphans``).
        Administrators only."""
        readoption.require_admin(ctxt)
        backend = self._live_backend(host)
        with rpc.bus_unavailable_as_503():
            return self.volume.list_orphans(ctxt, backend)

    def readopt(
        self,
        ctxt: RequestContext,
        host: Any,
        name: Any,
        project_id: str | None = None,
        volume_type: str | None = None,
    ) -> volume_record.VolumeRecord:
        """Re-adopt the orphan ``name`` of ``host`` under the volume id its name carries
        and its original project (or ``project_id`` when the backend records none),
        without renaming it: a manage request (see ``volmgr_api.readoption``); returns
        the new volume in status ``managing``.

        OrphanNotFound (404) when no orphan has that name, ManageExistingAlreadyManaged
        (409) when a volume already has it, InvalidOrphan (400) when it cannot be
        re-adopted as it is.
        """
        readoption.require_admin(ctxt)
        name = readoption.check_name(name)
        backend = self._live_backend(host)
        with rpc.bus_unavailable_as_503():
            found = [o for o in self.volume.list_orphans(ctxt, backend) if o["name"] == name]
        if not found:
            holder = volumes_db.managed_objects(self.db, backend).get(name)
            if holder is not None:
                raise exception.ManageExistingAlreadyManaged(
                    ref={readoption.SOURCE_NAME: name}, host=host, volume_id=holder
                )
            raise exception.OrphanNotFound(name=name, host=host)
        orphan = found[0]
        project = readoption.project_of(host, orphan, project_id)
        request = readoption.readoption_request(self.conf, host, orphan, volume_type)
        volume = self.manage_existing(readoption.context_for(ctxt, project), request)
        LOG.info("Re-adopting orphan %s on %s for project %s", name, host, project)
        return volume

    def audit(self, ctxt: RequestContext, host: Any) -> dict[str, Any]:
        """Audit the backend ``host`` now (its volume service does); the summary."""
        backend = self._live_backend(host)
        LOG.info("Audit of %s asked for", backend)
        with rpc.bus_unavailable_as_503():
            return self.volume.audit(ctxt, backend, self.conf.audit.call_timeout)

    def manage_existing_failed(
        self, ctxt: RequestContext, volume_id: str, reason: str, stage: str
    ) -> None:
        """Compensation: give back the volume quota, record ``error_managing``, tell the user."""
        volume = volume_transitions.fail_manage(self.db, volume_id, reason, ctxt.request_id)
        if volume is None:
            LOG.info("Volume %s: failure from %s already recorded or moot", volume_id, stage)
            return
        LOG.warning("Volume %s is error_managing (%s stage): %s", volume_id, stage, reason)
        notifications.notify(
            self.notifier,
            ctxt,
            "manage_existing.error",
            volume,
            error=True,
            reason=reason,
            stage=stage,
        )

    def list_services(
        self, ctxt: RequestContext, binary: str | None = None, host: str | None = None
    ) -> list[dict[str, Any]]:
        """The services (of ``binary``, on ``host``) with whether each is up."""
        return services_db.list_all(
            self.db, binary=binary, down_time=self.conf.service_down_time, host=host
        )

    def set_service_status(
        self,
        ctxt: RequestContext,
        host: str,
        binary: str,
        disabled: bool,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Disable (with ``reason``) or enable a service; a disabled volume service takes
        no new manages (this API refuses them, schedulers do not place on it). Other API
        processes see the change within ``cache.ROW_TTL`` seconds."""
        service = services_db.set_disabled(self.db, host, binary, disabled, reason)
        self._service_rows.forget(host)
        LOG.info(
            "Service %s on %s %s%s",
            binary,
            host,
            "disabled" if disabled else "enabled",
            f": {reason}" if reason else "",
        )
        return service

    def quota_usage(self, ctxt: RequestContext, project_id: str) -> dict[str, dict[str, int]]:
        scope = project_scope(ctxt)
        if scope is not None and scope != project_id:
            raise exception.NotAuthorized(reason="another project's quota")
        return quota.usage(self.db, project_id, quota.DefaultLimits.from_conf(self.conf))

    def list_messages(
        self, ctxt: RequestContext, filters: Mapping[str, str], page: PageRequest
    ) -> list[dict[str, Any]]:
        """One page of the messages the caller may see (see ``messages.list_page``)."""
        return messages_db.list_page(self.db, project_scope(ctxt), filters, page)

    def get_message(self, ctxt: RequestContext, message_id: str) -> dict[str, Any]:
        message = messages_db.get(self.db, message_id, project_id=project_scope(ctxt))
        if message is None:
            raise exception.MessageNotFound(message_id=message_id[:40])
        return message

    def list_types(
        self,
        ctxt: RequestContext,
        filters: Mapping[str, Any] | None = None,
        page: PageRequest | None = None,
    ) -> list[dict[str, Any]]:
        """One page of volume types (see ``volume_types.list_page``), at most
        ``[api] max_list_limit``; a caller who is not an admin sees public types only."""
        wanted = dict(filters or {})
        if not ctxt.is_admin:
            wanted["is_public"] = True
        page = (page or PageRequest()).capped(self.conf.api.max_list_limit)
        return types_db.list_page(self.db, wanted, page)

    def get_type(self, ctxt: RequestContext, name_or_id: str) -> dict[str, Any]:
        """One volume type by id or name (VolumeTypeNotFound if none, or if it is
        private and the caller not an admin)."""
        found = types_db.get_by_name_or_id(self.db, name_or_id)
        if not (ctxt.is_admin or found["is_public"]):
            raise exception.VolumeTypeNotFound(volume_type=name_or_id[:40])
        return found
