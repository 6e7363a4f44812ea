"""The volume manager's manage-existing flow and its tasks.

NotifyStart → PrepareForQuotaReservation → QuotaReserve → RecordIdentity →
ManageExisting → QuotaCommit → OnFinish. When a task fails, the tasks before it revert in reverse
order, each undoing only its own side effect; the worker then tells the API, which
records the failure (see ``volmgr_volume.worker``).

The tasks that write to the database also run for a batch of requests at once
(``execute_batch``, see :func:`volmgr_common.flows.run_flow_batch`): one
transaction for the whole batch, and for each request the result or the failure
its own ``execute`` would have had. ``execute`` is the batch of one. ManageExisting
hands the whole batch to the driver (``manage_many``) inside one fenced
transaction.

Every step runs under the flow's ownership token (``volume["flow_owner"]``, written
by the claim): the driver's rename and every put-back run inside
:func:`volume_ownership.fenced`, the database steps are conditional on the token,
so a flow whose row was taken over changes nothing and fails with
:class:`~volmgr_common.exception.FlowOwnershipLost`, which the worker ends quietly.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from taskflow.patterns import linear_flow
from taskflow.types import failure

from volmgr_common import exception, flows, hooks, notifications, provenance
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import (
    quota,
    reservations,
    volume_identity,
    volume_ownership,
    volume_record,
    volume_transitions,
)
from volmgr_common.flows import VolmgrTask
from volmgr_volume.drivers.base import VolumeDriver

LOG = logging.getLogger(__name__)

# Store keys.
CONTEXT = flows.CONTEXT
VOLUME = "volume"
SIZE = "size"
RESERVATION = "reservation_id"
PROVIDER_LOCATION = "provider_location"
IDENTITY = "backend_identity"

# What QuotaReserve provides when the row already holds its gigabytes.
ALREADY_COMMITTED = "already-committed"


class _Task(VolmgrTask):
    """A manager task: knows the config and passes its hook point (its name) first."""

    def __init__(self, conf: cfg.ConfigOpts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conf = conf

    def _hook_point(self, volume: Mapping[str, Any]) -> None:
        hooks.point(self.name, volume)

    def _passes_hook_point(self, volume: Mapping[str, Any]) -> failure.Failure | None:
        """The failure the hook point makes for this request, if any."""
        try:
            self._hook_point(volume)
        except Exception:
            return failure.Failure()
        return None


class NotifyStart(_Task):
    """Send ``volume.manage_existing.start``. Reversion: nothing to undo."""

    def __init__(self, conf: cfg.ConfigOpts, notifier: Any) -> None:
        super().__init__(conf)
        self.bus_notifier = notifier

    def execute(self, context: RequestContext, volume: volume_record.ClaimedVolume) -> None:
        self._hook_point(volume)
        notifications.notify(self.bus_notifier, context, "manage_existing.start", volume)

    def execute_batch(self, calls: Sequence[dict[str, Any]]) -> list[Any]:
        """Every request's notification, sent side by side (``notify_many``)."""
        results: list[Any] = [self._passes_hook_point(call["volume"]) for call in calls]
        notifications.notify_many(
            self.bus_notifier,
            [
                (call["context"], "manage_existing.start", call["volume"], {})
                for call, result in zip(calls, results, strict=True)
                if result is None
            ],
        )
        return results


class PrepareForQuotaReservation(_Task):
    """Ask the driver for the object's size in whole GiB. Reversion: nothing to undo."""

    def __init__(self, conf: cfg.ConfigOpts, driver: VolumeDriver) -> None:
        super().__init__(conf, provides=SIZE)
        self.driver = driver

    def execute(self, volume: volume_record.ClaimedVolume) -> int:
        self._hook_point(volume)
        size = self.driver.get_size(volume, volume["reference"])
        LOG.debug("Volume %s: backend object is %s GiB", volume["id"], size)
        return size


