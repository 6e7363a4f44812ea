"""Unit tests of quota and reservations (volmgr_common.db.quota, .reservations) on SQLite.

Usage is read back through ``quota.usage``, the same view ``volmgr-manage quota show``
and the API give, so each test checks what an operator would see.
"""

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import models, quota, reservations
from volmgr_common.db import volume_types as types_db

PROJECT = "project-a"
OTHER = "project-b"
LIMITS = quota.DefaultLimits(volumes=10, gigabytes=100, per_type=-1, reservation_expire=600)
EXPIRED = quota.DefaultLimits(volumes=10, gigabytes=100, per_type=-1, reservation_expire=-60)


def usage_of(db: db_api.Database, project_id: str = PROJECT) -> dict[str, tuple[int, int]]:
    """``{resource: (in_use, reserved)}`` of every resource the project has."""
    return {
        resource: (values["in_use"], values["reserved"])
        for resource, values in quota.usage(db, project_id, LIMITS).items()
    }


def commit(db: db_api.Database, reservation_id: str, deltas: dict[str, int]) -> None:
    """Commit a reservation in a transaction of its own (callers do it inside theirs)."""
    with db.session(write=True) as session:
        reservations.commit_in(session, PROJECT, reservation_id, deltas)


def reservation_rows(db: db_api.Database) -> int:
    with db.session(write=False) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(models.Reservation)) or 0


def test_volume_deltas_name_global_and_per_type_resources() -> None:
    assert quota.volume_deltas("gold", volumes=1, gigabytes=3) == {
        "volumes": 1,
        "volumes_gold": 1,
        "gigabytes": 3,
        "gigabytes_gold": 3,
    }
    assert quota.volume_deltas("gold", gigabytes=2) == {"gigabytes": 2, "gigabytes_gold": 2}
    assert quota.volume_deltas("gold") == {}


def test_default_limits_come_from_the_quota_options(
    conf_factory: Callable[..., cfg.ConfigOpts],
) -> None:
    conf = conf_factory(quota__volumes=7, quota__gigabytes=70, quota__per_type_default=3)
    limits = quota.DefaultLimits.from_conf(conf)
    assert (limits.for_resource("volumes"), limits.for_resource("gigabytes")) == (7, 70)
    assert limits.for_resource("gigabytes_gold") == 3
    assert limits.reservation_expire == conf.quota.reservation_expire


def test_a_new_project_uses_nothing(db: db_api.Database) -> None:
    usage = quota.usage(db, PROJECT, LIMITS)
    assert usage == {
        "volumes": {"in_use": 0, "reserved": 0, "limit": 10},
        "snapshots": {"in_use": 0, "reserved": 0, "limit": -1},
        "gigabytes": {"in_use": 0, "reserved": 0, "limit": 100},
    }


def test_reserve_holds_the_amount_as_reserved(db: db_api.Database) -> None:
    reservations.reserve(db, PROJECT, quota.volume_deltas("gold", gigabytes=5), LIMITS)
    assert usage_of(db) == {
        "volumes": (0, 0),
        "snapshots": (0, 0),
        "gigabytes": (0, 5),
        "gigabytes_gold": (0, 5),
    }
    assert usage_of(db, OTHER) == {"volumes": (0, 0), "snapshots": (0, 0), "gigabytes": (0, 0)}


def test_commit_moves_the_reservation_into_use(db: db_api.Database) -> None:
    deltas = quota.volume_deltas("gold", gigabytes=5)
    reservation = reservations.reserve(db, PROJECT, deltas, LIMITS)
    commit(db, reservation, deltas)
    assert usage_of(db) == {
        "volumes": (0, 0),
        "snapshots": (0, 0),
        "gigabytes": (5, 0),
        "gigabytes_gold": (5, 0),
    }
    assert reservation_rows(db) == 0


def test_rollback_gives_the_reservation_back(db: db_api.Database) -> None:
    reservation = reservations.reserve(
        db, PROJECT, quota.volume_deltas("gold", gigabytes=5), LIMITS
    )
    assert reservations.rollback(db, reservation) == 2
    assert usage_of(db) == {
        "volumes": (0, 0),
        "snapshots": (0, 0),
        "gigabytes": (0, 0),
        "gigabytes_gold": (0, 0),
    }
    assert reservation_rows(db) == 0


def test_rollback_twice_is_a_no_op(db: db_api.Database) -> None:
    kept = reservations.reserve(db, PROJECT, {"gigabytes": 3}, LIMITS)
    gone = reservations.reserve(db, PROJECT, {"gigabytes": 5}, LIMITS)
    assert reservations.rollback(db, gone) == 1
    assert reservations.rollback(db, gone) == 0
    assert usage_of(db)["gigabytes"] == (0, 3)
    assert reservations.rollback(db, kept) == 1


def test_rollback_of_an_unknown_reservation_changes_nothing(db: db_api.Database) -> None:
    reservations.reserve(db, PROJECT, {"gigabytes": 3}, LIMITS)
    assert reservations.rollback(db, "no-such-reservation") == 0
    assert usage_of(db)["gigabytes"] == (0, 3)


