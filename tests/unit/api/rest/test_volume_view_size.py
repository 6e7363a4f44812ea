"""The size a volume view shows while and after a manage, as Cinder shows it."""

from typing import Any

import pytest

from volmgr_api.rest.views import volumes as views
from volmgr_common.db import volume_record


@pytest.mark.parametrize(
    ("status", "size", "shown"),
    [
        (volume_record.MANAGING, None, 0),
        (volume_record.MANAGING, 3, 0),  # reported by the backend, not committed yet
        (volume_record.ERROR_MANAGING, None, 0),
        (volume_record.ERROR_MANAGING, 2, 2),
        (volume_record.AVAILABLE, 5, 5),
    ],
)
def test_size_is_zero_until_the_manage_has_it(status: str, size: int | None, shown: int) -> None:
    volume: Any = {"status": status, "size": size}
    assert views.size(volume) == shown
