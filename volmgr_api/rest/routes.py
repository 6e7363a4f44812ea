"""The route table: every URL template, its handlers per method, and its microversion.

Each route that acts in a project is written once, relative to the project, and
served twice: under ``/v3/{project_id}`` and under ``/v3`` alone, in the caller's
project. Microversion 3.67 announces the second form; like Cinder's router, which
adds both forms of every route whatever the version, volmgr serves it at every
version, so that a client whose endpoint has no project id works without a header. The OpenAPI
document (openapi.yaml, completed the same way by ``rest/openapi.py``) describes
exactly these routes; a test checks that neither has a route the other lacks.
"""

import dataclasses
from collections.abc import Mapping

from volmgr_api.rest.handlers import (
    adoption_jobs,
    adoption_plans,
    audit,
    messages,
    orphans,
    quota_sets,
    resource_filters,
    root,
    services,
    snapshot_manage,
    snapshots,
    types,
    volume_actions,
    volume_manage,
    volumes,
)
from volmgr_api.rest.request import Handler

PROJECT = "/v3/{project_id}"
PROJECTLESS = "/v3"
PROJECT_ID_OPTIONAL = "3.67"
"""The microversion that announces routes without the project id (served at every
version, as Cinder's router serves them)."""


@dataclasses.dataclass(frozen=True)
class Route:
    """One URL template: its handlers by HTTP method and the first version that has it."""

    template: str
    methods: Mapping[str, Handler]
    min_version: str | None = None
    public: bool = False


PUBLIC_ROUTES: tuple[Route, ...] = (
    Route("/", {"GET": root.all_versions}, public=True),
    Route("/v3", {"GET": root.v3_versions}, public=True),
    Route("/openapi.yaml", {"GET": root.openapi}, public=True),
)

PROJECT_ROUTES: tuple[Route, ...] = (
    Route("/os-volume-manage", {"GET": volume_manage.index, "POST": volume_manage.create}),
    Route("/os-volume-manage/detail", {"GET": volume_manage.detail}),
    Route(
        "/manageable_volumes",
        {"GET": volume_manage.index, "POST": volume_manage.create},
        min_version="3.8",
    ),
    Route("/manageable_volumes/detail", {"GET": volume_manage.detail}, min_version="3.8"),
    Route("/os-snapshot-manage", {"GET": snapshot_manage.index, "POST": snapshot_manage.create}),
    Route("/os-snapshot-manage/detail", {"GET": snapshot_manage.detail}),
    Route(
        "/manageable_snapshots",
        {"GET": snapshot_manage.index, "POST": snapshot_manage.create},
        min_version="3.8",
    ),
    Route("/manageable_snapshots/detail", {"GET": snapshot_manage.detail}, min_version="3.8"),
    Route("/snapshots", {"GET": snapshots.index}),
    Route("/snapshots/detail", {"GET": snapshots.detail}),
    Route("/snapshots/{snapshot_id}", {"GET": snapshots.show, "DELETE": snapshots.delete}),
    Route("/snapshots/{snapshot_id}/action", {"POST": snapshots.action}),
    Route("/volumes", {"GET": volumes.index}),
    Route("/volumes/detail", {"GET": volumes.detail}),
    Route("/volumes/summary", {"GET": volumes.summary}, min_version="3.12"),
    Route("/volumes/{volume_id}", {"GET": volumes.show, "DELETE": volumes.delete}),
    Route("/volumes/{volume_id}/action", {"POST": volume_actions.action}),
    Route("/os-services", {"GET": services.index}),
    Route("/os-services/disable", {"PUT": services.disable}),
    Route("/os-services/disable-log-reason", {"PUT": services.disable_log_reason}),
    Route("/os-services/enable", {"PUT": services.enable}),
    Route("/os-quota-sets/{target_project_id}", {"GET": quota_sets.show}),
    Route("/os-audit", {"POST": audit.create}),
    Route("/os-orphans", {"GET": orphans.index}),
    Route("/os-orphans/action", {"POST": orphans.action}),
    Route("/messages", {"GET": messages.index}, min_version="3.3"),
    Route("/messages/{message_id}", {"GET": messages.show}, min_version="3.3"),
    Route("/types", {"GET": types.index}),
    Route("/types/{type_id}", {"GET": types.show}),
    Route("/resource_filters", {"GET": resource_filters.index}, min_version="3.33"),
    Route("/os-adoption-jobs", {"GET": adoption_jobs.index, "POST": adoption_jobs.create}),
    Route("/os-adoption-jobs/{job_id}", {"GET": adoption_jobs.show}),
    Route("/os-adoption-jobs/{job_id}/action", {"POST": adoption_jobs.action}),
    Route("/os-adoption-plans", {"GET": adoption_plans.index, "POST": adoption_plans.create}),
    Route(
        "/os-adoption-plans/{plan_id}",
        {"GET": adoption_plans.show, "DELETE": adoption_plans.delete},
    ),
)
"""Every route that acts in a project, relative to the project's URL."""

COLLECTIONS = frozenset(route.template.split("/")[1] for route in PROJECT_ROUTES)
"""The first path segments of the project routes: never a project id in a URL, so that
``/v3/volumes/...`` is always the form without one."""

PROJECT_ID_PATTERN = r"(?!(?:{})(?:/|$))[^/]+".format("|".join(sorted(COLLECTIONS)))
"""What ``{project_id}`` matches in a URL: one path segment that is not a collection."""


def _in_project(route: Route) -> Route:
    return dataclasses.replace(route, template=PROJECT + route.template)


def _without_project(route: Route) -> Route:
    return dataclasses.replace(route, template=PROJECTLESS + route.template)


ROUTES: tuple[Route, ...] = (
    *PUBLIC_ROUTES,
    *(_in_project(route) for route in PROJECT_ROUTES),
    *(_without_project(route) for route in PROJECT_ROUTES),
)
"""The route table: every project route twice, with ``/v3/{project_id}`` and with ``/v3``."""
