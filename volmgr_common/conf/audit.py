"""Options of the [audit] group: how each volume service checks what it manages."""

from oslo_config import cfg

GROUP = cfg.OptGroup("audit", title="Audit of managed volumes against their backend")

OPTS: list[cfg.Opt] = [
    cfg.BoolOpt(
        "enabled",
        default=True,
        help="Whether each volume service audits its volumes periodically: it reads its "
        "backend once and checks every available volume it manages against it (present "
        "under its managed name, same identity, same size, ownership marks intact), "
        "recording drift on the volume and clearing it when it goes away. An audit never "
        "changes a backend object. An audit asked for over the REST API runs whatever "
        "this says.",
    ),
    cfg.IntOpt(
        "interval",
        default=3600,
        min=1,
        max=7 * 86400,
        help="Seconds between two periodic audits of a volume service (the first runs "
        "one interval after the service starts).",
    ),
    cfg.IntOpt(
        "jitter",
        default=300,
        min=0,
        max=86400,
        help="Up to this many seconds, chosen at random each time, are added to the "
        "interval, so that the services of many backends sharing one database do not "
        "audit at the same moment.",
    ),
    cfg.IntOpt(
        "page_size",
        default=1000,
        min=1,
        max=10000,
        help="Volumes read from the database at a time during an audit: what an audit "
        "holds in memory does not grow with the number of volumes.",
    ),
    cfg.IntOpt(
        "call_timeout",
        default=600,
        min=10,
        max=86400,
        help="Seconds the API waits for the answer of an audit it asked a volume service "
        "for before it answers 503 (the audit goes on and records what it finds).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
