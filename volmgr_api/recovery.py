"""The API's recovery scan: finish requests whose messages were lost.

Two kinds of ``managing`` rows belong to the API:

* rows the scheduler never placed, untouched for ``[recovery] stale_after``
  seconds (the API died before its cast, or the scheduler died holding the
  message): cast to the scheduler again;
* rows on which a later stage noted a failure but whose compensating message never
  arrived: record the failure here, as the message would have.

Of several volmgr-api processes scanning at once, one wins each row (``touch_if_unchanged``).
"""

from oslo_log import log as logging

from volmgr_api.api import API
from volmgr_common.context import get_admin_context
from volmgr_common.db import volume_record, volume_recovery
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
