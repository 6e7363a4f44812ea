"""Process start-up: parse the command line and config files, set up logging.

Every program takes ``--version`` (the installed package's version) and
``--config-file``/``--config-dir``.

A bad or missing config file ends the process with exit code 2 and one line that
says what is wrong, before any connection is opened.
"""

import os
import sys
from collections.abc import Sequence

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import conf as volmgr_conf
from volmgr_common import rpc, rpc_versions
from volmgr_common.version import version_string

LOG = logging.getLogger(__name__)
PROJECT = "volmgr"
LOCAL_STATE_DIR = "volmgr-state"
"""``state_path`` of the programs that run without a config file (volmgr-all,
volmgr-manage): this directory under the current one, so that both find the same
SQLite database."""


class ConfigError(Exception):
    """The configuration cannot run: the message is the one line shown to the operator."""


def new_conf(cli_opts: Sequence[cfg.Opt] = ()) -> cfg.ConfigOpts:
    """A ``ConfigOpts`` with every option volmgr and its libraries read."""
    conf = cfg.ConfigOpts()
    volmgr_conf.register_opts(conf)
    logging.register_options(conf)
    rpc.register_opts(conf)
    conf.register_cli_opts(list(cli_opts))
    return conf


def default_to_local_state(conf: cfg.ConfigOpts) -> None:
    """Default ``state_path`` to ``./volmgr-state`` (a config file still overrides it)."""
    conf.set_default("state_path", os.path.abspath(LOCAL_STATE_DIR))


def validate(conf: cfg.ConfigOpts) -> None:
    """Read every option once so that a bad value fails now, not mid-request."""
    for group_name, opts in volmgr_conf.list_opts():
        group = conf[group_name] if group_name else conf
        for opt in opts:
            try:
                getattr(group, opt.dest)
            except (ValueError, cfg.Error) as error:
                section = group_name or "DEFAULT"
                raise ConfigError(f"invalid value for [{section}] {opt.name}: {error}") from error
    if conf.service_down_time <= conf.report_interval:
        raise ConfigError(
            f"[DEFAULT] service_down_time ({conf.service_down_time}) must be larger than "
            f"report_interval ({conf.report_interval})"
        )
    try:
        rpc_versions.validate(conf)
    except rpc_versions.UnknownUpgradeLevel as error:
        raise ConfigError(str(error)) from error
    try:
        messaging.TransportURL.parse(conf, conf.transport_url)
    except (messaging.InvalidTransportURL, cfg.Error) as error:
        raise ConfigError(f"invalid [DEFAULT] transport_url: {error}") from error


def parse_args(
    argv: Sequence[str], conf: cfg.ConfigOpts, prog: str, default_transport_url: str | None = None
) -> None:
    """Parse ``argv`` into ``conf``, validate it and set up oslo.log; exit 2 on error."""
    if default_transport_url:
        conf.set_default("transport_url", default_transport_url)
    try:
        conf(list(argv), project=PROJECT, prog=prog, version=version_string())
        validate(conf)
    except cfg.ConfigFilesNotFoundError as error:
        _fail(prog, f"config file not found: {', '.join(error.config_files)}")
    except (cfg.Error, ConfigError, ValueError) as error:
        _fail(prog, str(error).splitlines()[0] if str(error) else repr(error))
    logging.setup(conf, PROJECT)


def reload_mutable(conf: cfg.ConfigOpts) -> None:
    """Re-read the config files and apply the options marked mutable (SIGHUP).

    oslo.config logs each option that changed, and warns about the changes of
    options that are not mutable, which wait for a restart; oslo.log applies a
    changed ``debug`` (the log level) at once. A file that no longer parses changes
    nothing: the error is logged and the running values stay.
    """
    LOG.info("Reloading the mutable options from %s", ", ".join(conf.config_file) or "defaults")
    try:
        conf.mutate_config_files()
    except (cfg.Error, ValueError, OSError) as error:
        LOG.error("The configuration was not reloaded: %s", error)
        return
    # As at start: with debug (now) on, every option's value in force, secrets masked.
    conf.log_opt_values(LOG, logging.DEBUG)


def _fail(prog: str, reason: str) -> None:
    print(f"{prog}: error: {reason}", file=sys.stderr)
    raise SystemExit(2)
