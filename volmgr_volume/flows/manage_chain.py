"""The volume manager's chain flow: adopt a volume with the snapshots built on it.

NotifyStart → RecordChain → QuotaReserve → ManageChain → QuotaCommit →
FinishChain. NotifyStart, QuotaReserve and QuotaCommit are the volume flow's own
tasks (:mod:`volmgr_volume.flows.manage_existing`). RecordChain asks the driver for
the chain (``describe_chain``), records the base's identity on the volume row (the
double-manage guard of volumes) and one ``managing`` snapshot row per member, with
its identity, backing reference and quota, before anything is renamed
(:mod:`volmgr_common.db.chain_snapshots`). ManageChain renames the whole chain in
one fenced driver call (``manage_chain``); FinishChain makes the volume and its
snapshots ``available`` in one transaction and notifies each.

Reversion: ManageChain's revert puts every object of the chain back under its
original name with its original backing references (``undo_manage_chain``,
fenced, idempotent; it runs even when ``manage_chain`` itself failed), and
RecordChain's revert marks every member row ``error_managing`` with the
reason (quota released, a user message and ``snapshot.manage_existing.error``
each). The worker then compensates upstream as for a single volume.

A resumed flow (a crash, a takeover) finds the member rows an earlier run wrote
and goes on with them: the chain's links are read from the rows, never from the
backend, whose names the earlier run may have changed.

Store keys (stable): ``context``, ``volume`` (the ClaimedVolume); provided:
``size``, ``backend_identity``, ``links``, ``chain_locations``.
"""

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from taskflow.patterns import linear_flow
from taskflow.types import failure

from volmgr_common import exception, flows, hooks, notifications, provenance
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import (
    chain_snapshots,
    quota,
    volume_identity,
    volume_ownership,
    volume_record,
)
from volmgr_volume.drivers.base import (
    GIB,
    BackendObject,
    Chain,
    ChainLink,
    ChainLocations,
    ChainMember,
    VolumeDriver,
    size_in_gib,
)
from volmgr_volume.flows import manage_existing
from volmgr_volume.flows.manage_existing import _Task

LOG = logging.getLogger(__name__)

# Store keys.
CONTEXT = flows.CONTEXT
VOLUME = manage_existing.VOLUME
SIZE = manage_existing.SIZE
IDENTITY = manage_existing.IDENTITY
LINKS = "links"
CHAIN_LOCATIONS = "chain_locations"


def links_of(rows: list[chain_snapshots.ChainRow]) -> list[ChainLink]:
    """The driver's links of recorded member rows, in chain order."""
    return [
        ChainLink(
            row.snapshot["id"],
            ChainMember(
                {"source-name": row.name},
                row.identity,
                row.name,
                (row.snapshot["volume_size"] or 0) * GIB,
                row.backing,
                row.backing_format,
            ),
        )
        for row in rows
    ]


def put_back_chain(
    db: db_api.Database,
    driver: VolumeDriver,
    volume: volume_record.ClaimedVolume,
    identity: str | None = None,
) -> None:
    """Put every object of the volume's chain back under its original name with its
    original references, while the flow owns the volume row (links read from the
    recorded rows; nothing recorded, only the base). Raises FlowOwnershipLost
    (touching nothing) when the row is no longer the flow's."""
    links = links_of(chain_snapshots.rows_of(db, volume["id"]))
    volume_ownership.fenced(
        db,
        volume["id"],
        volume["flow_owner"],
        lambda: driver.undo_manage_chain(volume, volume["reference"], links, identity=identity),
        lambda _: {"provider_location": None},
    )


def fail_members(
    db: db_api.Database,
    notifier: Any,
    context: RequestContext,
    volume: volume_record.VolumeRecord,
    reason: str,
) -> None:
    """Every member row still ``managing`` → ``error_managing`` with ``reason``, each
    announced (``snapshot.manage_existing.error``)."""
    for snapshot in chain_snapshots.fail_members(db, volume["id"], reason, context.request_id):
        LOG.warning("Snapshot %s of volume %s failed: %s", snapshot["id"], volume["id"], reason)
        notifications.notify_snapshot(
            notifier, context, "manage_existing.error", snapshot, error=True, reason=reason
        )


