"""Unit tests of the in-memory fake driver: its objects, idempotency and injections."""

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from volmgr_common import conf as volmgr_conf
from volmgr_common import exception
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers import fake, load_driver
from volmgr_volume.drivers.fake import STEPS, FakeDriver

VOLUME_ID = "11111111-2222-3333-4444-555555555555"
OTHER_ID = "66666666-7777-8888-9999-aaaaaaaaaaaa"
MANAGED = f"volume-{VOLUME_ID}"
NEEDS_MANAGE = ("undo_manage", "unmanage")


def make_conf(tmp_path: Path, **overrides: Any) -> cfg.ConfigOpts:
    """A fresh config; ``group__name=value`` overrides an option of a group."""
    conf = cfg.ConfigOpts()
    volmgr_conf.register_opts(conf)
    conf([], project="volmgr", default_config_files=[])
    clear_overrides(conf)
    conf.set_override("state_path", str(tmp_path))
    conf.set_override("directory", str(tmp_path / "files"), group="file_backend")
    conf.set_override("volume_driver", "fake", group="volume")
    for key, value in overrides.items():
        group, separator, name = key.partition("__")
        conf.set_override(name, value, group=group if separator else None)
    return conf


def clear_overrides(conf: cfg.ConfigOpts) -> None:
    """Undo overrides left by earlier tests.

    oslo.config only shallow-copies a registered OptGroup, so every ConfigOpts that
    registers the module-level groups of volmgr_common.conf shares their overrides.
    """
    for group, opts in volmgr_conf.list_opts():
        for opt in opts:
            conf.clear_override(opt.dest, group=group)
            conf.clear_default(opt.dest, group=group)


def make_driver(tmp_path: Path, **overrides: Any) -> FakeDriver:
    driver = FakeDriver(make_conf(tmp_path, **overrides))
    driver.do_setup()
    return driver


@pytest.fixture
def driver(tmp_path: Path) -> FakeDriver:
    return make_driver(tmp_path)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the fake driver's sleeps instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(fake.time, "sleep", recorded.append)
    return recorded


def vol(volume_id: str = VOLUME_ID) -> dict[str, Any]:
    return {"id": volume_id}


def ref(name: str = "disk", **extra: Any) -> dict[str, Any]:
    return {"source-name": name, **extra}


def run_step(driver: FakeDriver, step: str, reference: dict[str, Any]) -> Any:
    """Call the driver method of ``step`` (managing first where the step needs it)."""
    if step in NEEDS_MANAGE:
        driver.manage(vol(), reference)
    if step == "unmanage":
        return driver.unmanage(dict(vol(), provider_location=MANAGED))
    if step == "list":
        return driver.list_manageable({}, PageRequest(limit=10, sort=(("reference", "asc"),)))
    return getattr(driver, step)(vol(), reference)


# -- objects and sizes ----------------------------------------------------------------


def test_load_driver_alias(tmp_path: Path) -> None:
    assert isinstance(load_driver(make_conf(tmp_path)), FakeDriver)


def test_get_size_defaults_to_the_configured_object_size(tmp_path: Path) -> None:
    assert make_driver(tmp_path).get_size(vol(), ref()) == 1
    assert make_driver(tmp_path, fake_backend__object_size_gb=7).get_size(vol(), ref()) == 7


def test_get_size_from_the_reference(driver: FakeDriver) -> None:
    assert driver.get_size(vol(), ref(size_gb=5)) == 5
    assert driver.get_size(vol(), ref(size_gb=0)) == 0


def test_get_size_accepts_the_injection_keys(driver: FakeDriver, sleeps: list[float]) -> None:
    reference = ref(size_gb=3, **{"fake-fail-at": "manage", "fake-delay": 0.5})
    assert driver.get_size(vol(), reference) == 3
    assert sleeps == [0.5]


def test_get_size_after_manage_reports_the_managed_object(driver: FakeDriver) -> None:
    driver.manage(vol(), ref(size_gb=4))
    assert driver.get_size(vol(), ref(size_gb=4)) == 4


def test_missing_objects_do_not_exist(driver: FakeDriver) -> None:
    for call in (driver.get_size, driver.manage):
        with pytest.raises(exception.ManageExistingInvalidReference, match="does not exist"):
            call(vol(), ref("missing-disk"))


