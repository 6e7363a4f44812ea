"""volmgr-all: the API, scheduler and volume services in one process.

The embedded default for a first run: SQLite under the state path, the in-process
transport ``kombu+memory:////`` and the file driver over ``<state_path>/files``.
``--demo`` puts a real file under management, then shows a request that fails and
ends ``error_managing`` with its reason, and exits.
"""

import logging as py_logging
import os
import sys
import time
import uuid
from collections.abc import Sequence

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_api import rpcapi as api_rpcapi
from volmgr_api import service as api_service
from volmgr_common import context
from volmgr_common.cmd import connect_messaging, open_database, run
from volmgr_common.conf import startup
from volmgr_common.db import volume_record
from volmgr_common.db import volumes as volumes_db
from volmgr_common.db.api import Database
from volmgr_scheduler import service as scheduler_service
from volmgr_volume import service as volume_service

PROG = "volmgr-all"
BUILDERS = [api_service.build, scheduler_service.build, volume_service.build]
CLI_OPTS = [
    cfg.BoolOpt(
        "demo", default=False, help="Manage a sample file, show a failing request, and exit."
    ),
]
GIB = 1024**3


def main(argv: Sequence[str] | None = None) -> None:
    conf = startup.new_conf(CLI_OPTS)
    startup.default_to_local_state(conf)
    conf.set_default("transport_url", "kombu+memory:////")
    conf.set_default("use_stderr", True)  # logs to stderr, results (--demo) to stdout
    startup.parse_args(sys.argv[1:] if argv is None else argv, conf, PROG)
    if conf.demo:
        log_to_file(conf)
        demo(conf)
    else:
        run(PROG, conf, BUILDERS, sync=True)


DEMO_LOG = "volmgr-all.log"


def log_to_file(conf: cfg.ConfigOpts) -> None:
    """Send the log (and Python's warnings) to ``<state_path>/volmgr-all.log`` unless a
    log file is configured, so that the demo's story reads without log lines."""
    py_logging.captureWarnings(True)
    if conf.log_file or conf.log_dir:
        return
    os.makedirs(conf.state_path, exist_ok=True)
    conf.set_override("log_file", os.path.join(conf.state_path, DEMO_LOG))
    conf.set_override("use_stderr", False)
    logging.setup(conf, startup.PROJECT)


def _wait_terminal(
    db: Database, volume_id: str, timeout: float = 30.0
) -> volume_record.VolumeRecord:
    deadline = time.monotonic() + timeout
    while True:
        volume = volumes_db.get(db, volume_id)
        if volume["status"] != volume_record.MANAGING or time.monotonic() > deadline:
            return volume
        time.sleep(0.05)


def _show(title: str, volume: volume_record.VolumeRecord, directory: str) -> None:
    print(f"\n== {title}")
    for key in ("id", "status", "size", "host", "provider_location", "failure_reason"):
        print(f"   {key:18} {volume.get(key)}")
    print(f"   files now in {directory}: {sorted(os.listdir(directory))}")


def demo(conf: cfg.ConfigOpts) -> None:
    """Run the three services in-process and drive two manage requests through them."""
    conf.set_override("bind_port", 0, group="api")  # the demo drives RPC, not REST
    db = open_database(conf, PROG, sync=True)
    messaging = connect_messaging(conf, db, PROG)
    services = [build(conf, db, messaging) for build in BUILDERS]
    for svc in services:
        svc.start()
    try:
        directory = conf.file_backend.directory
        name = f"demo-{uuid.uuid4().hex[:8]}.img"
        with open(os.path.join(directory, name), "wb") as image:
            image.truncate(GIB + GIB // 2)  # a sparse 1.5 GiB raw image
        os.symlink("/etc/hostname", os.path.join(directory, f"{name}.link"))
        api = api_rpcapi.ApiAPI(messaging, timeout=30)
        ctxt = context.RequestContext(user_id="demo", project_id="demo", roles=["admin"])
        host = volume_service.backend_host(conf)
        print(
            f"volmgr-all demo: state in {conf.state_path}, backend {host}, log in {conf.log_file}"
        )
        print(f"created {name}: a 1.5 GiB sparse raw image")
        good = api.manage_existing(ctxt, host, {"source-name": name}, name="demo-volume")
        _show(f"manage {name}", _wait_terminal(db, good["id"]), directory)
        bad = api.manage_existing(ctxt, host, {"source-name": f"{name}.link"}, name="demo-bad")
        _show(
            f"manage {name}.link (a symlink out of the directory)",
            _wait_terminal(db, bad["id"]),
            directory,
        )
    finally:
        for svc in reversed(services):
            svc.stop()
        messaging.cleanup()
        db.dispose()
