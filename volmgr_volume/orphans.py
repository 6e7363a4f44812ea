"""Orphans: objects of a backend in managed form that no volume row knows.

A database restored from an older copy forgets the volumes managed since; their
objects stay on the backend under their managed names (``volume-<uuid>``), with
volmgr's marks. :func:`find_orphans` compares what a driver lists
(``VolumeDriver.list_managed_objects``, one read of the backend) with the rows of
the database, one page of objects at a time, so that its memory stays bounded by
the page whatever the number of volumes. An object is known when a row has the
volume id its name carries, or a row of this backend holds its identity (it was
renamed by hand: that is drift, not an orphan). It reads and never changes
anything. The audit calls it on its own reading of the backend, leaving out the
objects of the volumes it has just checked (``BackendAudit.managed_objects``'s
``known_ids``): they are known without a query, or even a look at the object.
"""

import itertools
from collections.abc import Iterable, Iterator, Sequence

from volmgr_common.db import api as db_api
from volmgr_common.db import volume_identity
from volmgr_common.db import volumes as volumes_db
from volmgr_volume.drivers.base import ManagedObject

PAGE_SIZE = 500
"""Objects compared with the database per query."""


def find_orphans(
    db: db_api.Database,
    backends: Sequence[str],
    objects: Iterable[ManagedObject],
    page_size: int = PAGE_SIZE,
) -> Iterator[ManagedObject]:
    """The objects among ``objects`` (of the backend named ``backends``: a cluster's
    name and a member's own) that no row knows, in the order given."""
    listed = iter(objects)
    while page := list(itertools.islice(listed, page_size)):
        keys = {
            obj.identity: [volume_identity.identity_key(name, obj.identity) for name in backends]
            for obj in page
        }
        known_ids, known_keys = volumes_db.known_objects(
            db, [obj.volume_id for obj in page], [key for ks in keys.values() for key in ks]
        )
        for obj in page:
            if obj.volume_id not in known_ids and known_keys.isdisjoint(keys[obj.identity]):
                yield obj
