"""The API's recovery scan: finish requests whose messages were lost.

Two kinds of ``managing`` rows belong to the API:

* rows the scheduler never placed, untouched for ``[recovery] stale_after``
  seconds (the API died before its cast, or the scheduler died holding the
  message): cast to the scheduler again;
* rows on which a later stage noted a failure but whose compensating message never
  arrived: record the failure here, as the message would have.

Snapshot rows are the volume service's to resume (their cast goes straight to it);
of those, the API records the failures whose compensating message was lost
(handling one twice equals once, so two API processes may both try).

Of several volmgr-api processes scanning at once, one wins each row (``touch_if_unchanged``).
"""

from oslo_log import log as logging

from volmgr_api.api import API
from volmgr_common.context import get_admin_context
from volmgr_common.db import snapshot_record, snapshot_recovery, volume_record, volume_recovery
from volmgr_common.db import volume_types as types_db
from volmgr_common.manage_request import RequestSpec

LOG = logging.getLogger(__name__)


def recover(api: API) -> None:
    """One scan (a periodic task of volmgr-api)."""
    rows = volume_recovery.transitional(
        api.db, (volume_record.MANAGING,), still_for=api.conf.recovery.stale_after
    )
    for volume in rows:
        mine = volume["failure_reason"] or not volume["scheduled_at"]
        if not mine or not volume_recovery.touch_if_unchanged(
            api.db, volume["id"], volume["last_change"]
        ):
            continue
        ctxt = get_admin_context(request_id=volume["request_id"])
        ctxt.update_store()  # this thread's log lines carry the request's id
        if volume["failure_reason"]:
            LOG.warning("Volume %s failed but was not recorded; recording it", volume["id"])
            api.manage_existing_failed(ctxt, volume["id"], volume["failure_reason"], "recovery")
        elif not volume["scheduled_at"]:
            LOG.warning("Volume %s was never placed; asking the scheduler again", volume["id"])
            vtype = types_db.get_by_name_or_id(api.db, volume["volume_type_id"])
            spec = RequestSpec.for_manage(
                volume["host"], volume["availability_zone"], vtype, volume["id"]
            )
            api.scheduler.manage_existing(ctxt, volume["id"], spec)
    _recover_snapshot_failures(api)


def _recover_snapshot_failures(api: API) -> None:
    """Record the snapshot failures whose compensating message was lost."""
    rows = snapshot_recovery.transitional(
        api.db,
        (snapshot_record.MANAGING,),
        still_for=api.conf.recovery.stale_after,
        failed=True,
    )
    for snapshot in rows:
        ctxt = get_admin_context(request_id=snapshot["request_id"])
        ctxt.update_store()
        LOG.warning("Snapshot %s failed but was not recorded; recording it", snapshot["id"])
        api.snapshots.manage_failed(ctxt, snapshot["id"], snapshot["failure_reason"] or "unknown")
