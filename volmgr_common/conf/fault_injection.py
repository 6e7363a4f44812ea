"""Options of the [fault_injection] group: a test-only way to make a request fail."""

from oslo_config import cfg

GROUP = cfg.OptGroup("fault_injection", title="Fault injection (tests only)")

OPTS = [
    cfg.BoolOpt(
        "enabled",
        default=False,
        help="Honour the volume metadata key '_fault' (for example "
        "'fail:ManageExisting'), which makes the named task fail for that request. "
        "For tests only: never enable it in production.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
