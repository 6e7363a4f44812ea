"""One batch of an undo job: give each adopted object back, as a revert would.

For each item (a volume the adopt job left ``available``), the volume must be as
the job left it: on the backend under its managed name the object with its
recorded identity and size (:func:`changed_since`), and in the database still
``available``, its provenance naming the adopt job. The put-back is fenced like a
manage's rename: one transaction locks the row, checks it, has the driver put the
object back under its original name (``undo_manage`` with the recorded identity,
what a manage's revert does), removes the volume, gives its quota back and marks
the item ``undone`` (:func:`volmgr_common.db.adoption_items.give_back`); a user's
unmanage of the same volume either came first (the item is skipped, the object
untouched) or waits for that commit and finds no volume. A volume that changed
since is ``skipped`` with the reason; a put-back the driver refuses is ``failed``
with its error. Nothing on the backend is deleted.

Resumable: an undo that died after a put-back finds the object already under its
original name (with the recorded identity) and finishes removing the volume.
"""

from typing import Any

from oslo_log import log as logging

from volmgr_common import notifications
from volmgr_common.context import RequestContext
from volmgr_common.db import adoption_items as items_db
from volmgr_common.db import adoption_jobs as jobs_db
from volmgr_common.db import api as db_api
from volmgr_common.db import volumes as volumes_db
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_volume.drivers.base import VolumeDriver

LOG = logging.getLogger(__name__)


def _original_name(volume: VolumeRecord) -> str | None:
    provenance = volume["provenance"] or {}
    return provenance.get("original_name") or volume["reference"].get("source-name")


def changed_since(volume: VolumeRecord, current: dict[str, dict[str, Any]]) -> str | None:
    """Why the volume's object may not be given back (None: it is as the job left it)."""
    managed = current.get(volume["provider_location"] or "")
    if managed is not None:
        if managed.get("identity") != volume["backend_identity"]:
            return "another object is under the volume's managed name"
        size = (volume["provenance"] or {}).get("size_bytes")
        if size is not None and managed.get("size_bytes") != size:
            return f"the object was resized ({size} bytes, now {managed.get('size_bytes')})"
        return None
    original = current.get(_original_name(volume) or "")
    if original is not None and original.get("identity") == volume["backend_identity"]:
        return None  # an earlier run of this undo put it back already
    return "the object is no longer on the backend under the volume's managed name (renamed?)"


class Undoer:
    """Runs the batches of undo jobs for one backend's driver."""

    def __init__(self, db: db_api.Database, driver: VolumeDriver, notifier: Any) -> None:
        self.db = db
        self.driver = driver
        self.notifier = notifier

    def step(
        self, ctxt: RequestContext, job: dict[str, Any], pending: list[items_db.PendingItem]
    ) -> None:
        volumes = volumes_db.get_many(self.db, [i.volume_id for i in pending if i.volume_id])
        names = {
            name
            for volume in volumes.values()
            for name in (volume["provider_location"], _original_name(volume))
            if name
        }
        current = self.driver.fingerprints(sorted(names))
        ended: list[tuple[int, dict[str, Any]]] = []
        to_give_back: list[tuple[int, str]] = []
        for item in pending:
            volume = volumes.get(item.volume_id or "")
            reason = changed_since(volume, current) if volume is not None else None
            if reason is not None:
                ended.append((item.id, {"status": jobs_db.SKIPPED, "reason": reason}))
            else:  # a volume gone is skipped by the fenced step, with the reason
                to_give_back.append((item.id, item.volume_id or ""))
        items_db.mark(self.db, ended)
        removed = items_db.give_back(self.db, job["undo_of"], to_give_back, self._put_back)
        notifications.notify_many(
            self.notifier,
            [
                (ctxt, "unmanage.end", volume, {"provenance": volume["provenance"]})
                for volume in removed
            ],
        )

    def _put_back(self, volume: VolumeRecord) -> None:
        try:
            self.driver.undo_manage(
                volume, volume["reference"], identity=volume["backend_identity"]
            )
        except Exception as error:
            LOG.warning("Undo of volume %s: the object stays managed (%s)", volume["id"], error)
            raise
