"""Options of the [api] group: limits the API enforces on manage requests."""

from oslo_config import cfg

GROUP = cfg.OptGroup("api", title="volmgr-api options")

OPTS = [
    cfg.IntOpt(
        "max_name_length",
        default=255,
        min=1,
        help="Longest volume name, in characters, that a manage request may give.",
    ),
    cfg.IntOpt(
        "max_description_length",
        default=255,
        min=1,
        help="Longest volume description, in characters, that a manage request may give.",
    ),
    cfg.IntOpt(
        "max_metadata_items",
        default=128,
        min=0,
        help="Largest number of metadata items a manage request may carry.",
    ),
    cfg.IntOpt(
        "max_list_limit",
        default=1000,
        min=1,
        help="Largest number of volumes that one list_volumes call returns.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
