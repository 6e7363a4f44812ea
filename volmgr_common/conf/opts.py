"""Entry points of oslo-config-generator: the options of volmgr and of oslo.messaging."""

from oslo_config import cfg

from volmgr_common import conf as volmgr_conf
from volmgr_common import rpc


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Return the volmgr option groups an operator sets, for the sample config.

    The groups of test tools (the fake driver's) are registered and checked like any
    other, but are not shipped in the sample.
    """
    return [
        (group, opts)
        for group, opts in volmgr_conf.list_opts()
        if group not in volmgr_conf.TEST_ONLY_GROUPS
    ]


def list_messaging_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Return oslo.messaging's options with the defaults volmgr gives them.

    The sample config takes oslo.messaging's options from here rather than from the
    library's own namespace, whose defaults are the library's.
    """
    return rpc.list_opts()
