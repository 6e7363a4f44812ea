"""Options of the [adoption] group: how adoption jobs pace themselves on a backend."""

from oslo_config import cfg

GROUP = cfg.OptGroup("adoption", title="Adoption jobs")

MAX_IN_FLIGHT_LIMIT = 10000
"""The largest ``max_in_flight`` an option or a job may ask for."""

OPTS: list[cfg.Opt] = [
    cfg.IntOpt(
        "max_in_flight",
        default=500,
        min=1,
        max=MAX_IN_FLIGHT_LIMIT,
        help="The most objects of one backend that adoption jobs manage at the same "
        "time, all jobs of the backend together. A job may ask for fewer with its own "
        "max_in_flight, never for more: its items are managed in batches of at most "
        "the smaller of the two, so that a backend is never flooded by an adoption.",
    ),
    cfg.IntOpt(
        "heartbeat_interval",
        default=5,
        min=1,
        max=3600,
        help="Seconds between two heartbeats of a running adoption job. A volume service "
        "resumes a running job of its backend whose heartbeat is older than [recovery] "
        "stale_after (the service that ran it is gone or frozen).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