class QuotaReserve(_Task):
    """Reserve the gigabytes. Reversion: roll the reservation back."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database) -> None:
        super().__init__(conf, provides=RESERVATION)
        self.db = db

    def execute(self, volume: volume_record.ClaimedVolume, size: int) -> str | None:
        return self.alone(self.execute_batch([{"volume": volume, "size": size}]))

    def execute_batch(self, calls: Sequence[dict[str, Any]]) -> list[Any]:
        """One transaction reserves for every request; each is checked against its limits."""
        results: list[Any] = []
        requests: dict[int, reservations.ReservationRequest] = {}
        for position, call in enumerate(calls):
            volume, size = call["volume"], call["size"]
            results.append(self._passes_hook_point(volume))
            if results[position] is not None or size == 0:
                continue
            if volume["held_gigabytes"]:
                # A resumed flow: an earlier run of this request already committed the size.
                results[position] = ALREADY_COMMITTED
                continue
            deltas = quota.volume_deltas(volume["volume_type"], gigabytes=size)
            project_id = volume["project_id"]
            requests[position] = reservations.ReservationRequest(project_id, deltas, volume["id"])
        if requests:
            outcomes = reservations.reserve_many(
                self.db, list(requests.values()), quota.DefaultLimits.from_conf(self.conf)
            )
            for position, outcome in zip(requests, outcomes, strict=True):
                over = isinstance(outcome, exception.OverQuota)
                results[position] = failure.Failure.from_exception(outcome) if over else outcome
        return results

    def revert(self, result: Any, volume: volume_record.ClaimedVolume, **kwargs: Any) -> None:
        if self.nothing_to_undo(result) or result in (None, ALREADY_COMMITTED):
            return
        LOG.warning("Volume %s: rolling back quota reservation %s", volume["id"], result)
        reservations.rollback(self.db, result)


class RecordIdentity(_Task):
    """Ask the driver which object the reference names and record it on the row,
    with the volume's provenance (original name, size in bytes, who and when).

    The identity (a file's device and inode, an LV's uuid) is recorded before the
    rename, in one transaction for a batch; the database's unique identity key
    refuses a second live row for the same object (ManageExistingAlreadyManaged),
    whatever name each request used. ManageExisting then renames only that object.
    Reversion: nothing to undo (a failed manage frees the identity key with the row's
    other keys).
    """

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database, driver: VolumeDriver) -> None:
        super().__init__(conf, provides=IDENTITY)
        self.db = db
        self.driver = driver

    def execute(self, volume: volume_record.ClaimedVolume) -> str:
        return self.alone(self.execute_batch([{"volume": volume}]))

    def execute_batch(self, calls: Sequence[dict[str, Any]]) -> list[Any]:
        """The driver identifies each object; one transaction records them all."""
        results: list[Any] = []
        claims: dict[int, volume_identity.IdentityClaim] = {}
        for position, call in enumerate(calls):
            volume = call["volume"]
            results.append(self._passes_hook_point(volume))
            if results[position] is not None:
                continue
            try:
                found = self.driver.describe(volume, volume["reference"])
            except Exception:
                results[position] = failure.Failure()
                continue
            backend = volume["host"].partition("#")[0]
            readopted = self.driver.is_readoption(volume, volume["reference"])
            origin = provenance.record(
                volume, backend, found.identity, found.name, found.size_bytes, readopted
            )
            claims[position] = volume_identity.IdentityClaim(
                volume["id"], backend, found.identity, origin
            )
        if claims:
            refusals = volume_identity.record_identities(self.db, list(claims.values()))
            for position, refusal in zip(claims, refusals, strict=True):
                results[position] = (
                    claims[position].identity
                    if refusal is None
                    else failure.Failure.from_exception(refusal)
                )
        return results


def put_back(
    db: db_api.Database,
    driver: VolumeDriver,
    volume: volume_record.ClaimedVolume,
    identity: str | None = None,
) -> None:
    """Put the object back under its original name while the flow owns the row.

    Only the object whose identity was recorded (``identity``, or the row's
    ``backend_identity``) is moved. The put-back and the cleared
    ``provider_location`` are one fenced step; raises FlowOwnershipLost (touching
    nothing) when the row is no longer the flow's, and whatever the driver raised
    when it could not put the object back.
    """
    volume_ownership.fenced(
        db,
        volume["id"],
        volume["flow_owner"],
        lambda: driver.undo_manage(volume, volume["reference"], identity=identity),
        lambda _: {"provider_location": None},
    )


class ManageExisting(_Task):
    """Let the driver give the object its managed name.

    The rename runs fenced by the flow's ownership (and records the managed name on
    the row in the same transaction). Reversion: the driver puts the object back
    under its original name, exactly as it was, fenced too; nothing is ever deleted.
    This runs even when execute itself failed, since a driver may fail after the
    rename: ``undo_manage`` is idempotent.
    """

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database, driver: VolumeDriver) -> None:
        super().__init__(conf, provides=PROVIDER_LOCATION)
        self.db = db
        self.driver = driver

    def execute(self, volume: volume_record.ClaimedVolume, backend_identity: str) -> str:
        return self.alone(self.execute_batch([{"volume": volume, IDENTITY: backend_identity}]))

    def execute_batch(self, calls: Sequence[dict[str, Any]]) -> list[Any]:
        """One fenced transaction renames every request's object (``manage_many``, one
        call, so that the driver may share its reads) and records each managed name."""
        results: list[Any] = [self._passes_hook_point(call["volume"]) for call in calls]
        going = [call for call, result in zip(calls, results, strict=True) if result is None]
        if not going:
            return results

        def rename(positions: Sequence[int]) -> list[str | Exception]:
            chosen = [going[p] for p in positions]
            made = self.driver.manage_many(
                [(call["volume"], call["volume"]["reference"], call[IDENTITY]) for call in chosen]
            )
            for index, (call, location) in enumerate(zip(chosen, made, strict=True)):
                if isinstance(location, Exception):
                    continue
                try:
                    hooks.point(hooks.MANAGE_EXISTING_AFTER, call["volume"])
                except Exception as error:
                    made[index] = error
            return made

        outcomes = iter(
            volume_ownership.fenced_many(
                self.db,
                [(call["volume"]["id"], call["volume"]["flow_owner"]) for call in going],
                rename,
                lambda location: {"provider_location": location},
            )
        )
        for position, result in enumerate(results):
            if result is None:
                outcome = next(outcomes)
                failed = isinstance(outcome, Exception)
                results[position] = failure.Failure.from_exception(outcome) if failed else outcome
        return results

    def revert(
        self,
        result: Any,
        volume: volume_record.ClaimedVolume,
        backend_identity: str | None = None,
        **kwargs: Any,
    ) -> None:
        LOG.warning(
            "Volume %s: putting backend object back as %s", volume["id"], volume["reference"]
        )
        try:
            put_back(self.db, self.driver, volume, backend_identity)
        except exception.FlowOwnershipLost:
            LOG.debug("Volume %s: no longer this flow's; nothing put back", volume["id"])
        except Exception:
            LOG.exception("Volume %s: could not undo the manage on the backend", volume["id"])
        else:
            LOG.warning(
                "Volume %s: backend object is back as %s", volume["id"], volume["reference"]
            )


class QuotaCommit(_Task):
    """Commit the reservation and record the size on the row.

    Reversion: a compensating negative commit of what this volume holds.
    """

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database) -> None:
        super().__init__(conf)
        self.db = db

    def execute(
        self, volume: volume_record.ClaimedVolume, size: int, reservation_id: str | None
    ) -> None:
        call = {"volume": volume, "size": size, "reservation_id": reservation_id}
        return self.alone(self.execute_batch([call]))

    def execute_batch(self, calls: Sequence[dict[str, Any]]) -> list[Any]:
        """One transaction commits every request's reservation and records its size."""
        results: list[Any] = []
        commits: dict[int, volume_transitions.SizeCommit] = {}
        for position, call in enumerate(calls):
            volume, reservation_id = call["volume"], call["reservation_id"]
            results.append(self._passes_hook_point(volume))
            if results[position] is not None or reservation_id == ALREADY_COMMITTED:
                continue
            if reservation_id is None:
                volume_transitions.update_if(self.db, volume["id"], volume_record.MANAGING, size=0)
                continue
            commits[position] = volume_transitions.SizeCommit(
                volume["id"], reservation_id, call["size"], volume["flow_owner"]
            )
        if commits:
            made = volume_transitions.commit_gigabytes_many(self.db, list(commits.values()))
            for commit, committed in zip(commits.values(), made, strict=True):
                if not committed:
                    # A resumed flow: an earlier run already committed this volume's size.
                    reservations.rollback(self.db, commit.reservation_id)
        return results

    def revert(self, result: Any, volume: volume_record.ClaimedVolume, **kwargs: Any) -> None:
        if self.nothing_to_undo(result):
            return
        if volume_transitions.uncommit_gigabytes(self.db, volume["id"], volume["flow_owner"]):
            LOG.warning("Volume %s: gave back the committed gigabytes", volume["id"])


