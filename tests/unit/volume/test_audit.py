"""What an audit writes for each finding (appears, changes, persists, clears), and the
fake driver's audit of what it holds."""

from pathlib import Path

from tests.driver_support import make_conf, vol
from volmgr_common import drift
from volmgr_volume.audit import AuditSummary, change_for
from volmgr_volume.drivers import load_driver

NOW, EARLIER = "2026-12-02T17:00:00", "2026-12-02T16:00:00"
RESIZED = drift.Drift(drift.RESIZED, {"size_bytes": 1}, {"size_bytes": 2})


def audited(stored: dict | None = None, **fields: object) -> drift.AuditedVolume:
    values: dict = {
        "id": "v1",
        "managed_name": "volume-v1",
        "identity": "fake:disk1",
        "size_gib": 1,
        "size_bytes": None,
        "reference_json": '{"source-name": "disk1"}',
        "original_name": "disk1",
        "drift": stored,
    }
    values.update(fields)
    return drift.AuditedVolume(**values)


def test_nothing_found_and_nothing_stored_writes_nothing() -> None:
    assert change_for(audited(), None, NOW) is None


def test_a_new_drift_is_detected_since_now() -> None:
    change = change_for(audited(), RESIZED, NOW)
    assert change is not None and change.event == drift.DETECTED
    assert change.record == RESIZED.record(NOW) and change.previous_kind is None


def test_a_drift_that_persists_as_it_was_writes_nothing() -> None:
    assert change_for(audited(RESIZED.record(EARLIER)), RESIZED, NOW) is None


def test_a_drift_whose_details_change_keeps_its_since() -> None:
    grown = drift.Drift(drift.RESIZED, {"size_bytes": 1}, {"size_bytes": 3})
    change = change_for(audited(RESIZED.record(EARLIER)), grown, NOW)
    assert change is not None and change.event == drift.CHANGED
    assert change.record == grown.record(EARLIER)


def test_a_drift_of_another_kind_is_detected_anew() -> None:
    missing = drift.Drift(drift.MISSING, {}, {})
    change = change_for(audited(RESIZED.record(EARLIER)), missing, NOW)
    assert change is not None and change.event == drift.DETECTED
    assert (change.previous_kind, change.record) == (drift.RESIZED, missing.record(NOW))


def test_a_drift_that_went_away_is_cleared() -> None:
    change = change_for(audited(RESIZED.record(EARLIER)), None, NOW)
    assert change is not None and change.event == drift.CLEARED
    assert (change.previous_kind, change.record) == (drift.RESIZED, None)


def test_a_summary_counts_every_drift_and_lists_them() -> None:
    summary = AuditSummary("h@b")
    for n in range(3):
        summary.count(audited(id=f"v{n}"), RESIZED if n else None)
    values = summary.as_dict()
    assert (values["checked"], values["drifted"], values["kinds"]) == (3, 2, {"resized": 2})
    assert [d["volume_id"] for d in values["drifts"]] == ["v1", "v2"]
    assert values["drifts_truncated"] is False


def test_the_fake_driver_audits_what_it_holds(tmp_path: Path) -> None:
    driver = load_driver(make_conf(tmp_path, volume__volume_driver="fake"))
    reference = {"source-name": "disk1", "size_gb": 2}
    driver.manage(vol("v1"), reference)
    volume = audited(managed_name=driver.managed_name("v1"), size_gib=2)
    with driver.start_audit() as reading:
        assert reading.check(volume) is None
        found = reading.check(audited(managed_name=driver.managed_name("v1"), size_gib=3))
        assert found is not None and found.kind == drift.RESIZED
    driver.unmanage(vol("v1"))
    with driver.start_audit() as reading:
        found = reading.check(volume)
    assert found is not None and found.kind == drift.MISSING