def _reason(flow_failures: dict[str, failure.Failure] | None) -> str:
    for outcome in (flow_failures or {}).values():
        if outcome.check(exception.VolmgrException) is not None:
            return str(outcome.exception)
        return "the chain adoption failed in the volume service"
    return "the chain adoption failed"


class RecordChain(_Task):
    """Ask the driver for the chain on the base (``describe_chain``: refused with the
    reason when it cannot be adopted), record the base's identity and provenance on
    the volume row, then one ``managing`` snapshot row per member (identity, backing
    reference, quota) — all before anything is renamed. Provides the base's size in
    GiB, its identity and the chain's links.

    A resumed flow whose member rows an earlier run wrote takes them over and reads
    the chain from them (and the base's size from its recorded provenance), never
    from the backend, where the earlier run may have renamed objects already.

    Reversion: every member row still ``managing`` becomes ``error_managing`` with the
    reason (its quota released, a user message, an error notification)."""

    def __init__(
        self, conf: cfg.ConfigOpts, db: db_api.Database, driver: VolumeDriver, notifier: Any
    ) -> None:
        super().__init__(conf, provides=(SIZE, IDENTITY, LINKS))
        self.db = db
        self.driver = driver
        self.bus_notifier = notifier

    def execute(
        self, context: RequestContext, volume: volume_record.ClaimedVolume
    ) -> tuple[int, str, list[ChainLink]]:
        self._hook_point(volume)
        members: list[chain_snapshots.NewMember] = []
        resumed = bool(chain_snapshots.rows_of(self.db, volume["id"]))
        if resumed:
            identity = volume["backend_identity"]
            size_bytes = (volume["provenance"] or {}).get("size_bytes")
            if identity is None:
                raise exception.ManageExistingInvalidReference(
                    ref=volume["reference"], reason="the base's identity was never recorded"
                )
        else:
            chain = self.driver.describe_chain(volume, volume["reference"])
            identity, size_bytes = chain.base.identity, chain.base.size_bytes
            self._record_base(volume, chain.base)
            members = self._members(volume, chain)
        rows = chain_snapshots.record_members(
            self.db,
            volume["id"],
            volume["flow_owner"],
            members,
            quota.DefaultLimits.from_conf(self.conf),
            not self.conf.quota.no_snapshot_gb_quota,
        )
        if not resumed:
            for row in rows:
                notifications.notify_snapshot(
                    self.bus_notifier, context, "manage_existing.start", row.snapshot
                )
        return size_in_gib(size_bytes or 0), identity, links_of(rows)

    def _record_base(self, volume: volume_record.ClaimedVolume, base: BackendObject) -> None:
        backend = volume["host"].partition("#")[0]
        origin = provenance.record(volume, backend, base.identity, base.name, base.size_bytes)
        claim = volume_identity.IdentityClaim(volume["id"], backend, base.identity, origin)
        (refusal,) = volume_identity.record_identities(self.db, [claim])
        if refusal is not None:
            raise refusal

    def _members(
        self, volume: volume_record.ClaimedVolume, chain: Chain
    ) -> list[chain_snapshots.NewMember]:
        if not chain.members:
            raise exception.ManageExistingInvalidReference(
                ref=volume["reference"],
                reason="no snapshot is built on it; manage it without with_snapshots",
            )
        backend = volume["host"].partition("#")[0]
        return [
            chain_snapshots.NewMember(
                member.name,
                member.identity,
                size_in_gib(member.size_bytes),
                member.backing,
                member.backing_format,
                provenance.record(
                    dict(volume, reference=member.reference),
                    backend,
                    member.identity,
                    member.name,
                    member.size_bytes,
                ),
            )
            for member in chain.members
        ]

    def revert(
        self,
        result: Any,
        context: RequestContext,
        volume: volume_record.ClaimedVolume,
        flow_failures: dict[str, failure.Failure] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.nothing_to_undo(result):
            return
        fail_members(self.db, self.bus_notifier, context, volume, _reason(flow_failures))


class ManageChain(_Task):
    """Let the driver give the base its volume's managed name and each member its
    snapshot's, keeping every backing reference valid, fenced by the volume row's
    ownership (the volume's provider location is recorded in the same transaction).

    Reversion: the driver puts every object of the chain back under its original
    name with its original references (fenced); it runs even when execute failed,
    since the put-back is idempotent."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database, driver: VolumeDriver) -> None:
        super().__init__(conf, provides=CHAIN_LOCATIONS)
        self.db = db
        self.driver = driver

    def execute(
        self,
        volume: volume_record.ClaimedVolume,
        backend_identity: str,
        links: list[ChainLink],
    ) -> ChainLocations:
        self._hook_point(volume)

        def rename() -> ChainLocations:
            locations = self.driver.manage_chain(
                volume, volume["reference"], links, identity=backend_identity
            )
            hooks.point(hooks.MANAGE_CHAIN_AFTER, volume)
            return locations

        return volume_ownership.fenced(
            self.db,
            volume["id"],
            volume["flow_owner"],
            rename,
            lambda locations: {"provider_location": locations.volume},
        )

    def revert(
        self,
        result: Any,
        volume: volume_record.ClaimedVolume,
        backend_identity: str | None = None,
        **kwargs: Any,
    ) -> None:
        LOG.warning("Volume %s: putting its chain back as it was", volume["id"])
        try:
            put_back_chain(self.db, self.driver, volume, backend_identity)
        except exception.FlowOwnershipLost:
            LOG.debug("Volume %s: no longer this flow's; nothing put back", volume["id"])
        except Exception:
            LOG.exception("Volume %s: could not put its chain back", volume["id"])


class FinishChain(manage_existing.FinishTask):
    """Make the volume and every member ``available`` in one transaction, then send
    ``volume.manage_existing.end`` and a ``snapshot.manage_existing.end`` each.
    Reversion: last task, none."""

    def execute(
        self,
        context: RequestContext,
        volume: volume_record.ClaimedVolume,
        size: int,
        links: list[ChainLink],
        chain_locations: ChainLocations,
    ) -> None:
        self._hook_point(volume)
        snapshot_locations = [
            (link.snapshot_id, location)
            for link, location in zip(links, chain_locations.snapshots, strict=True)
        ]
        if not chain_snapshots.finish(
            self.db, volume["id"], volume["flow_owner"], chain_locations.volume, snapshot_locations
        ):
            raise exception.FlowOwnershipLost(volume_id=volume["id"])
        finished = dict(
            volume,
            status=volume_record.AVAILABLE,
            size=size,
            provider_location=chain_locations.volume,
        )
        notifications.notify(self.bus_notifier, context, "manage_existing.end", finished)
        for row in chain_snapshots.rows_of(self.db, volume["id"]):
            notifications.notify_snapshot(
                self.bus_notifier, context, "manage_existing.end", row.snapshot
            )
        LOG.info(
            "Volume %s is available with %d snapshots: %s managed as %s",
            volume["id"],
            len(links),
            volume["reference"],
            chain_locations.volume,
        )


def get_flow(
    conf: cfg.ConfigOpts, db: db_api.Database, driver: VolumeDriver, notifier: Any
) -> linear_flow.Flow:
    """The chain flow of the volume manager, not yet run."""
    return linear_flow.Flow("volume_manage_existing_chain").add(
        manage_existing.NotifyStart(conf, notifier),
        RecordChain(conf, db, driver, notifier),
        manage_existing.QuotaReserve(conf, db),
        ManageChain(conf, db, driver),
        manage_existing.QuotaCommit(conf, db),
        FinishChain(conf, db, notifier),
    )
