"""Adoption plans, made in the volume service of the backend they cover.

A plan looks and never touches: it reads the backend once (the driver's
``fingerprints``), the database once for the volumes that hold objects of this
backend, the target project's quota once, and the backend's capabilities once;
then it decides, object by object and in name order, what a manage of it would
do, and stores the plan with every item in one transaction. No volume row is
written, no quota is charged, no backend object is renamed.

Checks, in the order a manage meets them (the first that fails is the reason):

* ``already managed`` / ``being managed``: a live volume of the backend holds the
  object, by its reference's name, its recorded identity (the same object under
  another name) or its managed name (``provider_location``);
* ``not safe``: the driver's own verdict (kind, links, format, state);
* ``volume type``: no pool of the backend satisfies the type's extra specs (the
  scheduler's comparison, :mod:`volmgr_common.extra_specs`);
* ``name``: the rendered name is longer than ``[api] max_name_length``;
* ``quota exceeded``: the volumes and gigabytes of the objects to manage before it,
  added to the project's usage (in use and reserved), leave no room for it under a
  limit (global or the type's). Objects are counted in name order, so a plan that
  does not fit manages the first objects that fit and skips the rest; a smaller
  object after a skipped one may still fit the gigabytes limit.
"""

import fnmatch
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import adoption, exception
from volmgr_common.adoption import PlanRequest
from volmgr_common.db import adoption_plans, quota
from volmgr_common.db import api as db_api
from volmgr_common.db.volume_record import MANAGING
from volmgr_volume import capabilities
from volmgr_volume.drivers.base import SOURCE_NAME, VolumeDriver, size_in_gib

LOG = logging.getLogger(__name__)

Fingerprint = dict[str, Any]


class QuotaRoom:
    """The room a project's quota leaves, used up object by object (called once per
    object of a plan: the resources and their limits are read once)."""

    def __init__(self, usage: Mapping[str, Mapping[str, int]], type_name: str) -> None:
        names = quota.volume_deltas(type_name, volumes=1, gigabytes=1)
        self._usage = {name: usage.get(name, {}) for name in names}
        # (resource, counts gigabytes, limit, in use or reserved), in a fixed order.
        self._resources = [
            (
                name,
                name.startswith(quota.GIGABYTES),
                self._usage[name].get("limit", quota.UNLIMITED),
                self._usage[name].get("in_use", 0) + self._usage[name].get("reserved", 0),
            )
            for name in names
        ]
        self.planned = dict.fromkeys(names, 0)

    def take(self, size: int) -> str | None:
        """Count one volume of ``size`` GiB; or, when it does not fit, why (nothing counted)."""
        planned = self.planned
        for resource, gigabytes, limit, used in self._resources:
            delta = size if gigabytes else 1
            if limit != quota.UNLIMITED and used + planned[resource] + delta > limit:
                return (
                    f"{resource} limit is {limit}; {used} in use or reserved and "
                    f"{planned[resource]} planned before this object"
                )
        for resource, gigabytes, _limit, _used in self._resources:
            planned[resource] += size if gigabytes else 1
        return None

    def summary(self) -> dict[str, dict[str, int]]:
        """Each resource the plan counts: limit, in use, reserved, planned and after."""
        return {
            resource: {
                "limit": limit,
                "in_use": self._usage[resource].get("in_use", 0),
                "reserved": self._usage[resource].get("reserved", 0),
                "planned": self.planned[resource],
                "after": used + self.planned[resource],
            }
            for resource, _gigabytes, limit, used in self._resources
        }


