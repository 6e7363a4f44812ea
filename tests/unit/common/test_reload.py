"""SIGHUP re-reads the config files: mutable options (the log level, the API's limits)
change at once, the others wait for a restart."""

import logging
import os
import signal
import threading
from pathlib import Path

import pytest

from volmgr_common import service
from volmgr_common.conf import startup


def _write(path: Path, debug: bool, limit: int, port: int) -> None:
    path.write_text(
        f"[DEFAULT]\ndebug = {str(debug).lower()}\n"
        f"[api]\nmax_list_limit = {limit}\nbind_port = {port}\n"
    )


def test_reload_applies_mutable_options_and_keeps_the_others(tmp_path: Path) -> None:
    config = tmp_path / "volmgr.conf"
    _write(config, debug=False, limit=1000, port=8776)
    conf = startup.new_conf()
    startup.parse_args(["--config-file", str(config)], conf, "volmgr-test")
    root = logging.getLogger()
    level = root.level
    try:
        assert root.level == logging.INFO
        _write(config, debug=True, limit=5, port=9999)
        startup.reload_mutable(conf)
        assert (conf.debug, conf.api.max_list_limit) == (True, 5)
        assert root.level == logging.DEBUG  # oslo.log applied the new debug at once
        assert conf.api.bind_port == 8776  # not mutable: waits for a restart
        config.write_text("[DEFAULT\nbroken")
        startup.reload_mutable(conf)  # logged; the running values stay
        assert conf.api.max_list_limit == 5
    finally:
        root.setLevel(level)


class Running:
    """A service that records its start and stop."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.stopped = threading.Event()

    def start(self) -> None:
        self.started.set()

    def stop(self) -> None:
        self.stopped.set()


def test_sighup_calls_the_reload_and_the_services_keep_running() -> None:
    reloaded = threading.Event()
    cleaned = threading.Event()
    running = Running()

    def signals() -> None:
        assert running.started.wait(10)  # serve's handlers are in place
        os.kill(os.getpid(), signal.SIGHUP)
        if reloaded.wait(10):
            os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=signals, daemon=True).start()
    service.serve([running], cleaned.set, on_reload=reloaded.set)  # type: ignore[list-item]
    assert reloaded.is_set() and running.stopped.is_set() and cleaned.is_set()
    assert signal.getsignal(signal.SIGTERM) == previous  # handlers given back


def test_a_cleanup_that_never_returns_does_not_keep_the_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A transport close stuck in a broker read is given up after the stop timeout."""
    running = Running()
    never = threading.Event()
    sigterm_once_started(running)
    with caplog.at_level(logging.WARNING):
        stopped = service.serve([running], never.wait, stop_timeout=0.2)  # type: ignore[list-item]
    assert not stopped
    assert running.stopped.is_set()
    assert "exiting without waiting" in caplog.text


def sigterm_once_started(running: Running) -> None:
    """SIGTERM this process from a thread as soon as ``running`` has started."""

    def stop_soon() -> None:
        assert running.started.wait(10)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_soon, daemon=True).start()


class StuckStopping(Running):
    """A service whose stop never returns, as an RPC server's wait in a reconnect loop."""

    def stop(self) -> None:
        self.stopped.set()
        threading.Event().wait()


def test_stopping_services_and_cleanup_share_one_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stuck = StuckStopping()
    cleaned = threading.Event()
    sigterm_once_started(stuck)
    with caplog.at_level(logging.WARNING):
        stopped = service.serve([stuck], cleaned.set, stop_timeout=0.3)  # type: ignore[list-item]
    assert not stopped and stuck.stopped.is_set()
    assert not cleaned.is_set()  # the budget was spent in the service's stop
    assert "graceful_shutdown_timeout" in caplog.text


class FailingStop(Running):
    def stop(self) -> None:
        raise RuntimeError("the listener would not close")


def test_an_error_while_stopping_reaches_the_caller() -> None:
    failing = FailingStop()
    sigterm_once_started(failing)
    with pytest.raises(RuntimeError, match="would not close"):
        service.serve([failing], lambda: None, stop_timeout=5)  # type: ignore[list-item]
