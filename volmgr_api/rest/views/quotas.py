"""The quota set view: limits only, or with ``usage=True`` limit, in_use, reserved, allocated."""

from typing import Any


def quota_set(project_id: str, usage: dict[str, dict[str, int]], with_usage: bool) -> dict:
    values: dict[str, Any] = {"id": project_id}
    for resource in sorted(usage):
        amounts = usage[resource]
        if with_usage:
            values[resource] = {
                "limit": amounts["limit"],
                "in_use": amounts["in_use"],
                "reserved": amounts["reserved"],
                "allocated": 0,
            }
        else:
            values[resource] = amounts["limit"]
    return {"quota_set": values}
