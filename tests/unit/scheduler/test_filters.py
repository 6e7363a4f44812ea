"""Unit tests of the scheduler's backend filters: who passes, who is rejected and why."""

from typing import Any

import pytest
from oslo_config import cfg

from volmgr_common.manage_request import RequestSpec
from volmgr_scheduler import filters
from volmgr_scheduler.filters.availability_zone import AvailabilityZoneFilter
from volmgr_scheduler.filters.capabilities import CapabilitiesFilter, matches
from volmgr_scheduler.filters.capacity import CapacityFilter
from volmgr_scheduler.filters.service_up import ServiceUpFilter
from volmgr_scheduler.host_manager import PoolState


def pool(
    up: bool = True, disabled: bool = False, zone: str = "nova", **capabilities: Any
) -> PoolState:
    caps = {"total_capacity_gb": 100.0, "free_capacity_gb": 50.0, "reserved_percentage": 0}
    caps.update(capabilities)
    return PoolState(
        backend="node1@files",
        pool_name="default",
        availability_zone=zone,
        service_up=up,
        service_disabled=disabled,
        capabilities=caps,
    )


def spec(**values: Any) -> RequestSpec:
    request = {"host": "node1@files", "availability_zone": "nova", "extra_specs": {}, "size": None}
    request.update(values)
    return RequestSpec.from_wire(request)  # as a cast carries it


def test_pool_host_names_backend_and_pool() -> None:
    assert pool().host == "node1@files#default"


def test_load_filters_in_the_order_given() -> None:
    loaded = filters.load_filters(["CapacityFilter", "ServiceUpFilter"])
    assert [type(f) for f in loaded] == [CapacityFilter, ServiceUpFilter]


def test_load_filters_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="NoSuchFilter"):
        filters.load_filters(["ServiceUpFilter", "NoSuchFilter"])


def test_default_filters_are_all_known(conf: cfg.ConfigOpts) -> None:
    names = conf.scheduler.enabled_filters
    assert len(filters.load_filters(names)) == len(names) == 4


# -- ServiceUpFilter -------------------------------------------------------------------


def test_service_up_passes_a_running_service() -> None:
    assert ServiceUpFilter().rejects(pool(), spec()) is None


def test_service_up_rejects_a_down_service() -> None:
    reason = ServiceUpFilter().rejects(pool(up=False), spec())
    assert reason == "the volume service of node1@files is down (no recent heartbeat)"


def test_service_up_rejects_a_disabled_service() -> None:
    reason = ServiceUpFilter().rejects(pool(disabled=True), spec())
    assert reason == "the volume service of node1@files is disabled"


# -- AvailabilityZoneFilter ------------------------------------------------------------


def test_zone_passes_the_same_zone_or_none_asked() -> None:
    assert AvailabilityZoneFilter().rejects(pool(zone="az1"), spec(availability_zone="az1")) is None
    assert AvailabilityZoneFilter().rejects(pool(zone="az1"), spec(availability_zone=None)) is None


def test_zone_rejects_another_zone() -> None:
    reason = AvailabilityZoneFilter().rejects(pool(zone="az1"), spec(availability_zone="az2"))
    assert reason == "node1@files#default is in zone 'az1', not 'az2'"


# -- CapabilitiesFilter ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("capability", "requirement", "expected"),
    [
        (True, "<is> True", True),
        ("true", "<is> True", True),
        (False, "<is> True", False),
        (False, "<is> False", True),
        ("thin,thick", "<in> thick", True),
        ("thin", "<in> thick", False),
        ("iSCSI", "<or> FC <or> iSCSI", True),
        ("NFS", "<or> FC <or> iSCSI", False),
        ("iSCSI", "s== iSCSI", True),
        ("iscsi", "s== iSCSI", False),
        (10, "== 10", True),
        ("10.0", "== 10", True),
        (11, "== 10", False),
        (11, "!= 10", True),
        (10, "!= 10", False),
        (10, ">= 10", True),
        (9.5, ">= 10", False),
        (10, "<= 10", True),
        (10.5, "<= 10", False),
        ("many", ">= 10", False),
        (None, "== 10", False),
        ("file", "file", True),
        ("file", "lvm", False),
        (1.0, "1.0", True),
        ("", "", True),
    ],
)
def test_capability_operators(capability: Any, requirement: str, expected: bool) -> None:
    assert matches(capability, requirement) is expected


def test_capabilities_pass_without_extra_specs() -> None:
    assert CapabilitiesFilter().rejects(pool(), spec(extra_specs={})) is None
    assert CapabilitiesFilter().rejects(pool(), spec(extra_specs=None)) is None


def test_capabilities_pass_when_every_spec_matches() -> None:
    specs = {"storage_protocol": "file", "capabilities:free_capacity_gb": ">= 10"}
    assert (
        CapabilitiesFilter().rejects(pool(storage_protocol="file"), spec(extra_specs=specs)) is None
    )


def test_capabilities_reject_a_capability_not_reported() -> None:
    reason = CapabilitiesFilter().rejects(pool(), spec(extra_specs={"replication": "<is> True"}))
    assert reason == (
        "node1@files#default does not report 'replication' required by the volume type"
    )


def test_capabilities_reject_a_value_that_does_not_match() -> None:
    reason = CapabilitiesFilter().rejects(
        pool(storage_protocol="file"),
        spec(extra_specs={"capabilities:storage_protocol": "<or> iSCSI <or> FC"}),
    )
    assert reason == (
        "node1@files#default has storage_protocol='file', the volume type requires "
        "'<or> iSCSI <or> FC'"
    )


def test_capabilities_ignore_other_scopes() -> None:
    specs = {"qos:read_iops": "100", "hw:cpu": "x"}
    assert CapabilitiesFilter().rejects(pool(), spec(extra_specs=specs)) is None


# -- CapacityFilter --------------------------------------------------------------------


def test_capacity_passes_free_space() -> None:
    assert CapacityFilter().rejects(pool(), spec()) is None
    assert CapacityFilter().rejects(pool(), spec(size=50)) is None


def test_capacity_rejects_a_pool_reporting_no_capacity() -> None:
    bare = pool()
    del bare.capabilities["free_capacity_gb"]
    assert CapacityFilter().rejects(bare, spec()) == "node1@files#default reports no capacity"


@pytest.mark.parametrize("value", ["unknown", "infinite"])
def test_capacity_passes_unknown_or_infinite(value: str) -> None:
    assert CapacityFilter().rejects(pool(free_capacity_gb=value), spec(size=10**6)) is None
    assert CapacityFilter().rejects(pool(total_capacity_gb=value), spec(size=10**6)) is None


def test_capacity_keeps_the_reserved_percentage_free() -> None:
    # 20 % of 100 GiB is reserved: 50 free leaves 30 to give.
    reserved = pool(reserved_percentage=20)
    assert CapacityFilter().rejects(reserved, spec(size=30)) is None
    reason = CapacityFilter().rejects(reserved, spec(size=31))
    assert reason == (
        "node1@files#default has 50.0 GiB free with 20.0 GiB reserved, "
        "less than the 31 GiB asked for"
    )


def test_capacity_rejects_a_full_pool_even_for_an_unknown_size() -> None:
    full = pool(free_capacity_gb=5.0, reserved_percentage=10)
    assert CapacityFilter().rejects(full, spec(size=None)) is not None
    assert CapacityFilter().rejects(pool(free_capacity_gb=0), spec(size=None)) is None
