"""What volmgr-api does alike for every kind of managed object (volumes, snapshots).

A managed object's record goes through the same statuses whatever its kind (see
:mod:`volmgr_common.db.volume_record`): stopping its management moves it to
``unmanaging`` and asks its volume service to finish; the record of a failed manage
(``error_managing``) is removed instead, without touching the backend. A
:class:`ManagedKind` names what differs from kind to kind: its rows, its
transitions, its notifications and the volume service's call.
"""

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from oslo_log import log as logging

from volmgr_api.scope import project_scope
from volmgr_common import rpc
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db.volume_record import ERROR_MANAGING

LOG = logging.getLogger(__name__)

Record = TypeVar("Record", bound=Mapping[str, Any])


RecordStep = Callable[[db_api.Database, str, str | None], Record]
"""Reads or moves on one record of a project (any project for None); raises the
kind's NotFound, or its invalid status when the record may not move on."""


@dataclasses.dataclass(frozen=True)
class ManagedKind(Generic[Record]):
    """One kind of managed object, as volmgr-api reaches it."""

    noun: str
    """What the logs call it (``volume``, ``snapshot``)."""
    db: db_api.Database
    get: RecordStep[Record]
    start_unmanage: RecordStep[Record]
    delete_failed: RecordStep[Record]
    notify: Callable[[RequestContext, str, Record], None]
    """Sends ``<kind>.<event>`` about a record (never raises)."""
    send_unmanage: Callable[[RequestContext, str, str], None]
    """Asks the volume service of a host to finish the unmanage of an object."""

    def unmanage(self, ctxt: RequestContext, object_id: str) -> None:
        """Stop managing: the row goes, the backend object stays under its managed name.
        The record of a failed manage is removed instead (as its delete would)."""
        scope = project_scope(ctxt)
        record = self.get(self.db, object_id, scope)
        if record["status"] == ERROR_MANAGING:
            self.delete(ctxt, object_id)
            return
        record = self.start_unmanage(self.db, object_id, scope)
        self.notify(ctxt, "unmanage.start", record)
        with rpc.bus_unavailable_as_503():  # the row stays unmanaging: recovery finishes it
            self.send_unmanage(ctxt, record["host"], object_id)

    def delete(self, ctxt: RequestContext, object_id: str) -> None:
        """Remove the record of a failed manage; never touches backend data."""
        record = self.delete_failed(self.db, object_id, project_scope(ctxt))
        LOG.info("Deleted the record of failed %s manage %s", self.noun, object_id)
        self.notify(ctxt, "delete.end", record)
