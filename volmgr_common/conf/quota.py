"""Options of the [quota] group: default limits and reservation lifetime."""

from oslo_config import cfg

GROUP = cfg.OptGroup("quota", title="Quota options")

OPTS: list[cfg.Opt] = [
    cfg.IntOpt(
        "volumes",
        default=1000,
        min=-1,
        help="Default number of volumes a project may hold; -1 means unlimited.",
    ),
    cfg.IntOpt(
        "gigabytes",
        default=100000,
        min=-1,
        help="Default number of GiB a project's volumes may hold; -1 means unlimited.",
    ),
    cfg.IntOpt(
        "snapshots",
        default=1000,
        min=-1,
        help="Default number of snapshots a project may hold; -1 means unlimited.",
    ),
    cfg.BoolOpt(
        "no_snapshot_gb_quota",
        default=False,
        help="Whether the size of a managed snapshot is left out of the project's "
        "gigabytes (and gigabytes_<type>) usage, as Cinder's option of the same name "
        "does. A snapshot managed while this is false keeps holding its gigabytes "
        "until it is unmanaged, whatever the option later says.",
    ),
    cfg.IntOpt(
        "per_type_default",
        default=-1,
        min=-1,
        help="Default for the per volume type limits volumes_<type>, snapshots_<type> "
        "and gigabytes_<type>; -1 means unlimited.",
    ),
    cfg.IntOpt(
        "reservation_expire",
        default=600,
        min=1,
        help="Seconds after which a reservation that was neither committed nor rolled "
        "back is expired, giving its amount back.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
