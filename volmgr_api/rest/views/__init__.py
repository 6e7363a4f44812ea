"""View builders: volmgr's dicts in the shapes Cinder's API answers."""

import datetime as dt


def timestamp(value: str | None) -> str | None:
    """An ISO time from the database as Cinder prints it (``2024-05-01T12:00:00.000000``)."""
    if not value:
        return None
    return dt.datetime.fromisoformat(value).strftime("%Y-%m-%dT%H:%M:%S.%f")
