"""Configuration options of volmgr, one module per option group.

Nothing is registered at import time: call :func:`register_opts` on the
``ConfigOpts`` object a process (or a test) owns.
"""

from oslo_config import cfg

from volmgr_common.conf import (
    adoption,
    api,
    database,
    default,
    file_backend,
    image_backend,
    lvm_backend,
    metrics,
    middleware,
    quota,
    recovery,
    scheduler,
    upgrade_levels,
    volume,
)

_MODULES = (
    default,
    database,
    api,
    middleware,
    metrics,
    scheduler,
    volume,
    file_backend,
    quota,
    recovery,
    lvm_backend,
    image_backend,
    upgrade_levels,
    adoption,
)

TEST_ONLY_GROUPS = frozenset({file_backend.FAKE_GROUP.name})
"""Groups of test tools: registered, but left out of the shipped sample config."""


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every volmgr option group on ``conf``."""
    for module in _MODULES:
        module.register_opts(conf)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Return (group, options) pairs for the sample config generator."""
    result: list[tuple[str | None, list[cfg.Opt]]] = []
    for module in _MODULES:
        result.extend(module.list_opts())
    return result
