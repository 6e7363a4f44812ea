"""Options of the [upgrade_levels] group: the RPC versions clients send during an upgrade."""

from oslo_config import cfg

from volmgr_common import rpc_versions

GROUP = cfg.OptGroup("upgrade_levels", title="RPC version caps for rolling upgrades")

_LEVEL_HELP = (
    "The newest version of the {title} RPC API that this process sends, while services "
    "of an older release still answer it: an RPC version (MAJOR.MINOR, such as 1.0) "
    "or the volmgr release of the oldest {binary} still running (known releases: "
    "{releases}), or auto: the oldest version any {binary} recorded in the services "
    "table answers, read at start and again on SIGHUP (remove a retired service with "
    "'volmgr-manage service remove'). Clients then fall back to older methods (a batch "
    "of manages is sent as one message per request). Unset: the newest version this "
    "release knows. Set it on every other service before upgrading the first {binary}, "
    "and remove it once every {binary} runs the new release."
)


def _level_opt(api: str, title: str) -> cfg.Opt:
    binary = rpc_versions.API_BINARIES[api]
    return cfg.StrOpt(
        api,
        help=_LEVEL_HELP.format(
            title=title, binary=binary, releases=", ".join(sorted(rpc_versions.RELEASES))
        ),
    )


OPTS: list[cfg.Opt] = [
    _level_opt("api", "volmgr-api"),
    _level_opt("scheduler", "volmgr-scheduler"),
    _level_opt("volume", "volmgr-volume"),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