@pytest.mark.parametrize(
    ("reference", "cause"),
    [
        ("disk", "must be a dict"),
        ({"name": "disk"}, "must be a dict with 'source-name'"),
        (ref(""), "non-empty string"),
        ({"source-name": 3}, "non-empty string"),
        (ref(colour="red"), "unexpected keys"),
        (ref(size_gb=-1), "size_gb"),
        (ref(size_gb="2"), "size_gb"),
        (ref(size_gb=True), "size_gb"),
        (ref(**{"fake-fail-at": "everywhere"}), "fake-fail-at"),
        (ref(**{"fake-delay": -1}), "fake-delay"),
        (ref(**{"fake-delay": "1"}), "fake-delay"),
    ],
)
def test_invalid_references(driver: FakeDriver, reference: Any, cause: str) -> None:
    for call in (driver.get_size, driver.manage, driver.undo_manage):
        with pytest.raises(exception.ManageExistingInvalidReference) as caught:
            call(vol(), reference)
        assert cause in caught.value.kwargs["reason"]


# -- manage, undo_manage, unmanage ----------------------------------------------------


def test_manage_returns_the_managed_name_and_is_idempotent(driver: FakeDriver) -> None:
    assert driver.manage(vol(), ref()) == MANAGED
    assert driver.manage(vol(), ref()) == MANAGED
    assert len(driver.list_manageable({}, PageRequest(limit=10, sort=(("reference", "asc"),)))) == 1


def test_manage_of_an_object_managed_by_another_volume(driver: FakeDriver) -> None:
    driver.manage(vol(), ref())
    with pytest.raises(exception.VolumeDriverException, match="already managed as"):
        driver.manage(vol(OTHER_ID), ref())


def test_manage_of_another_object_by_the_same_volume(driver: FakeDriver) -> None:
    driver.manage(vol(), ref("one"))
    with pytest.raises(exception.VolumeDriverException, match="already holds"):
        driver.manage(vol(), ref("two"))


def test_undo_manage_frees_the_object_and_is_idempotent(driver: FakeDriver) -> None:
    driver.manage(vol(), ref())
    driver.undo_manage(vol(), ref())
    driver.undo_manage(vol(), ref())
    assert driver.manage(vol(OTHER_ID), ref()) == f"volume-{OTHER_ID}"


def test_undo_manage_of_another_object_is_refused(driver: FakeDriver) -> None:
    driver.manage(vol(), ref("one"))
    with pytest.raises(exception.VolumeDriverException, match="holds 'one'"):
        driver.undo_manage(vol(), ref("two"))
    assert driver.get_capabilities()["pools"][0]["allocated_capacity_gb"] == 1


def test_unmanage_forgets_the_object(driver: FakeDriver) -> None:
    driver.manage(vol(), ref())
    driver.unmanage(dict(vol(), provider_location=MANAGED))
    driver.unmanage(vol(OTHER_ID))
    assert driver.list_manageable({}, PageRequest(limit=10, sort=(("reference", "asc"),))) == []
    assert driver.manage(vol(OTHER_ID), ref()) == f"volume-{OTHER_ID}"


def test_instances_do_not_share_state(tmp_path: Path) -> None:
    first, second = make_driver(tmp_path), make_driver(tmp_path)
    first.manage(vol(), ref())
    assert second.manage(vol(OTHER_ID), ref()) == f"volume-{OTHER_ID}"


def test_concurrent_manage_of_one_object_succeeds_once(driver: FakeDriver) -> None:
    results: list[Any] = []
    barrier = threading.Barrier(8)

    def run() -> None:
        barrier.wait()
        try:
            results.append(driver.manage(vol(str(uuid.uuid4())), ref()))
        except exception.VolumeDriverException as error:
            results.append(error)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(result, str) for result in results) == 1
    assert len(results) == 8


# -- injected failures and delays ----------------------------------------------------


@pytest.mark.parametrize("step", STEPS)
def test_configured_failure_at_each_step(tmp_path: Path, step: str) -> None:
    driver = make_driver(tmp_path, fake_backend__fail_at=step)
    with pytest.raises(exception.VolumeDriverException, match=f"fake failure injected at {step}$"):
        run_step(driver, step, ref())
    for other in STEPS:
        if other != step and not (step == "manage" and other in NEEDS_MANAGE):
            run_step(make_driver(tmp_path, fake_backend__fail_at=step), other, ref())


@pytest.mark.parametrize("step", STEPS[:4])
def test_per_reference_failure_at_each_step(driver: FakeDriver, step: str) -> None:
    with pytest.raises(exception.VolumeDriverException, match=f"injected at {step}$"):
        run_step(driver, step, ref("bad", **{"fake-fail-at": step}))
    assert driver.manage(vol(OTHER_ID), ref("good")) == f"volume-{OTHER_ID}"


def test_per_reference_failure_applies_to_its_step_only(driver: FakeDriver) -> None:
    reference = ref(**{"fake-fail-at": "undo_manage"})
    assert driver.get_size(vol(), reference) == 1
    assert driver.manage(vol(), reference) == MANAGED
    with pytest.raises(exception.VolumeDriverException, match="undo_manage"):
        driver.undo_manage(vol(), reference)