class Planner:
    """Makes the adoption plans of one backend (its names: ``backends``)."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: db_api.Database,
        driver: VolumeDriver,
        backends: Sequence[str],
    ) -> None:
        self.conf = conf
        self.db = db
        self.driver = driver
        self.backends = tuple(backends)

    def plan(self, request: PlanRequest) -> dict[str, Any]:
        """Make and store the plan; the stored plan (with its totals)."""
        seen = self.driver.fingerprints()
        selected = self._selected(seen, request)
        holders = adoption_plans.holders_on(self.db, self.backends)
        type_problem = self._type_problem(request.volume_type)
        usage = quota.usage(
            self.db, request.target_project_id, quota.DefaultLimits.from_conf(self.conf)
        )
        room = QuotaRoom(usage, request.volume_type["name"])
        template = adoption.NameTemplate(request.name_template)
        items: list[dict[str, Any]] = []
        for fingerprint in selected:
            held = self._holder(holders, fingerprint)
            if request.filters.safe_only and (held or fingerprint["reason_not_safe"]):
                continue
            items.append(self._item(len(items), fingerprint, held, type_problem, room, template))
        totals = self._totals(len(seen), items, room)
        new = adoption_plans.NewPlan(
            self._plan_values(request, totals), self.conf.adoption.plan_ttl
        )
        plan = adoption_plans.create(self.db, new, items, self.conf.adoption.plan_insert_chunk)
        LOG.info(
            "Adoption plan %s of %s: %d objects, %d to manage, %d skipped",
            plan["id"], request.backend, totals["objects"], totals["manage"], totals["skip"],
        )  # fmt: skip
        return plan

    def _selected(self, seen: Mapping[str, Fingerprint], request: PlanRequest) -> list[Fingerprint]:
        """The fingerprints the filters keep, in name order."""
        filters = request.filters
        chosen = []
        for name in sorted(seen):
            if filters.name is not None and not fnmatch.fnmatchcase(name, filters.name):
                continue
            size = size_in_gib(seen[name]["size_bytes"])
            if filters.min_size is not None and size < filters.min_size:
                continue
            if filters.max_size is not None and size > filters.max_size:
                continue
            chosen.append(seen[name])
        most = self.conf.adoption.max_plan_objects
        if len(chosen) > most:
            raise exception.InvalidInput(
                reason=f"the filters select {len(chosen)} objects, more than the {most} a "
                "plan may hold ([adoption] max_plan_objects); narrow them"
            )
        return chosen

    @staticmethod
    def _holder(holders: adoption_plans.Holders, fingerprint: Fingerprint) -> str | None:
        """Why a live volume holds this object (None when none does)."""
        name = fingerprint["name"]
        found = (
            holders.by_location.get(name)
            or holders.by_name.get(name)
            or holders.by_identity.get(fingerprint["identity"])
        )
        if found is None:
            return None
        volume_id, status = found
        if status == MANAGING:
            return f"{adoption.BEING_MANAGED}: volume {volume_id} is being managed from it"
        return f"{adoption.ALREADY_MANAGED}: volume {volume_id} ({status}) holds it"

    def _type_problem(self, volume_type: Mapping[str, Any]) -> str | None:
        """Why no pool of the backend satisfies the type's extra specs (None if one does)."""
        if not volume_type.get("extra_specs"):
            return None
        pool, reasons = capabilities.fitting_pool(
            self.conf, self.driver, self.backends[0], volume_type
        )
        if pool is not None:
            return None
        return f"{adoption.VOLUME_TYPE}: " + ("; ".join(reasons) or "the backend reports no pool")

    def _item(
        self,
        position: int,
        fingerprint: Fingerprint,
        held: str | None,
        type_problem: str | None,
        room: QuotaRoom,
        template: adoption.NameTemplate,
    ) -> dict[str, Any]:
        name = fingerprint["name"]
        size = size_in_gib(fingerprint["size_bytes"])
        volume_name = template.render(
            {"source-name": name, "size-gb": size, "position": position + 1}
        )
        reason = held
        if reason is None and fingerprint["reason_not_safe"]:
            reason = f"{adoption.NOT_SAFE}: {fingerprint['reason_not_safe']}"
        reason = reason or type_problem
        if reason is None and len(volume_name) > self.conf.api.max_name_length:
            reason = (
                f"{adoption.NAME}: the rendered name is {len(volume_name)} characters, more "
                f"than {self.conf.api.max_name_length}"
            )
        if reason is None and (over := room.take(size)) is not None:
            reason = f"{adoption.QUOTA_EXCEEDED}: {over}"
        return {
            "position": position,
            "source_name": name,
            "reference": {SOURCE_NAME: name},
            "size": size,
            "fingerprint": fingerprint,
            "verdict": adoption_plans.SKIP if reason else adoption_plans.MANAGE,
            "reason": reason,
            "volume_name": volume_name,
        }

    @staticmethod
    def _totals(seen: int, items: Sequence[Mapping[str, Any]], room: QuotaRoom) -> dict[str, Any]:
        managed = [item for item in items if item["verdict"] == adoption_plans.MANAGE]
        by_reason: dict[str, int] = {}
        for item in items:
            if item["reason"]:
                kind = item["reason"].partition(":")[0]
                by_reason[kind] = by_reason.get(kind, 0) + 1
        return {
            "objects_seen": seen,
            "objects": len(items),
            "manage": len(managed),
            "skip": len(items) - len(managed),
            "skipped_by_reason": dict(sorted(by_reason.items())),
            "gigabytes": sum(item["size"] for item in managed),
            "quota": room.summary(),
        }

    @staticmethod
    def _plan_values(request: PlanRequest, totals: dict[str, Any]) -> dict[str, Any]:
        filters = request.filters
        return {
            "id": request.plan_id or str(uuid.uuid4()),
            "project_id": request.project_id,
            "user_id": request.user_id,
            "host": request.host,
            "backend": request.backend,
            "target_project_id": request.target_project_id,
            "volume_type_id": request.volume_type["id"],
            "filters": {
                "name": filters.name,
                "min_size": filters.min_size,
                "max_size": filters.max_size,
                "safe_only": filters.safe_only,
            },
            "values": request.values(),
            "totals": totals,
        }
