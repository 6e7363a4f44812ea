"""Options of the [scheduler] group: where a volume may go, and how the scheduler reads it."""

from oslo_config import cfg

GROUP = cfg.OptGroup("scheduler", title="volmgr-scheduler options")

OPTS: list[cfg.Opt] = [
    cfg.ListOpt(
        "enabled_filters",
        default=[
            "ServiceUpFilter",
            "AvailabilityZoneFilter",
            "CapabilitiesFilter",
            "CapacityFilter",
        ],
        help="Filters a backend must pass before a volume is managed on it, applied in "
        "this order. Known filters: ServiceUpFilter, AvailabilityZoneFilter, "
        "CapabilitiesFilter, CapacityFilter.",
    ),
    cfg.IntOpt(
        "capability_max_age",
        default=300,
        min=1,
        help="Seconds after which a backend's last capability report is too old to "
        "schedule on; the backend is then treated as reporting nothing.",
    ),
    cfg.IntOpt(
        "volume_read_attempts",
        default=3,
        min=1,
        deprecated_opts=[cfg.DeprecatedOpt("flow_retry_attempts", group="volume")],
        help="Attempts of the scheduler to read a volume row that volmgr-api has just "
        "committed, when it does not see the row yet, before it fails the request. "
        "The waits between attempts double from 0.05 up to 1 second.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
