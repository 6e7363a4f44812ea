"""gunicorn serving ``volmgr_api.wsgi`` as a process, and plain HTTP requests to it."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.local_files import free_port
from volmgr_api import wsgi

START_SECONDS = 90.0  # two workers import volmgr on a busy 2-core machine


def request(
    url: str, method: str = "GET", headers: dict[str, str] | None = None, body: Any = None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one HTTP request (error statuses included)."""
    data = json.dumps(body).encode() if body is not None else None
    sent = {**(headers or {}), **({"Content-Type": "application/json"} if data else {})}
    req = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _wait_serving(url: str, process: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited at start:\n{output.read_text()[-3000:]}")
        try:
            request(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not serve {url} within {START_SECONDS}s")


@contextmanager
def gunicorn(config_file: Path, output: Path, workers: int = 2) -> Iterator[str]:
    """gunicorn serving ``volmgr_api.wsgi:init_application()`` with ``config_file``;
    yields its base URL; stops it with SIGTERM and checks it exited 0."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *("--workers", str(workers), "--threads", "2", "--bind", f"127.0.0.1:{port}"),
        "volmgr_api.wsgi:init_application()",
    ]
    env = {**os.environ, wsgi.CONFIG_FILES_ENV: str(config_file)}
    with output.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_serving(f"{url}/healthcheck", process, output)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        assert process.returncode == 0, output.read_text()[-3000:]
