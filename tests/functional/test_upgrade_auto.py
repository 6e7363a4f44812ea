"""``[upgrade_levels] = auto``: the cap is read from the services table, and lifts on SIGHUP.

A new release's client must send nothing that the oldest recorded service of an
RPC API cannot answer. With ``auto`` the cap is that service's recorded version;
once it is upgraded (it records its new version when it starts), the SIGHUP
reload lifts the cap without a restart. A retired service holds the cap back
until ``volmgr-manage service remove`` forgets it (refused while it is up).
"""

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from tests.conftest import make_conf
from tests.functional.test_manage_command import run
from volmgr_common import cmd as common_cmd
from volmgr_common import exception, rpc_versions
from volmgr_common.conf import startup
from volmgr_common.db import api as db_api
from volmgr_common.db import models
from volmgr_common.db import services as services_db
from volmgr_volume import rpcapi as volume_rpcapi

VOLUME = "volmgr-volume"


def test_auto_caps_at_the_oldest_recorded_service_and_lifts_on_reload(
    conf_factory: Callable[..., cfg.ConfigOpts], db: db_api.Database
) -> None:
    services_db.register(db, "old@files", VOLUME, VOLUME, "nova", rpc_version="1.0")
    services_db.register(db, "new@files", VOLUME, VOLUME, "nova", rpc_version="1.1")
    conf = conf_factory(upgrade_levels__volume="auto")
    messaging = common_cmd.connect_messaging(conf, db, "volmgr-api")
    try:
        client = volume_rpcapi.VolumeAPI(messaging).client
        assert client.version_cap == "1.0"
        assert not client.can_send_version("1.1")  # a batch goes out as single casts

        # The old service is upgraded: it records its new version when it starts.
        services_db.register(db, "old@files", VOLUME, VOLUME, "nova", rpc_version="1.1")
        assert client.version_cap == "1.0"  # read at start, not on every message
        common_cmd._reload(conf, messaging)  # what SIGHUP runs
        assert client.version_cap is None
        assert client.can_send_version("1.1")
    finally:
        messaging.cleanup()


def test_a_database_away_on_reload_keeps_the_caps(
    conf_factory: Callable[..., cfg.ConfigOpts], db: db_api.Database
) -> None:
    services_db.register(db, "old@files", VOLUME, VOLUME, "nova", rpc_version="1.0")
    conf = conf_factory(upgrade_levels__volume="auto")
    messaging = common_cmd.connect_messaging(conf, db, "volmgr-api")

    def unreachable(_binary: str) -> list[str | None]:
        raise sa.exc.OperationalError("SELECT", {}, Exception("connection refused"))

    try:
        client = volume_rpcapi.VolumeAPI(messaging).client
        messaging.read_versions_from(unreachable)
        messaging.refresh_version_caps()
        assert client.version_cap == "1.0"
    finally:
        messaging.cleanup()


def test_auto_cap_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rpc_versions.auto_cap("volume", []) is None  # no service recorded: no cap
    assert rpc_versions.auto_cap("volume", ["1.1", "1.1"]) is None  # all current
    assert rpc_versions.auto_cap("volume", ["1.1", "1.0"]) == "1.0"
    assert rpc_versions.auto_cap("volume", ["1.7"]) is None  # a newer release's service
    # A service that recorded no version speaks the oldest known release's version.
    monkeypatch.setitem(
        rpc_versions.RELEASES, "0.0.9", {"api": "1.0", "scheduler": "1.0", "volume": "1.0"}
    )
    assert rpc_versions.auto_cap("volume", ["1.1", None]) == "1.0"
    with pytest.raises(rpc_versions.UnknownUpgradeLevel, match="needs the services table"):
        rpc_versions.version_cap(_conf_with_auto(), "volume")


def _conf_with_auto() -> cfg.ConfigOpts:
    conf = startup.new_conf()
    conf([], project=startup.PROJECT)
    conf.set_override("volume", "auto", group="upgrade_levels")
    startup.validate(conf)  # auto is a valid level
    return conf


def test_service_remove_forgets_a_retired_service_and_refuses_a_live_one(
    tmp_path: Path,
) -> None:
    assert run(tmp_path, "db", "sync").returncode == 0
    state = tmp_path / startup.LOCAL_STATE_DIR
    db = db_api.Database(make_conf(state, database__connection=f"sqlite:///{state}/volmgr.sqlite"))
    try:
        services_db.register(db, "retired@files", VOLUME, VOLUME, "nova", rpc_version="1.0")
        services_db.register(db, "live@files", VOLUME, VOLUME, "nova", rpc_version="1.1")
        with db.session(write=True) as session:
            session.execute(
                sa.update(models.Service)
                .where(models.Service.host == "retired@files")
                .values(last_heartbeat=models.utcnow() - dt.timedelta(hours=1))
            )

        live = run(tmp_path, "service", "remove", "live@files", VOLUME)
        assert live.returncode == 1
        assert "volmgr-volume is up" in live.stderr and "stop it before removing it" in live.stderr

        done = run(tmp_path, "service", "remove", "retired@files", "cinder-volume", "-f", "json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {
            "Binary": VOLUME,
            "Host": "retired@files",
            "Removed": True,
        }
        assert services_db.rpc_versions(db, VOLUME) == ["1.1"]

        again = run(tmp_path, "service", "remove", "retired@files", VOLUME)
        assert again.returncode == 1
        assert "could not be found" in again.stderr
        with pytest.raises(exception.ServiceNotFound):
            services_db.remove(db, "retired@files", VOLUME, 60)
    finally:
        db.dispose()
