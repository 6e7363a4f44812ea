"""Options of the [recovery] group: how services finish requests left half done."""

from oslo_config import cfg

GROUP = cfg.OptGroup("recovery", title="Recovery of interrupted requests")

OPTS: list[cfg.Opt] = [
    cfg.IntOpt(
        "interval",
        default=30,
        min=1,
        max=3600,
        help="Seconds between two scans for requests in a transitional status "
        "(managing, unmanaging) that nobody is working on. A service also scans once "
        "when it starts.",
    ),
    cfg.IntOpt(
        "stale_after",
        default=60,
        min=1,
        help="A request whose row has not changed for this many seconds and that no "
        "running flow owns is taken over by the scan: resumed, or compensated if it "
        "had already failed. Messages still queued for it are then ignored.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