class FinishTask(_Task):
    """A flow's last task: writes the outcome to ``db`` and sends ``.end`` on ``notifier``."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database, notifier: Any) -> None:
        super().__init__(conf)
        self.db = db
        self.bus_notifier = notifier


class OnFinish(FinishTask):
    """Mark the volume ``available`` and send ``.end``. Reversion: last task, none."""

    def execute(
        self,
        context: RequestContext,
        volume: volume_record.ClaimedVolume,
        size: int,
        provider_location: str,
    ) -> None:
        call = {
            "context": context,
            "volume": volume,
            "size": size,
            "provider_location": provider_location,
        }
        return self.alone(self.execute_batch([call]))

    def execute_batch(self, calls: Sequence[dict[str, Any]]) -> list[Any]:
        """One transaction makes every request's volume ``available``; then each is notified."""
        results = [self._passes_hook_point(call["volume"]) for call in calls]
        finishing = [position for position, result in enumerate(results) if result is None]
        if not finishing:
            return results
        volumes = [calls[p]["volume"] for p in finishing]
        finished = volume_transitions.finish_manage_many(
            self.db,
            [
                (v["id"], calls[p]["provider_location"])
                for p, v in zip(finishing, volumes, strict=True)
            ],
            {v["id"]: v["flow_owner"] for v in volumes},
        )
        announced = []
        for position, ok in zip(finishing, finished, strict=True):
            call = calls[position]
            volume = call["volume"]
            if not ok:
                # Taken over, or decided meanwhile: the row is no longer this flow's.
                lost = exception.FlowOwnershipLost(volume_id=volume["id"])
                results[position] = failure.Failure.from_exception(lost)
                continue
            announced.append(
                self._announce(call["context"], volume, call["size"], call["provider_location"])
            )
        notifications.notify_many(self.bus_notifier, announced)
        return results

    def _announce(
        self,
        context: RequestContext,
        volume: volume_record.ClaimedVolume,
        size: int,
        provider_location: str,
    ) -> tuple[RequestContext, str, dict[str, Any], dict[str, Any]]:
        """Log that the volume is available; the notification to send about it."""
        # What the row now holds (QuotaCommit recorded the size), without reading it back.
        finished = dict(
            volume,
            status=volume_record.AVAILABLE,
            size=size,
            provider_location=provider_location,
        )
        context.update_store()  # the log line carries this request's id
        LOG.info(
            "Volume %s is available: %s on %s, %s GiB, managed as %s",
            volume["id"],
            volume["reference"],
            volume["host"],
            size,
            provider_location,
        )
        return context, "manage_existing.end", finished, {}


def get_flow(
    conf: cfg.ConfigOpts, db: db_api.Database, driver: VolumeDriver, notifier: Any
) -> linear_flow.Flow:
    """The manage-existing flow of the volume manager, not yet run."""
    return linear_flow.Flow("volume_manage_existing").add(
        NotifyStart(conf, notifier),
        PrepareForQuotaReservation(conf, driver),
        QuotaReserve(conf, db),
        RecordIdentity(conf, db, driver),
        ManageExisting(conf, db, driver),
        QuotaCommit(conf, db),
        OnFinish(conf, db, notifier),
    )
