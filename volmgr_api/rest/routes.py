"""The route table: every URL template, its handlers per method, and its microversion.

The OpenAPI document (openapi.yaml) describes exactly these routes; a test checks
that neither has a route the other lacks.
"""

import dataclasses
from collections.abc import Mapping

from volmgr_api.rest.handlers import (
    messages,
    quota_sets,
    root,
    services,
    types,
    volume_actions,
    volume_manage,
    volumes,
)
from volmgr_api.rest.request import Handler

PROJECT = "/v3/{project_id}"


@dataclasses.dataclass(frozen=True)
class Route:
    """One URL template: its handlers by HTTP method and the first version that has it."""

    template: str
    methods: Mapping[str, Handler]
    min_version: str | None = None
    public: bool = False


ROUTES: tuple[Route, ...] = (
    Route("/", {"GET": root.all_versions}, public=True),
    Route("/v3", {"GET": root.v3_versions}, public=True),
    Route("/openapi.yaml", {"GET": root.openapi}, public=True),
    Route(
        f"{PROJECT}/os-volume-manage", {"GET": volume_manage.index, "POST": volume_manage.create}
    ),
    Route(f"{PROJECT}/os-volume-manage/detail", {"GET": volume_manage.detail}),
    Route(
        f"{PROJECT}/manageable_volumes",
        {"GET": volume_manage.index, "POST": volume_manage.create},
        min_version="3.8",
    ),
    Route(f"{PROJECT}/manageable_volumes/detail", {"GET": volume_manage.detail}, min_version="3.8"),
    Route(f"{PROJECT}/volumes", {"GET": volumes.index}),
    Route(f"{PROJECT}/volumes/detail", {"GET": volumes.detail}),
    Route(f"{PROJECT}/volumes/summary", {"GET": volumes.summary}, min_version="3.12"),
    Route(f"{PROJECT}/volumes/{{volume_id}}", {"GET": volumes.show, "DELETE": volumes.delete}),
    Route(f"{PROJECT}/volumes/{{volume_id}}/action", {"POST": volume_actions.action}),
    Route(f"{PROJECT}/os-services", {"GET": services.index}),
    Route(f"{PROJECT}/os-services/disable", {"PUT": services.disable}),
    Route(f"{PROJECT}/os-services/disable-log-reason", {"PUT": services.disable_log_reason}),
    Route(f"{PROJECT}/os-services/enable", {"PUT": services.enable}),
    Route(f"{PROJECT}/os-quota-sets/{{target_project_id}}", {"GET": quota_sets.show}),
    Route(f"{PROJECT}/messages", {"GET": messages.index}, min_version="3.3"),
    Route(f"{PROJECT}/messages/{{message_id}}", {"GET": messages.show}, min_version="3.3"),
    Route(f"{PROJECT}/types", {"GET": types.index}),
    Route(f"{PROJECT}/types/{{type_id}}", {"GET": types.show}),
)
