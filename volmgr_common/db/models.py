"""SQLAlchemy models of every table volmgr keeps.

Times are naive UTC. A time that another host compares (a heartbeat, a volume row's
last change, a reservation's expiry) is the database's (:mod:`volmgr_common.db.clock`).
A volume row holds quota only while ``quota_volumes`` is true
(and ``quota_gigabytes`` > 0): usage counters change in the same transaction as
these columns, which keeps usage equal to the truth. Every column that holds GiB
(sizes, quota limits, usage, reservations) is a BigInteger: a backend may report
sizes beyond 2^31 GiB.
"""

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from volmgr_common.db.clock import utc_now
from volmgr_common.limits import STRING_WIDTH


def utcnow() -> dt.datetime:
    """Current UTC time without tzinfo, as every column stores it."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Stamped by the database's clock: the recovery scans compare it with theirs.
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, onupdate=utc_now())


class VolumeType(TimestampMixin, Base):
    __tablename__ = "volume_types"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(STRING_WIDTH), unique=True)
    description: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    extra_specs: Mapped[list["VolumeTypeExtraSpec"]] = relationship(
        back_populates="volume_type", cascade="all, delete-orphan", lazy="selectin"
    )


class VolumeTypeExtraSpec(Base):
    __tablename__ = "volume_type_extra_specs"
    __table_args__ = (UniqueConstraint("volume_type_id", "key", name="uniq_type_spec_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_types.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(STRING_WIDTH))
    value: Mapped[str] = mapped_column(String(STRING_WIDTH))
    volume_type: Mapped[VolumeType] = relationship(back_populates="extra_specs")


class Volume(TimestampMixin, Base):
    __tablename__ = "volumes"
    __table_args__ = (
        Index("uq_volumes_identity_key", "identity_key", unique=True),
        # The audit's pages: the volumes of one status in id order.
        Index("ix_volumes_status_id", "status", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(STRING_WIDTH), index=True)
    user_id: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    display_name: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    display_description: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    status: Mapped[str] = mapped_column(String(32), index=True)
    host: Mapped[str] = mapped_column(String(STRING_WIDTH), index=True)
    # ``cluster@backend`` of a volume managed through a cluster (its host then names
    # the cluster too, with the pool); None on a backend of one service.
    cluster_name: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    availability_zone: Mapped[str] = mapped_column(String(STRING_WIDTH))
    volume_type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id"))
    size: Mapped[int | None] = mapped_column(BigInteger)
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    reference: Mapped[str] = mapped_column(Text)
    reference_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # What the object is on its backend (device:inode of a file, an LV's uuid), recorded
    # before the rename; identity_key (backend and identity, hashed) is unique among
    # live rows, so one object is never held by two.
    backend_identity: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    identity_key: Mapped[str | None] = mapped_column(String(64))
    # Where the object came from, recorded once with its identity (see
    # volmgr_common.provenance); kept whole, never queried by its keys.
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # What the last audit found different on the backend (volmgr_common.drift): the
    # kind, indexed for listings, and the whole record; both None while none is.
    drift_kind: Mapped[str | None] = mapped_column(String(32), index=True)
    drift: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    provider_location: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    quota_volumes: Mapped[bool] = mapped_column(Boolean, default=False)
    quota_gigabytes: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # The user message detail id of the failure (volmgr_common.message_field).
    failure_detail: Mapped[str | None] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(64))
    flow_owner: Mapped[str | None] = mapped_column(String(64))
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    launched_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The request adopts the object with the snapshots built on it (a chain).
    with_snapshots: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    volume_metadata: Mapped[list["VolumeMetadata"]] = relationship(
        back_populates="volume", cascade="all, delete-orphan", lazy="selectin"
    )
    volume_type: Mapped[VolumeType] = relationship(lazy="joined")


class VolumeMetadata(Base):
    __tablename__ = "volume_metadata"
    __table_args__ = (UniqueConstraint("volume_id", "key", name="uniq_volume_metadata_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(STRING_WIDTH))
    value: Mapped[str] = mapped_column(String(STRING_WIDTH))
    volume: Mapped[Volume] = relationship(back_populates="volume_metadata")


class Snapshot(TimestampMixin, Base):
    """A managed snapshot: a backend object whose origin is a managed volume's object.

    Columns mirror the volume's where the idea is the same (reference and identity
    keys for the double-manage guard, quota held, flow owner for recovery); ``host``
    and ``volume_type_id`` are the parent volume's, copied at creation so that the
    recovery scans and per-type quota need no join.
    """

    __tablename__ = "snapshots"
    __table_args__ = (Index("uq_snapshots_identity_key", "identity_key", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(STRING_WIDTH), index=True)
    user_id: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    display_name: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    display_description: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    status: Mapped[str] = mapped_column(String(32), index=True)
    host: Mapped[str] = mapped_column(String(STRING_WIDTH), index=True)
    volume_type_id: Mapped[str | None] = mapped_column(String(36))
    volume_size: Mapped[int | None] = mapped_column(BigInteger)
    progress: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    reference: Mapped[str] = mapped_column(Text)
    reference_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    backend_identity: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    identity_key: Mapped[str | None] = mapped_column(String(64))
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    provider_location: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    quota_snapshots: Mapped[bool] = mapped_column(Boolean, default=False)
    quota_gigabytes: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    failure_detail: Mapped[str | None] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(64))
    flow_owner: Mapped[str | None] = mapped_column(String(64))
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Set on a member of a chain adopted with its volume (volmgr_common.db.chain_snapshots):
    # its position and the backing reference its header held before the adoption.
    chain_link: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    snapshot_metadata: Mapped[list["SnapshotMetadata"]] = relationship(
        back_populates="snapshot", cascade="all, delete-orphan", lazy="selectin"
    )


class SnapshotMetadata(Base):
    __tablename__ = "snapshot_metadata"
    __table_args__ = (UniqueConstraint("snapshot_id", "key", name="uniq_snapshot_metadata_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[str] = mapped_column(
        ForeignKey("snapshots.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(STRING_WIDTH))
    value: Mapped[str] = mapped_column(String(STRING_WIDTH))
    snapshot: Mapped[Snapshot] = relationship(back_populates="snapshot_metadata")


class Service(TimestampMixin, Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary", name="uniq_service_host_binary"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    host: Mapped[str] = mapped_column(String(STRING_WIDTH))
    binary: Mapped[str] = mapped_column(String(64))
    # ``cluster@backend`` of a volume service that is a member of a cluster.
    cluster_name: Mapped[str | None] = mapped_column(String(STRING_WIDTH), index=True)
    topic: Mapped[str] = mapped_column(String(64))
    availability_zone: Mapped[str] = mapped_column(String(STRING_WIDTH))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    last_heartbeat: Mapped[dt.datetime | None] = mapped_column(DateTime)
    capabilities: Mapped[str | None] = mapped_column(Text)
    capabilities_updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The version of its RPC API the service answers; NULL: a service older than the
    # column, not restarted since the schema was expanded.
    rpc_version: Mapped[str | None] = mapped_column(String(32))


class Quota(TimestampMixin, Base):
    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource", name="uniq_quota_resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(STRING_WIDTH))
    resource: Mapped[str] = mapped_column(String(STRING_WIDTH))
    hard_limit: Mapped[int] = mapped_column(BigInteger)


class QuotaUsage(TimestampMixin, Base):
    __tablename__ = "quota_usages"
    __table_args__ = (UniqueConstraint("project_id", "resource", name="uniq_usage_resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(STRING_WIDTH))
    resource: Mapped[str] = mapped_column(String(STRING_WIDTH))
    in_use: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)


class Reservation(TimestampMixin, Base):
    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), index=True)
    project_id: Mapped[str] = mapped_column(String(STRING_WIDTH))
    resource: Mapped[str] = mapped_column(String(STRING_WIDTH))
    delta: Mapped[int] = mapped_column(BigInteger)
    volume_id: Mapped[str | None] = mapped_column(String(36), index=True)
    expire: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(STRING_WIDTH), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    event_id: Mapped[str] = mapped_column(String(64))
    message_level: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AdoptionPlan(TimestampMixin, Base):
    """A stored preview of adopting a backend's objects (see volmgr_common.adoption).

    ``job_id`` is set once, by the apply that starts the plan's job: a plan applies
    once. ``values`` holds what each manage of the plan takes (name template,
    description, metadata, bootable); ``filters`` what selected the objects;
    ``totals`` the summary shown with the plan (objects, GiB, quota after).
    """

    __tablename__ = "adoption_plans"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(STRING_WIDTH), index=True)
    user_id: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    # The host or cluster as the request named it, and the backend rows go on.
    host: Mapped[str] = mapped_column(String(STRING_WIDTH))
    backend: Mapped[str] = mapped_column(String(STRING_WIDTH), index=True)
    target_project_id: Mapped[str] = mapped_column(String(STRING_WIDTH))
    volume_type_id: Mapped[str] = mapped_column(String(36))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    totals: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    job_id: Mapped[str | None] = mapped_column(String(36), unique=True)


class AdoptionPlanItem(Base):
    """One backend object of a plan, with its verdict and the fingerprint seen."""

    __tablename__ = "adoption_plan_items"
    __table_args__ = (UniqueConstraint("plan_id", "position", name="uniq_plan_item_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(
        ForeignKey("adoption_plans.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    source_name: Mapped[str] = mapped_column(Text)
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(BigInteger)
    # name, size and identity of the object when planned (device+inode+mtime for a
    # file, uuid+size for an LV): apply compares it with the backend's.
    fingerprint: Mapped[dict[str, Any]] = mapped_column(JSON)
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    volume_name: Mapped[str | None] = mapped_column(String(STRING_WIDTH))


class AdoptionJob(TimestampMixin, Base):
    """A durable adoption (``kind`` adopt) or its undo (``kind`` undo).

    The job is run by a volume service of its backend: ``owner`` is the service
    instance running it and ``heartbeat_at`` (database clock) when it last said so;
    another instance takes a job whose heartbeat is stale. Counters are counted
    from the items, never kept apart from them.
    """

    __tablename__ = "adoption_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    plan_id: Mapped[str | None] = mapped_column(String(36), index=True)
    undo_of: Mapped[str | None] = mapped_column(String(36), index=True)
    project_id: Mapped[str] = mapped_column(String(STRING_WIDTH), index=True)
    user_id: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    request_id: Mapped[str | None] = mapped_column(String(64))
    backend: Mapped[str] = mapped_column(String(STRING_WIDTH), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    strict: Mapped[bool] = mapped_column(Boolean, default=False)
    max_in_flight: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AdoptionJobItem(Base):
    """One object of a job: its status (pending, managing, available, skipped, stale,
    failed, undone), the volume it became and why it ended as it did."""

    __tablename__ = "adoption_job_items"
    __table_args__ = (
        UniqueConstraint("job_id", "position", name="uniq_job_item_position"),
        Index("ix_adoption_job_items_job_status", "job_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("adoption_jobs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    plan_item_id: Mapped[int | None] = mapped_column(Integer)
    source_name: Mapped[str] = mapped_column(Text)
    volume_id: Mapped[str | None] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    # What changed since the plan (a stale item), or what an undo found.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    updated_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime, default=utcnow, onupdate=utc_now()
    )


class BackendOrphan(Base):
    """An object in managed form that no volume row knew when the last audit of its
    backend looked (see volmgr_volume.audit): what the backend said of it, when an
    audit first saw it (``first_seen_at``, kept while the same object stays an
    orphan under that name) and last read the backend and saw it (an audit drops
    the rows of its backend that no reading since its own saw)."""

    __tablename__ = "backend_orphans"

    backend: Mapped[str] = mapped_column(String(STRING_WIDTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(STRING_WIDTH), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    identity: Mapped[str] = mapped_column(String(STRING_WIDTH))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    original_name: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[str | None] = mapped_column(String(STRING_WIDTH))
    marks: Mapped[list[str]] = mapped_column(JSON)
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, for Core statements (typed as a ``Table``)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table
