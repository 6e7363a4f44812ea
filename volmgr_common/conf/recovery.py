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
        max=86400,
        help="A request whose row has not changed for this many seconds is taken over "
        "by the scan: resumed when no flow owns it or when the volume service that "
        "owns its flow stopped renewing its claim (a running volume service renews "
        "its claims every third of this time, so a live one never loses them; one that "
        "is gone or frozen does, and finds its flow fenced off if it wakes up), or "
        "compensated if it had already failed. Messages still queued for it are then "
        "ignored. Also the longest a restarted volume service waits before it resumes "
        "the flows of the process it replaces.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
