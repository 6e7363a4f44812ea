"""Microversion parsing and negotiation of the OpenStack-API-Version header."""

import pytest

from volmgr_api.rest import microversion
from volmgr_api.rest.microversion import APIVersion


def test_absent_header_is_the_minimum() -> None:
    assert microversion.negotiate(None) == "3.0"
    assert microversion.negotiate("") == "3.0"


def test_version_is_read_from_the_volume_service() -> None:
    assert microversion.negotiate("volume 3.8") == "3.8"
    assert microversion.negotiate("compute 2.1, volume 3.12") == "3.12"
    assert microversion.negotiate("VOLUME 3.3") == "3.3"


def test_header_for_another_service_only_is_the_minimum() -> None:
    assert microversion.negotiate("compute 2.90") == microversion.MIN


def test_latest_is_the_maximum() -> None:
    assert microversion.negotiate("volume latest") == microversion.MAX
    assert str(microversion.MAX) == "3.71"


@pytest.mark.parametrize(
    "text", ["volume 3", "volume 3.x", "volume 03.1", "volume 3.01", "volume -"]
)
def test_malformed_version_is_invalid(text: str) -> None:
    with pytest.raises(microversion.InvalidVersion):
        microversion.negotiate(text)


@pytest.mark.parametrize("text", ["volume 2.0", "volume 3.72", "volume 4.0", "volume 3.100"])
def test_version_out_of_range_is_unsupported(text: str) -> None:
    with pytest.raises(
        microversion.UnsupportedVersion, match=r"Minimum is 3\.0 and maximum is 3\.71"
    ):
        microversion.negotiate(text)


def test_versions_compare_numerically() -> None:
    assert APIVersion.parse("3.10") > APIVersion.parse("3.9")
    assert APIVersion.parse("3.10").matches("3.8")
    assert not APIVersion.parse("3.7").matches("3.8")
    assert APIVersion.parse("3.5").matches("3.3", "3.5")
    assert not APIVersion.parse("3.6").matches("3.3", "3.5")
    assert len({APIVersion.parse("3.1"), APIVersion(3, 1)}) == 1
