"""``fingerprint_changes``: what changed between a plan's fingerprint and the backend's."""

from volmgr_volume.drivers.base import fingerprint, fingerprint_changes

PLANNED = fingerprint("disk", 1024, "8:17", None, mtime_ns=5)


def test_the_same_fingerprint_has_no_changes() -> None:
    assert fingerprint_changes(PLANNED, dict(PLANNED)) == {}


def test_each_changed_key_is_listed_with_both_values() -> None:
    current = fingerprint("disk", 2048, "8:17", "the LV is open", mtime_ns=6)
    assert fingerprint_changes(PLANNED, current) == {
        "size_bytes": {"planned": 1024, "current": 2048},
        "reason_not_safe": {"planned": None, "current": "the LV is open"},
        "mtime_ns": {"planned": 5, "current": 6},
    }


def test_a_key_only_one_side_has_counts_as_none() -> None:
    current = fingerprint("disk", 1024, "8:17", None)
    assert fingerprint_changes(PLANNED, current) == {"mtime_ns": {"planned": 5, "current": None}}


def test_an_object_gone_changes_every_planned_value_to_none() -> None:
    changes = fingerprint_changes(PLANNED, None)
    assert changes["name"] == {"planned": "disk", "current": None}
    assert changes["identity"] == {"planned": "8:17", "current": None}
    assert "reason_not_safe" not in changes  # None before and after