def test_expire_rolls_back_only_expired_reservations(db: db_api.Database) -> None:
    reservations.reserve(db, PROJECT, {"gigabytes": 4}, EXPIRED)
    live = reservations.reserve(db, PROJECT, {"gigabytes": 2}, LIMITS)
    assert reservations.expire_reservations(db) == 1
    assert usage_of(db)["gigabytes"] == (0, 2)
    assert reservations.expire_reservations(db) == 0
    assert reservations.expired_reservation_ids(db) == []
    assert reservations.rollback(db, live) == 1


def test_commit_of_an_expired_reservation_charges_exactly_once(db: db_api.Database) -> None:
    deltas = {"gigabytes": 4}
    reservation = reservations.reserve(db, PROJECT, deltas, EXPIRED)
    assert reservations.expire_reservations(db) == 1
    assert usage_of(db)["gigabytes"] == (0, 0)
    commit(db, reservation, deltas)
    assert usage_of(db)["gigabytes"] == (4, 0)


def test_expiry_after_commit_changes_nothing(db: db_api.Database) -> None:
    deltas = {"gigabytes": 4}
    reservation = reservations.reserve(db, PROJECT, deltas, EXPIRED)
    commit(db, reservation, deltas)
    assert reservations.expire_reservations(db) == 0
    assert usage_of(db)["gigabytes"] == (4, 0)


def test_over_quota_raises_and_leaves_usage_unchanged(db: db_api.Database) -> None:
    reservations.reserve(db, PROJECT, {"gigabytes": 60}, LIMITS)
    before = usage_of(db)
    with pytest.raises(exception.OverQuota) as raised:
        reservations.reserve(db, PROJECT, {"gigabytes": 41}, LIMITS)
    assert raised.value.kwargs == {
        "project_id": PROJECT,
        "resource": "gigabytes",
        "requested": 41,
        "limit": 100,
        "in_use": 0,
        "reserved": 60,
    }
    assert "exceeds the quota" in str(raised.value)
    assert usage_of(db) == before
    assert reservation_rows(db) == 1


def test_the_exact_limit_is_allowed(db: db_api.Database) -> None:
    reservations.reserve(db, PROJECT, {"gigabytes": 60}, LIMITS)
    reservations.reserve(db, PROJECT, {"gigabytes": 40}, LIMITS)
    assert usage_of(db)["gigabytes"] == (0, 100)


def test_charge_over_quota_raises_and_leaves_usage_unchanged(db: db_api.Database) -> None:
    one_volume = quota.DefaultLimits(volumes=1, gigabytes=100, per_type=-1, reservation_expire=60)
    with db.session(write=True) as session:
        quota.charge_in(session, PROJECT, {"volumes": 1}, one_volume)
    with pytest.raises(exception.OverQuota), db.session(write=True) as session:
        quota.charge_in(session, PROJECT, {"volumes": 1}, one_volume)
    assert usage_of(db)["volumes"] == (1, 0)


def test_a_project_limit_overrides_the_default(db: db_api.Database) -> None:
    quota.set_limit(db, PROJECT, "gigabytes", 5)
    with pytest.raises(exception.OverQuota):
        reservations.reserve(db, PROJECT, {"gigabytes": 6}, LIMITS)
    reservations.reserve(db, OTHER, {"gigabytes": 6}, LIMITS)
    assert quota.usage(db, PROJECT, LIMITS)["gigabytes"]["limit"] == 5
    quota.set_limit(db, PROJECT, "gigabytes", 6)
    reservations.reserve(db, PROJECT, {"gigabytes": 6}, LIMITS)


def test_per_type_limits_apply_to_their_type_only(db: db_api.Database) -> None:
    quota.set_limit(db, PROJECT, "gigabytes_gold", 5)
    quota.set_limit(db, PROJECT, "volumes_gold", 1)
    with pytest.raises(exception.OverQuota) as raised:
        reservations.reserve(db, PROJECT, quota.volume_deltas("gold", gigabytes=6), LIMITS)
    assert raised.value.kwargs["resource"] == "gigabytes_gold"
    reservations.reserve(db, PROJECT, quota.volume_deltas("silver", gigabytes=6), LIMITS)
    reservations.reserve(db, PROJECT, quota.volume_deltas("gold", volumes=1), LIMITS)
    with pytest.raises(exception.OverQuota) as raised:
        reservations.reserve(db, PROJECT, quota.volume_deltas("gold", volumes=1), LIMITS)
    assert raised.value.kwargs["resource"] == "volumes_gold"
    assert usage_of(db) == {
        "volumes": (0, 1),
        "volumes_gold": (0, 1),
        "snapshots": (0, 0),
        "gigabytes": (0, 6),
        "gigabytes_silver": (0, 6),
    }


def test_per_type_default_limit(db: db_api.Database) -> None:
    limits = quota.DefaultLimits(volumes=10, gigabytes=100, per_type=2, reservation_expire=60)
    reservations.reserve(db, PROJECT, quota.volume_deltas("gold", gigabytes=2), limits)
    with pytest.raises(exception.OverQuota) as raised:
        reservations.reserve(db, PROJECT, quota.volume_deltas("gold", gigabytes=1), limits)
    assert raised.value.kwargs["resource"] == "gigabytes_gold"


