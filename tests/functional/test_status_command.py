"""Functional tests of ``volmgr-status upgrade check`` on a real (SQLite) database,
and of the schema check a daemon makes when it starts.

What an operator runs before and after each step of a rolling upgrade: the exit
code says go (0), look (1) or stop (2); the details say what to set.
"""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from volmgr_common.cmd import open_database, status
from volmgr_common.db import api as db_api
from volmgr_common.db import migration
from volmgr_common.db import services as services_db

VOLUME = ("node1@files", "volmgr-volume", "volmgr-volume", "nova")


def check(
    conf: cfg.ConfigOpts, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str = ""
) -> tuple[int, dict[str, tuple[int, str]]]:
    """Run the command on ``conf``'s database; its exit code and ``{check: (code, details)}``."""
    path = tmp_path / "status.conf"
    path.write_text(
        f"[DEFAULT]\nservice_down_time = 60\n"
        f"[database]\nconnection = {conf.database.connection}\n{extra}"
    )
    code = status.main(["--config-file", str(path), "upgrade", "check", "--json"])
    report = json.loads(capsys.readouterr().out)
    return code, {c["check"]: (c["result"], c["details"]) for c in report["checks"]}


def test_a_current_deployment_passes(
    conf: cfg.ConfigOpts, db: db_api.Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services_db.register(db, *VOLUME, rpc_version="1.1")
    code, checks = check(conf, tmp_path, capsys)
    assert code == 0
    head = migration.head_revision(db)
    assert checks["Database schema"] == (0, f"At revision {head}, this release's newest.")


def test_an_older_volume_service_needs_a_cap(
    conf: cfg.ConfigOpts, db: db_api.Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services_db.register(db, *VOLUME, rpc_version="1.0")
    code, checks = check(conf, tmp_path, capsys)
    assert code == 2
    result, details = checks["RPC versions of the services"]
    assert result == 2
    assert "volmgr-volume on node1@files answers volume RPC version 1.0" in details
    assert "set [upgrade_levels] volume = 1.0" in details

    code, checks = check(conf, tmp_path, capsys, "[upgrade_levels]\nvolume = 1.0\n")
    assert code == 0
    assert checks["RPC upgrade levels"] == (0, "Caps: volume = 1.0.")

    # auto reads the cap from the services table: the same 1.0, with nothing to edit later.
    code, checks = check(conf, tmp_path, capsys, "[upgrade_levels]\nvolume = auto\n")
    assert code == 0
    assert checks["RPC upgrade levels"] == (0, "Caps: volume = auto (now 1.0).")
    services_db.register(db, *VOLUME, rpc_version="1.1")
    code, checks = check(conf, tmp_path, capsys, "[upgrade_levels]\nvolume = auto\n")
    assert (code, checks["RPC upgrade levels"]) == (0, (0, "Caps: volume = auto (now no cap)."))


def test_a_cap_no_service_needs_is_a_warning(
    conf: cfg.ConfigOpts, db: db_api.Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services_db.register(db, *VOLUME, rpc_version="1.1")
    code, checks = check(conf, tmp_path, capsys, "[upgrade_levels]\nvolume = 1.0\n")
    assert code == 1
    assert "remove [upgrade_levels] volume (now 1.0)" in checks["RPC versions of the services"][1]


def test_a_service_that_reports_no_version_is_a_warning(
    conf: cfg.ConfigOpts, db: db_api.Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services_db.register(db, *VOLUME)
    code, checks = check(conf, tmp_path, capsys)
    assert code == 1
    assert "reports no RPC version" in checks["RPC versions of the services"][1]


def test_a_bad_level_and_an_empty_database_fail(
    conf: cfg.ConfigOpts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, checks = check(conf, tmp_path, capsys, "[upgrade_levels]\nscheduler = 7.0\n")
    assert code == 2
    assert checks["Database schema"][0] == 2
    assert "volmgr-manage db sync" in checks["Database schema"][1]
    assert checks["RPC upgrade levels"][0] == 2
    assert "[upgrade_levels] scheduler: 7.0" in checks["RPC upgrade levels"][1]


def test_a_daemon_starts_on_a_schema_ahead_of_it_and_refuses_one_behind(
    conf: cfg.ConfigOpts, db: db_api.Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """A service of the previous release keeps running, and restarting, on the schema a
    newer release expanded; on a schema older than its own it refuses to start."""
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    opened = open_database(conf, "volmgr-volume")
    opened.dispose()

    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0002'"))
    with pytest.raises(SystemExit) as exited:
        open_database(conf, "volmgr-volume")
    assert exited.value.code == 2
    assert "run 'volmgr-manage db sync'" in capsys.readouterr().err
