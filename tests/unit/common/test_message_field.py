"""User message ids and words as Cinder builds them (volmgr_common.message_field)."""

import pytest

from volmgr_common import exception, message_field
from volmgr_common.message_field import Action, Detail


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (exception.NoValidBackend(reason="x"), Detail.NO_BACKEND_AVAILABLE),
        (exception.OverQuota(requested=1, resource="gigabytes"), Detail.QUOTA_EXCEED),
        (exception.ManageExistingInvalidReference(ref={}, reason="x"), Detail.INVALID_REFERENCE),
        (
            exception.ManageExistingAlreadyManaged(ref={}, host="h", volume_id="v"),
            Detail.ALREADY_MANAGED,
        ),
        (exception.VolumeDriverException(reason="/srv/x"), Detail.DRIVER_FAILED_MANAGE),
        (exception.ServiceUnavailable(host="h", reason="x"), Detail.SERVICE_UNAVAILABLE),
        (
            exception.SnapshotsNotSupported(backend="h@files", reason="x"),
            Detail.SNAPSHOTS_NOT_SUPPORTED,
        ),
        (RuntimeError("boom"), Detail.UNKNOWN_ERROR),
        (None, Detail.UNKNOWN_ERROR),
    ],
)
def test_each_failure_has_its_detail(
    error: BaseException | None, detail: message_field.Field
) -> None:
    assert message_field.detail_for(error) is detail
    assert message_field.detail_by_id(detail.id) is detail


def test_event_id_and_words_are_cinders_form() -> None:
    detail = Detail.NO_BACKEND_AVAILABLE
    assert message_field.event_id(Action.MANAGE_EXISTING, detail) == "VOLUME_VOLUME_901_003"
    assert message_field.user_message(Action.MANAGE_EXISTING, detail) == (
        "manage existing volume: Could not find any available weighted backend."
    )
    assert message_field.detail_by_id("999") is Detail.UNKNOWN_ERROR
    assert message_field.detail_by_id(None) is Detail.UNKNOWN_ERROR


def test_ids_are_unique() -> None:
    assert len({d.id for d in Detail.ALL}) == len(Detail.ALL)
    assert len({a.id for a in Action.ALL}) == len(Action.ALL)
