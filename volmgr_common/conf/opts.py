"""Entry points of oslo-config-generator: volmgr's options and library defaults."""

from oslo_config import cfg

from volmgr_common import conf as volmgr_conf


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Return every volmgr option group for the sample config."""
    return volmgr_conf.list_opts()


def set_lib_defaults() -> None:
    """Set the defaults volmgr gives to the libraries' options."""
    from volmgr_common import rpc

    rpc.set_defaults()
