"""volmgr's version, read from the installed package's metadata (``--version``)."""

from importlib import metadata

PACKAGE = "volmgr"


def version_string() -> str:
    """The installed version of volmgr, e.g. ``0.1.0`` (``unknown`` when not installed)."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"
