"""The manageable-volume view: ``{"manageable-volumes": [...]}``, summary or detail."""

from typing import Any

SUMMARY_KEYS = ("reference", "size", "safe_to_manage")
DETAIL_KEYS = (*SUMMARY_KEYS, "reason_not_safe", "cinder_id", "extra_info")


def list_view(entries: list[dict[str, Any]], detailed: bool) -> dict[str, Any]:
    keys = DETAIL_KEYS if detailed else SUMMARY_KEYS
    return {"manageable-volumes": [{key: entry.get(key) for key in keys} for entry in entries]}
