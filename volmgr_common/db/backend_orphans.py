"""The orphans an audit found, kept per backend, and their paged listing.

An audit (``volmgr_volume.audit``) stamps what it finds with the database's time
of its reading of the backend, and records it a page at a time
(:func:`record_seen`: a new orphan gets its ``first_seen_at``, one seen before keeps
it while it is the same object under the same name), then drops the rows of its
backend that no reading since its own saw (:func:`drop_unseen`): what stays is what
the last complete audit found. An audit that fails half-way drops nothing; two
audits of one backend at once (members of a cluster) keep what the later reading
saw. The listing
(:func:`list_orphans`) is sorted and paged as the other listings are
(:mod:`volmgr_common.db.paging`), by name unless asked otherwise, the marker being
an orphan's name; it leaves out an orphan whose volume id a row has meanwhile (a
re-adoption since the audit).
"""

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models, paging
from volmgr_common.limits import size_in_gib
from volmgr_common.page_request import PageRequest

SORT_KEYS = ("name", "volume_id", "size_bytes", "first_seen_at", "last_seen_at")
"""The keys a listing of orphans sorts by."""
DEFAULT_SORT = ("name", "asc")
RELEASED_KEYS = ("volmgr-released", "user.volmgr.released")
"""The keys of the marks drivers put on an object a user's unmanage let go."""
"""The order of a listing whose page names none."""


@dataclasses.dataclass(frozen=True)
class SeenOrphan:
    """One orphan as an audit saw it (``ManagedObject.as_dict``'s keys that are stored)."""

    name: str
    volume_id: str
    identity: str
    size_bytes: int | None
    original_name: str | None
    project_id: str | None
    marks: tuple[str, ...]

    @classmethod
    def from_dict(cls, found: Mapping[Any, Any]) -> "SeenOrphan":
        return cls(
            name=found["name"],
            volume_id=found["volume_id"],
            identity=found["identity"],
            size_bytes=found["size_bytes"],
            original_name=found["original_name"],
            project_id=found["project_id"],
            marks=tuple(found["marks"] or ()),
        )

    def as_dict(self) -> dict[str, Any]:
        """What the backend says of the orphan, as ``ManagedObject.as_dict`` gives it."""
        values = dataclasses.asdict(self)
        values["marks"] = list(self.marks)
        values["size"] = None if self.size_bytes is None else size_in_gib(self.size_bytes)
        values["released_at"] = released_at(self.marks)
        return values


def released_at(marks: Sequence[str]) -> str | None:
    """When an unmanage let the orphan go, as its release mark (``volmgr-released=`` tag,
    ``user.volmgr.released`` attribute) says: the backend keeps that truth, so a
    database restored from an older copy still knows it."""
    for mark in marks:
        key, sep, value = mark.partition("=")
        if sep and key in RELEASED_KEYS:
            return value
    return None


def _values(orphan: SeenOrphan, seen_at: dt.datetime) -> dict[str, Any]:
    values = dataclasses.asdict(orphan)
    values["marks"] = list(orphan.marks)
    return {**values, "last_seen_at": seen_at}


@db_api.reader
def reading_time(session: Session) -> dt.datetime:
    """The database's time now: an audit stamps what it sees with the time it read the
    backend, on the clock every member of a cluster shares."""
    return clock.now(session)


@db_api.writer
def record_seen(
    session: Session, backend: str, seen: Sequence[SeenOrphan], seen_at: dt.datetime
) -> list[SeenOrphan]:
    """Record that an audit of ``backend`` that read it at ``seen_at`` saw ``seen``; the
    orphans among them that no row listed yet under that name as the same object. A
    row that a later reading already recorded is left as it is."""
    table = models.table_of(models.BackendOrphan)
    names = [orphan.name for orphan in seen]
    stmt = sa.select(table.c.name, table.c.identity, table.c.last_seen_at).where(
        table.c.backend == backend, table.c.name.in_(names)
    )
    stored = {name: (identity, last) for name, identity, last in session.execute(stmt)}
    new: list[SeenOrphan] = []
    for orphan in seen:
        values = _values(orphan, seen_at)
        if orphan.name not in stored:
            session.execute(table.insert().values(backend=backend, first_seen_at=seen_at, **values))
            new.append(orphan)
            continue
        identity, last_seen_at = stored[orphan.name]
        if last_seen_at > seen_at:
            continue
        if identity != orphan.identity:  # another object took the name
            values["first_seen_at"] = seen_at
            new.append(orphan)
        where = (table.c.backend == backend, table.c.name == orphan.name)
        session.execute(table.update().where(*where).values(**values))
    return new


@db_api.writer
def drop_unseen(
    session: Session, backend: str, seen_at: dt.datetime, limit: int
) -> list[SeenOrphan]:
    """Drop up to ``limit`` orphans of ``backend`` that no reading since ``seen_at`` saw
    (they are no longer orphans, or no longer there); those dropped."""
    table = models.table_of(models.BackendOrphan)
    unseen = (table.c.backend == backend, table.c.last_seen_at < seen_at)
    stmt = sa.select(table).where(*unseen).order_by(table.c.name).limit(limit)
    dropped = [SeenOrphan.from_dict(row) for row in session.execute(stmt).mappings()]
    if dropped:
        names = [orphan.name for orphan in dropped]
        session.execute(table.delete().where(*unseen, table.c.name.in_(names)))
    return dropped


def _known(table: sa.Table) -> sa.ColumnElement[bool]:
    """An orphan whose volume id a row has (in any status)."""
    volumes = models.table_of(models.Volume)
    return sa.exists().where(volumes.c.id == table.c.volume_id)


@db_api.reader
def list_orphans(session: Session, backend: str, page: PageRequest) -> list[dict[str, Any]]:
    """One page of the orphans the last audit of ``backend`` found that no row knows
    now, sorted by the page's keys of :data:`SORT_KEYS` then by name (by name alone
    when it names none), after the orphan named ``page.marker`` (InvalidMarker when
    ``backend`` has none of that name)."""
    table = models.table_of(models.BackendOrphan)
    sort = paging.with_default_keys(page.sort or (DEFAULT_SORT,), keys=("name",))
    columns = paging.sort_columns(sort, {key: table.c[key] for key in SORT_KEYS})
    mine = table.c.backend == backend
    anchor = None
    if page.marker is not None:
        anchor = session.execute(
            paging.anchor_of(columns).where(mine, table.c.name == page.marker)
        ).first()
        if anchor is None:
            raise exception.InvalidMarker(marker=page.marker[:40])
    stmt = paging.paged(sa.select(table).where(mine, ~_known(table)), columns, page, anchor)
    return [_view(row) for row in session.execute(stmt).mappings()]


def _view(row: Any) -> dict[str, Any]:
    """A stored orphan as the API shows it: what the backend says of it, and when
    audits first and last saw it."""
    return {
        **SeenOrphan.from_dict(row).as_dict(),
        "first_seen_at": row["first_seen_at"].isoformat(),
        "last_seen_at": row["last_seen_at"].isoformat(),
    }
