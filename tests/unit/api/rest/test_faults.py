"""How errors become Cinder-shaped HTTP answers (volmgr_api.rest.faults)."""

import json

import oslo_messaging as messaging
import pytest

from volmgr_api.rest import faults
from volmgr_common import exception


def answer(error: BaseException) -> tuple[int, dict]:
    response = faults.fault_response(faults.from_exception(error, "req-1"))
    return response.status_int, json.loads(response.body)


@pytest.mark.parametrize(
    ("error", "code", "name"),
    [
        (exception.InvalidInput(reason="bad"), 400, "badRequest"),
        (exception.VolumeNotFound(volume_id="v1"), 404, "itemNotFound"),
        (exception.NotAuthorized(), 403, "forbidden"),
        (exception.ManageExistingAlreadyManaged(ref={}, host="h", volume_id="v"), 409, None),
        (exception.DatabaseUnavailable(attempts=11), 503, "serviceUnavailable"),
    ],
)
def test_volmgr_errors_keep_their_code_and_message(
    error: exception.VolmgrException, code: int, name: str | None
) -> None:
    status, body = answer(error)
    assert status == code
    [(key, fault)] = body.items()
    assert key == (name or faults.FAULT_NAMES[code])
    assert fault == {"code": code, "message": str(error)}


def test_a_database_that_does_not_answer_is_a_503_that_says_so() -> None:
    status, body = answer(exception.DatabaseUnavailable(attempts=11))
    assert status == 503
    assert "11 attempts" in body["serviceUnavailable"]["message"]
    assert "try again later" in body["serviceUnavailable"]["message"]


def test_a_service_that_does_not_answer_in_time_is_a_503() -> None:
    status, body = answer(messaging.MessagingTimeout("no reply"))
    assert status == 503
    assert "did not answer in time" in body["serviceUnavailable"]["message"]


def test_an_unexpected_error_is_a_500_that_shows_nothing_of_it() -> None:
    status, body = answer(RuntimeError("password=hunter2 at /secret/path"))
    assert status == 500
    message = body["computeFault"]["message"]
    assert "req-1" in message
    assert "hunter2" not in message and "/secret" not in message


def test_a_message_bus_that_is_away_is_a_503() -> None:
    status, body = answer(exception.MessagingUnavailable(reason="a message could not be sent"))
    assert status == 503
    assert "message bus is unavailable" in body["serviceUnavailable"]["message"]
    status, body = answer(messaging.MessageDeliveryFailure("Unable to connect to AMQP server"))
    assert status == 503
    assert "AMQP" not in body["serviceUnavailable"]["message"]


def test_a_driver_error_is_a_500_that_names_only_the_request() -> None:
    status, body = answer(exception.VolumeDriverException(reason="cannot open /srv/volmgr/files"))
    assert status == 500
    message = body["computeFault"]["message"]
    assert "req-1" in message and "/srv" not in message and "driver" not in message


def test_server_paths_in_a_message_become_a_placeholder() -> None:
    error = exception.ManageExistingInvalidReference(
        ref={"source-name": "a.img"}, reason="no file 'a.img' exists in /srv/volmgr/files"
    )
    status, body = answer(error)
    assert status == 400
    assert body["badRequest"]["message"].endswith("no file 'a.img' exists in <path>")
    assert faults.ABSOLUTE_PATH.findall("see http://x/y/z and a/b/c") == []


def test_nothing_after_the_first_line_is_answered() -> None:
    error = exception.InvalidInput(reason="marker 'm' not found")
    error.msg += '\nTraceback (most recent call last):\n  File "/x.py", line 1'
    assert answer(error) == (
        400,
        {"badRequest": {"code": 400, "message": "Invalid input: marker 'm' not found"}},
    )
    response = faults.fault_response(faults.HTTPError(400, "first\nsecond"))
    assert json.loads(response.body) == {"badRequest": {"code": 400, "message": "first"}}
