"""What volmgr-api does for adoption plans: check the request, ask the backend, read plans.

A plan request is checked here in full (backend, type, project, filters, values)
before anything is asked of the backend's volume service, which makes and
stores the plan (RPC 1.2 ``create_adoption_plan``, a call that waits up to
``[adoption] plan_timeout``). Plans are read from the database directly. Plans
are admin business (the faces check the policy); the project scope below still
keeps a caller who is not an admin to its own project's plans.
"""

import uuid
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_api import validation
from volmgr_api.flows import manage_existing
from volmgr_common import adoption, exception, rpc
from volmgr_common.adoption import PlanFilters, PlanRequest
from volmgr_common.context import RequestContext
from volmgr_common.db import adoption_plans
from volmgr_common.db import api as db_api
from volmgr_common.limits import STRING_WIDTH
from volmgr_common.page_request import capped_limit
from volmgr_volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)

MAX_GLOB = STRING_WIDTH
MAX_SIZE_GB = 2**40
"""The largest size filter, in GiB (a yobibyte): anything larger is a mistake."""
MAX_ITEMS_PAGE = 1000
"""The most items one page of a plan shows."""
FILTER_KEYS = frozenset({"name", "min_size", "max_size", "safe_only"})


def _scope(ctxt: RequestContext) -> str | None:
    return None if ctxt.is_admin else ctxt.project_id


def _size(filters: Mapping[str, Any], key: str) -> int | None:
    value = filters.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SIZE_GB:
        raise exception.InvalidInput(
            reason=f"filters.{key} must be a whole number of GiB from 0 to {MAX_SIZE_GB}"
        )
    return value


def check_filters(filters: Any) -> PlanFilters:
    """The filters of a plan request; InvalidInput naming what is wrong."""
    if filters is None:
        return PlanFilters()
    if not isinstance(filters, Mapping):
        raise exception.InvalidInput(reason="filters must be an object")
    unknown = sorted(set(filters) - FILTER_KEYS)
    if unknown:
        raise exception.InvalidInput(
            reason=f"unknown filters {unknown}; known: {sorted(FILTER_KEYS)}"
        )
    name = filters.get("name")
    if name is not None and not (
        isinstance(name, str) and 0 < len(name) <= MAX_GLOB and "\x00" not in name
    ):
        raise exception.InvalidInput(
            reason=f"filters.name must be a glob of 1 to {MAX_GLOB} characters"
        )
    min_size, max_size = _size(filters, "min_size"), _size(filters, "max_size")
    if min_size is not None and max_size is not None and min_size > max_size:
        raise exception.InvalidInput(
            reason=f"filters.min_size ({min_size}) is larger than filters.max_size ({max_size})"
        )
    safe_only = filters.get("safe_only", False)
    if not isinstance(safe_only, bool):
        raise exception.InvalidInput(reason="filters.safe_only must be true or false")
    return PlanFilters(name, min_size, max_size, safe_only)


def check_template(template: Any, max_length: int) -> str:
    if template is None:
        return adoption.DEFAULT_NAME_TEMPLATE
    if not isinstance(template, str) or not 0 < len(template) <= max_length:
        raise exception.InvalidInput(
            reason=f"name_template must be a string of 1 to {max_length} characters"
        )
    adoption.check_template(template)
    return template


class AdoptionAPI:
    """Adoption plans: make (through the backend's volume service), list, show, delete."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database, messaging: rpc.Messaging) -> None:
        self.conf = conf
        self.db = db
        self.volume = volume_rpcapi.VolumeAPI(
            messaging, retry=conf.api.broker_retries, plan_timeout=conf.adoption.plan_timeout
        )

    def _backend(self, host: Any) -> dict[str, Any]:
        """The usable volume service (or cluster) of the backend a plan names."""
        backend, pool = validation.parse_host(host)
        if pool is not None:
            raise exception.InvalidInput(
                reason="a plan covers a whole backend: name it as host@backend, without #pool"
            )
        service = manage_existing.volume_service(self.db, backend, self.conf.service_down_time)
        return manage_existing.check_usable(service, backend, None, self.conf.service_down_time)

    def plan_request(self, ctxt: RequestContext, fields: Mapping[str, Any]) -> PlanRequest:
        """The checked request of a plan body's fields; raises a 4xx error otherwise."""
        api = self.conf.api
        filters = check_filters(fields.get("filters"))
        template = check_template(fields.get("name_template"), api.max_name_length)
        description = validation.check_text(
            "description", fields.get("description"), api.max_description_length
        )
        metadata = validation.check_metadata(fields.get("metadata"), api.max_metadata_items)
        bootable = fields.get("bootable", False)
        if not isinstance(bootable, bool):
            raise exception.InvalidInput(reason="bootable must be true or false")
        project_id = validation.request_project(ctxt)
        target = fields.get("project_id")
        target = project_id if target is None else validation.check_project_id(target)
        service = self._backend(fields.get("host"))
        volume_type = manage_existing.resolve_volume_type(
            self.conf, self.db, fields.get("volume_type")
        )
        return PlanRequest(
            plan_id=str(uuid.uuid4()),
            host=fields["host"],
            backend=service["backend"],
            project_id=project_id,
            user_id=ctxt.user_id,
            target_project_id=target,
            volume_type={key: volume_type[key] for key in ("id", "name", "extra_specs")},
            filters=filters,
            name_template=template,
            description=description,
            metadata=metadata,
            bootable=bootable,
        )

    def create_plan(self, ctxt: RequestContext, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Check the request, have the backend's volume service make and store the plan;
        the stored plan."""
        request = self.plan_request(ctxt, fields)
        with rpc.bus_unavailable_as_503():
            answer = self.volume.create_adoption_plan(ctxt, request.backend, request)
        LOG.info("Adoption plan %s of %s made: %s", answer["id"], request.host, answer["totals"])
        return adoption_plans.get(self.db, answer["id"])

    def get_plan(self, ctxt: RequestContext, plan_id: str) -> dict[str, Any]:
        return adoption_plans.get(self.db, plan_id, project_id=_scope(ctxt))

    def list_plans(
        self, ctxt: RequestContext, marker: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        """Plans newest first, at most ``[api] max_list_limit``."""
        limit = capped_limit(limit, self.conf.api.max_list_limit)
        return adoption_plans.list_plans(self.db, _scope(ctxt), marker, limit)

    def plan_items(
        self,
        ctxt: RequestContext,
        plan_id: str,
        marker: int | None,
        limit: int | None,
        verdict: str | None = None,
    ) -> list[dict[str, Any]]:
        """A page of a plan's items by position, after the position ``marker``."""
        self.get_plan(ctxt, plan_id)  # NotFound for another project's plan
        if verdict is not None and verdict not in adoption_plans.VERDICTS:
            raise exception.InvalidInput(
                reason=f"verdict must be one of {list(adoption_plans.VERDICTS)}"
            )
        limit = MAX_ITEMS_PAGE if limit is None else min(limit, MAX_ITEMS_PAGE)
        return adoption_plans.items_page(self.db, plan_id, marker, limit, verdict)

    def delete_plan(self, ctxt: RequestContext, plan_id: str) -> None:
        adoption_plans.delete(self.db, plan_id, project_id=_scope(ctxt))
        LOG.info("Adoption plan %s deleted", plan_id)
