"""volmgr-status: ``upgrade check``, whether a deployment is ready for (or through) an upgrade.

``volmgr-status [--config-file F] upgrade check [--json]`` runs the checks below
with oslo.upgradecheck and exits 0 (all passed), 1 (a warning: look at it) or 2 (a
failure: do not go on). Run it with the configuration of the services that send
messages (the one whose ``[upgrade_levels]`` matter), before and after each step
of a rolling upgrade (docs/operations.rst, "Upgrades").

- Database schema: at this release's newest migration.
- RPC versions of the services: every running service answers at least the version
  that this configuration sends it (the newest this release knows, or the
  ``[upgrade_levels]`` cap); a cap that no running service needs any more is a
  warning.
"""

import functools
import sys
from collections.abc import Sequence

import sqlalchemy as sa
from oslo_config import cfg
from oslo_log import log as logging
from oslo_upgradecheck import upgradecheck

from volmgr_common import rpc_versions
from volmgr_common.conf import startup
from volmgr_common.db import api as db_api
from volmgr_common.db import migration
from volmgr_common.db import services as services_db
from volmgr_common.version import version_string

PROG = "volmgr-status"
Code = upgradecheck.Code
Result = upgradecheck.Result


class UpgradeChecks(upgradecheck.UpgradeCommands):
    """The checks of ``volmgr-status upgrade check``, on one config."""

    display_title = "volmgr upgrade check"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self._db: db_api.Database | None = None

    def database(self) -> db_api.Database:
        """The database of the config, connected on first use."""
        if self._db is None:
            self._db = db_api.Database(self.conf)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None

    def check_schema(self) -> Result:
        try:
            state = migration.schema_state(self.database())
            revision = migration.current_revision(self.database())
        except sa.exc.SQLAlchemyError as error:
            return Result(Code.FAILURE, f"Cannot read the database: {_first_line(error)}")
        head = migration.head_revision(self.database())
        if state is migration.SchemaState.CURRENT:
            return Result(Code.SUCCESS, f"At revision {revision}, this release's newest.")
        if state is migration.SchemaState.BEHIND:
            return Result(
                Code.FAILURE,
                f"At revision {revision or 'none (empty)'}; this release needs {head}: run "
                "'volmgr-manage db sync' before starting services of this release.",
            )
        return Result(
            Code.WARNING,
            f"At revision {revision}, newer than this release's {head}: a newer release "
            "has expanded the schema; this release runs on it until it is upgraded.",
        )

    def check_upgrade_levels(self) -> Result:
        try:
            rpc_versions.validate(self.conf)
        except rpc_versions.UnknownUpgradeLevel as error:
            return Result(Code.FAILURE, str(error))
        try:
            caps = {api: self._cap(api) for api in rpc_versions.API_BINARIES}
        except sa.exc.SQLAlchemyError as error:
            return Result(Code.FAILURE, f"Cannot read the services: {_first_line(error)}")
        set_caps = ", ".join(
            f"{api} = auto (now {cap or 'no cap'})"
            if rpc_versions.is_auto(self.conf, api)
            else f"{api} = {cap}"
            for api, cap in caps.items()
            if cap or rpc_versions.is_auto(self.conf, api)
        )
        return Result(Code.SUCCESS, f"Caps: {set_caps}." if set_caps else "No caps set.")

    def _cap(self, api: str) -> str | None:
        """The cap this configuration sets for ``api`` now (``auto`` read from the services)."""
        reported = functools.partial(services_db.rpc_versions, self.database())
        return rpc_versions.version_cap(self.conf, api, reported)

    def check_service_versions(self) -> Result:
        try:
            rpc_versions.validate(self.conf)
        except rpc_versions.UnknownUpgradeLevel as error:
            return Result(Code.FAILURE, f"Cannot tell what is sent: {error}")
        try:
            services = services_db.list_all(self.database(), down_time=self.conf.service_down_time)
        except sa.exc.SQLAlchemyError as error:
            return Result(Code.FAILURE, f"Cannot read the services: {_first_line(error)}")
        failures: list[str] = []
        warnings: list[str] = []
        for api, binary in rpc_versions.API_BINARIES.items():
            running = [s for s in services if s["binary"] == binary and s["is_up"]]
            problems, notes = self._compare(api, binary, running)
            failures.extend(problems)
            warnings.extend(notes)
        if failures:
            return Result(Code.FAILURE, " ".join(failures + warnings))
        if warnings:
            return Result(Code.WARNING, " ".join(warnings))
        return Result(Code.SUCCESS, "Every running service answers what it is sent.")

    def _compare(self, api: str, binary: str, running: list[dict]) -> tuple[list[str], list[str]]:
        """Failures and warnings for the services of one RPC API."""
        cap = self._cap(api)
        sent = cap or rpc_versions.current_version(api)
        failures: list[str] = []
        warnings: list[str] = []
        unknown = sorted(s["host"] for s in running if s["rpc_version"] is None)
        if unknown:
            warnings.append(
                f"{binary} on {', '.join(unknown)} reports no RPC version (started "
                "before the schema recorded it): restart it to know."
            )
        reported = [s for s in running if s["rpc_version"] is not None]
        older = sorted(s["host"] for s in reported if rpc_versions.newer(sent, s["rpc_version"]))
        if older:
            oldest = min((s["rpc_version"] for s in reported), key=rpc_versions.parse)
            failures.append(
                f"{binary} on {', '.join(older)} answers {api} RPC version {oldest}, older "
                f"than the {sent} this configuration sends: set [upgrade_levels] {api} = "
                f"{oldest} on every service until they are upgraded."
            )
        newest = rpc_versions.current_version(api)
        all_newest = all(not rpc_versions.newer(newest, s["rpc_version"]) for s in reported)
        if (
            cap
            and not rpc_versions.is_auto(self.conf, api)
            and rpc_versions.newer(newest, cap)
            and reported
            and all_newest
            and not unknown
        ):
            warnings.append(
                f"Every running {binary} answers {api} RPC version {newest}: remove "
                f"[upgrade_levels] {api} (now {cap}) and restart the services that send."
            )
        return failures, warnings

    _upgrade_checks = (
        ("Database schema", check_schema),
        ("RPC upgrade levels", check_upgrade_levels),
        ("RPC versions of the services", check_service_versions),
    )


def _first_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    return str(orig).splitlines()[0] if str(orig) else type(orig).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``upgrade check``; the exit code is the worst result (0, 1 or 2)."""
    conf = startup.new_conf()
    startup.default_to_local_state(conf)
    logging.set_defaults(
        default_log_levels=[*logging.get_default_log_levels(), "alembic.runtime.migration=WARN"]
    )
    logging.setup(conf, startup.PROJECT)
    checks = UpgradeChecks(conf)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # upgradecheck.main() without its conf() call, so that --version is answered.
        upgradecheck.register_cli_options(conf, checks)
        conf(args, project=startup.PROJECT, version=version_string())
        upgradecheck.CONF = conf  # what its commands read (--json)
        return upgradecheck.run(conf)
    finally:
        checks.close()


if __name__ == "__main__":
    sys.exit(main())
