"""Named hook points on the manage path, where a test plugin may act on a request.

The flows call :func:`point` at each hop of a manage request, with the hop's name
and the volume as that hop holds it (the record the flow works on). Nothing is
registered in a product process, so a point costs a loop over an empty tuple. The
fault-injection tests register a callback (``tests/fault_plugin.py``) that makes a
point fail or end the process, to check that every hop is safe to fail or crash at.

The points, in the order a request passes them:

* ``AfterEntryCreate`` — volmgr-api wrote the ``managing`` row, nothing cast yet;
* ``SchedulerReceive`` — a scheduler took the request, nothing placed yet;
* the name of each task of the volume manager's flow (``NotifyStart``,
  ``PrepareForQuotaReservation``, ``QuotaReserve``, ``RecordIdentity``, ``ManageExisting``,
  ``QuotaCommit``, ``OnFinish``) — before the task does anything;
* ``ManageExisting.after`` — the driver renamed the object, nothing recorded yet;
* a snapshot's manage: ``AfterSnapshotEntryCreate`` (the API wrote the row), the
  name of each task of the snapshot flow (``NotifySnapshotStart``,
  ``RecordSnapshotIdentity``, ``ChargeSnapshotGigabytes``, ``ManageSnapshot``,
  ``FinishSnapshot``) and ``ManageSnapshot.after`` (the driver renamed it), each
  with the snapshot record.

* a chain's manage (a volume adopted with its snapshots): the tasks of the chain
  flow (``NotifyStart``, ``RecordChain``, ``QuotaReserve``, ``ManageChain``,
  ``QuotaCommit``, ``FinishChain``) and ``ManageChain.after`` (the driver renamed
  the whole chain, nothing recorded yet), each with the volume record.

A callback that raises makes the point fail as the step there would have failed.
"""

from collections.abc import Callable
from typing import Any

AFTER_ENTRY_CREATE = "AfterEntryCreate"
SCHEDULER_RECEIVE = "SchedulerReceive"
MANAGE_EXISTING_AFTER = "ManageExisting.after"
AFTER_SNAPSHOT_ENTRY_CREATE = "AfterSnapshotEntryCreate"
MANAGE_SNAPSHOT_AFTER = "ManageSnapshot.after"
MANAGE_CHAIN_AFTER = "ManageChain.after"

Callback = Callable[[str, Any], None]
"""Called as ``callback(point_name, volume)`` at every point."""

# Replaced, never changed in place: a point reads it without a lock.
_callbacks: tuple[Callback, ...] = ()


def register(callback: Callback) -> None:
    """Call ``callback`` at every point from now on."""
    global _callbacks
    _callbacks = (*_callbacks, callback)


def unregister(callback: Callback) -> None:
    """Stop calling ``callback`` (nothing happens if it is not registered)."""
    global _callbacks
    _callbacks = tuple(c for c in _callbacks if c != callback)


def active() -> bool:
    """True when a callback is registered: a point whose volume costs a read checks first."""
    return bool(_callbacks)


def point(name: str, volume: Any) -> None:
    """The request of ``volume`` passes the point ``name``; callbacks may raise."""
    for callback in _callbacks:
        callback(name, volume)