@pytest.mark.parametrize("step", STEPS)
def test_configured_delay_at_each_step(tmp_path: Path, sleeps: list[float], step: str) -> None:
    driver = make_driver(tmp_path, fake_backend__delay=0.25)
    run_step(driver, step, ref())
    assert sleeps and set(sleeps) == {0.25}


def test_delays_add_up_and_come_before_the_failure(tmp_path: Path, sleeps: list[float]) -> None:
    driver = make_driver(tmp_path, fake_backend__delay=0.5)
    with pytest.raises(exception.VolumeDriverException):
        driver.manage(vol(), ref(**{"fake-delay": 0.25, "fake-fail-at": "manage"}))
    assert sleeps == [0.75]


def test_no_delay_by_default(tmp_path: Path, sleeps: list[float]) -> None:
    for step in STEPS:
        run_step(make_driver(tmp_path), step, ref())
    assert sleeps == []


# -- listing and capabilities ---------------------------------------------------------


@pytest.fixture
def managed_three(driver: FakeDriver) -> dict[str, str]:
    """Three managed volumes of 3, 1 and 2 GiB; returns managed name -> volume id."""
    ids = {
        "c": "00000000-0000-0000-0000-00000000000c",
        "a": "00000000-0000-0000-0000-00000000000a",
        "b": "00000000-0000-0000-0000-00000000000b",
    }
    sizes = {"c": 3, "a": 1, "b": 2}
    for name, volume_id in ids.items():
        driver.manage(vol(volume_id), ref(name, size_gb=sizes[name]))
    return {f"volume-{volume_id}": volume_id for volume_id in ids.values()}


def _names(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["reference"]["source-name"] for entry in entries]


def test_list_manageable_lists_managed_objects(
    driver: FakeDriver, managed_three: dict[str, str]
) -> None:
    entries = driver.list_manageable(
        managed_three, PageRequest(limit=10, sort=(("reference", "asc"),))
    )
    assert _names(entries) == sorted(managed_three)
    for entry in entries:
        assert entry["safe_to_manage"] is False
        assert entry["reason_not_safe"] == "already managed"
        assert entry["cinder_id"] == managed_three[entry["reference"]["source-name"]]
        assert entry["extra_info"] is None


def test_list_manageable_sorts_and_pages(driver: FakeDriver, managed_three: dict[str, str]) -> None:
    by_size = driver.list_manageable(managed_three, PageRequest(limit=10, sort=(("size", "desc"),)))
    assert [entry["size"] for entry in by_size] == [3, 2, 1]
    names = _names(by_size)
    assert (
        _names(
            driver.list_manageable(
                {}, PageRequest(marker=names[0], limit=1, sort=(("size", "desc"),))
            )
        )
        == names[1:2]
    )
    assert (
        _names(driver.list_manageable({}, PageRequest(limit=1, offset=2, sort=(("size", "desc"),))))
        == names[2:]
    )
    with pytest.raises(exception.InvalidInput):
        driver.list_manageable(
            {}, PageRequest(marker="volume-unknown", limit=1, sort=(("size", "desc"),))
        )


def test_capabilities(tmp_path: Path) -> None:
    driver = make_driver(tmp_path, fake_backend__pool_name="p1", fake_backend__total_capacity_gb=10)
    driver.manage(vol(), ref(size_gb=4))
    caps = driver.get_capabilities()
    assert caps["backend_name"] == "files"
    assert caps["storage_protocol"] == "fake"
    assert (caps["vendor_name"], caps["driver_version"]) == ("volmgr", "1.0")
    assert caps["pools"] == [
        {
            "pool_name": "p1",
            "total_capacity_gb": 10,
            "free_capacity_gb": 6,
            "allocated_capacity_gb": 4,
            "reserved_percentage": 0,
            "thin_provisioning_support": False,
        }
    ]


def test_fingerprints_name_every_object_but_missing_ones(tmp_path: Path) -> None:
    driver = load_driver(make_conf(tmp_path, fake_backend__object_size_gb=2))
    found = driver.fingerprints(["disk", "missing-one"])
    assert found == {
        "disk": {
            "name": "disk",
            "size_bytes": 2 * 1024**3,
            "identity": "fake:disk",
            "reason_not_safe": None,
        }
    }


def test_fingerprints_without_names_are_the_managed_objects(tmp_path: Path) -> None:
    driver = load_driver(make_conf(tmp_path))
    driver.manage({"id": VOLUME_ID}, {"source-name": "disk", "size_gb": 3})
    found = driver.fingerprints()
    assert list(found) == ["disk"]
    assert found["disk"]["size_bytes"] == 3 * 1024**3
    assert found["disk"]["reason_not_safe"] == "already managed"
