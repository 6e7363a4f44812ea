"""Periodic tasks of a service: one line per failure streak step, back-off, recovery line."""

import logging
from typing import Any

import oslo_messaging
import pytest

from volmgr_common import service


def make_service(max_interval: float = 60.0) -> service.Service:
    return service.Service(
        binary="volmgr-test",
        topic="t",
        host="h",
        availability_zone="nova",
        endpoints=[],
        messaging=None,  # type: ignore[arg-type]
        db=None,  # type: ignore[arg-type]
        report_interval=1,
        retry_max_interval=max_interval,
    )


class Flaky:
    """Fails with ``error`` the first ``failures`` calls, then works."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.left = failures
        self.error = error

    def __call__(self) -> None:
        if self.left:
            self.left -= 1
            raise self.error


def run(svc: service.Service, task: service.PeriodicTask, times: int) -> list[float]:
    streak: Any = service._Streak()
    return [svc._run_once(task, streak) for _ in range(times)]


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == service.__name__ and r.levelno == level]


def test_a_failing_report_backs_off_to_the_cap_and_logs_one_line_per_step(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    error = oslo_messaging.MessageDeliveryFailure("no exchange 'volmgr-scheduler_fanout'")
    task = service.PeriodicTask("capabilities", 2, Flaky(10, error), backoff=True)
    waits = run(make_service(max_interval=30), task, 11)
    assert waits == [4, 8, 16, 30, 30, 30, 30, 30, 30, 30, 2]
    warnings = records(caplog, logging.WARNING)
    # Failures 1, 2, 4, 8 (the others within the cap of the last line), then recovery.
    assert [r.getMessage().split(" (")[1].split(" ")[0] for r in warnings] == ["1", "2", "4", "8"]
    assert "MessageDeliveryFailure: no exchange" in warnings[0].getMessage()
    assert "next attempt in 4s" in warnings[0].getMessage()
    assert not any(r.exc_info for r in warnings)  # expected: no traceback
    (info,) = records(caplog, logging.INFO)
    assert info.getMessage() == "Periodic task capabilities works again after 10 failures"


def test_a_task_without_backoff_keeps_its_interval() -> None:
    task = service.PeriodicTask("heartbeat", 1, Flaky(5, oslo_messaging.MessagingException()))
    assert run(make_service(), task, 6) == [1, 1, 1, 1, 1, 1]


def test_an_unexpected_error_logs_its_traceback_once_a_streak(
    caplog: pytest.LogCaptureFixture,
) -> None:
    task = service.PeriodicTask("recovery", 1, Flaky(4, KeyError("volume")))
    run(make_service(), task, 5)
    warnings = records(caplog, logging.WARNING)
    assert len(warnings) == 3  # failures 1, 2 and 4
    assert warnings[0].exc_info
    assert not any(r.exc_info for r in warnings[1:])


def test_jitter_adds_up_to_its_seconds_to_each_wait() -> None:
    task = service.PeriodicTask("audit", 100, lambda: None, run_at_start=False, jitter=30)
    waits = [task.jittered(task.interval) for _ in range(200)]
    assert all(100 <= wait <= 130 for wait in waits)
    assert len({round(wait, 3) for wait in waits}) > 100  # spread, not one fixed delay
    assert service.PeriodicTask("heartbeat", 10, lambda: None).jittered(10) == 10


def test_a_jittered_task_runs_at_the_jittered_times(monkeypatch: pytest.MonkeyPatch) -> None:
    svc = make_service()
    task = service.PeriodicTask("audit", 5, lambda: None, run_at_start=False, jitter=2)
    waited: list[float] = []

    def wait(seconds: float) -> bool:
        waited.append(seconds)
        return len(waited) > 3  # stop after three runs

    monkeypatch.setattr(svc._stop, "wait", wait)
    svc._loop(task)
    assert len(waited) == 4 and all(5 <= seconds <= 7 for seconds in waited)