def test_minus_one_means_unlimited(db: db_api.Database) -> None:
    unlimited = quota.DefaultLimits(volumes=-1, gigabytes=-1, per_type=-1, reservation_expire=60)
    huge = quota.volume_deltas("gold", volumes=10**6, gigabytes=10**9)
    reservations.reserve(db, PROJECT, huge, unlimited)
    quota.set_limit(db, PROJECT, "gigabytes", quota.UNLIMITED)
    reservations.reserve(db, PROJECT, {"gigabytes": 10**6}, LIMITS)
    assert usage_of(db)["gigabytes"] == (0, 10**9 + 10**6)


def test_a_zero_limit_allows_nothing(db: db_api.Database) -> None:
    quota.set_limit(db, PROJECT, "volumes", 0)
    with pytest.raises(exception.OverQuota):
        reservations.reserve(db, PROJECT, {"volumes": 1}, LIMITS)


def test_release_never_goes_below_zero(db: db_api.Database) -> None:
    with db.session(write=True) as session:
        quota.charge_in(session, PROJECT, {"gigabytes": 2}, LIMITS)
    with db.session(write=True) as session:
        quota.release_in(session, PROJECT, {"gigabytes": 5})
    assert usage_of(db)["gigabytes"] == (0, 0)


def test_rollback_for_volume_releases_every_open_reservation(db: db_api.Database) -> None:
    reservations.reserve(db, PROJECT, {"gigabytes": 2}, LIMITS, volume_id="vol-1")
    reservations.reserve(db, PROJECT, {"gigabytes": 3}, LIMITS, volume_id="vol-1")
    other = reservations.reserve(db, PROJECT, {"gigabytes": 4}, LIMITS, volume_id="vol-2")
    assert reservations.rollback_for_volume(db, "vol-1") == 2
    assert reservations.reservation_ids_for(db, "vol-1") == []
    assert reservations.reservation_ids_for(db, "vol-2") == [other]
    assert usage_of(db)["gigabytes"] == (0, 4)


def test_usage_lists_every_volume_type_as_cinder_does(db: db_api.Database) -> None:
    types_db.create(db, "gold")
    types_db.create(db, "silver")
    quota.set_limit(db, PROJECT, "gigabytes_gold", 50)
    reservation = reservations.reserve(
        db, PROJECT, quota.volume_deltas("gold", gigabytes=3), LIMITS
    )
    reservations.rollback(db, reservation)
    usage = quota.usage(db, PROJECT, LIMITS)
    assert set(usage) == {
        "volumes",
        "snapshots",
        "gigabytes",
        "volumes_gold",
        "snapshots_gold",
        "gigabytes_gold",
        "volumes_silver",
        "snapshots_silver",
        "gigabytes_silver",
    }
    assert usage["gigabytes_gold"] == {"in_use": 0, "reserved": 0, "limit": 50}
    assert usage["volumes_silver"] == {"in_use": 0, "reserved": 0, "limit": -1}
    assert usage["volumes"] == {"in_use": 0, "reserved": 0, "limit": 10}


def test_reserve_many_checks_each_request_after_those_before_it(db: db_api.Database) -> None:
    quota.set_limit(db, PROJECT, "gigabytes", 10)
    requests = [
        reservations.ReservationRequest(PROJECT, {"gigabytes": 6}, "v1"),
        reservations.ReservationRequest(PROJECT, {"gigabytes": 6}, "v2"),  # 12 > 10
        reservations.ReservationRequest(OTHER, {"gigabytes": 6}, "v3"),
        reservations.ReservationRequest(PROJECT, {"gigabytes": 4}, "v4"),  # 10: fits
    ]
    outcomes = reservations.reserve_many(db, requests, LIMITS)
    assert isinstance(outcomes[1], exception.OverQuota)
    assert outcomes[1].kwargs["reserved"] == 6
    reserved = [o for o in outcomes if isinstance(o, str)]
    assert len(set(reserved)) == 3
    assert usage_of(db)["gigabytes"] == (0, 10)
    assert usage_of(db, OTHER)["gigabytes"] == (0, 6)
    assert reservations.reservation_ids_for(db, "v1") == [outcomes[0]]
    assert reservations.reservation_ids_for(db, "v2") == []


def test_commit_many_moves_each_reservation_into_use(db: db_api.Database) -> None:
    first = reservations.reserve(db, PROJECT, {"gigabytes": 3}, LIMITS)
    second = reservations.reserve(db, OTHER, {"gigabytes": 5}, LIMITS)
    with db.session(write=True) as session:
        reservations.commit_many_in(
            session,
            [
                reservations.Commit(PROJECT, first, {"gigabytes": 3}),
                reservations.Commit(OTHER, second, {"gigabytes": 5}),
            ],
        )
    assert usage_of(db)["gigabytes"] == (3, 0)
    assert usage_of(db, OTHER)["gigabytes"] == (5, 0)
    assert reservation_rows(db) == 0
