"""Rules of adopting whole backends (plans, and the jobs that apply them): admin only."""

from oslo_policy import policy

from volmgr_api.policies import base

CREATE_PLAN = "volume_extension:adoption_plan:create"
GET_PLAN = "volume_extension:adoption_plan:get"
GET_ALL_PLANS = "volume_extension:adoption_plan:get_all"
DELETE_PLAN = "volume_extension:adoption_plan:delete"

rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        name=CREATE_PLAN,
        check_str=base.RULE_ADMIN_API,
        description="Plan the adoption of a backend's objects (reads the backend, "
        "changes nothing).",
        operations=[{"method": "POST", "path": "/os-adoption-plans"}],
    ),
    policy.DocumentedRuleDefault(
        name=GET_ALL_PLANS,
        check_str=base.RULE_ADMIN_API,
        description="List adoption plans.",
        operations=[{"method": "GET", "path": "/os-adoption-plans"}],
    ),
    policy.DocumentedRuleDefault(
        name=GET_PLAN,
        check_str=base.RULE_ADMIN_API,
        description="Show an adoption plan with its items.",
        operations=[{"method": "GET", "path": "/os-adoption-plans/{plan_id}"}],
    ),
    policy.DocumentedRuleDefault(
        name=DELETE_PLAN,
        check_str=base.RULE_ADMIN_API,
        description="Delete an adoption plan that no job applied.",
        operations=[{"method": "DELETE", "path": "/os-adoption-plans/{plan_id}"}],
    ),
]


JOB_CREATE = "volume_extension:adoption_jobs:create"
JOB_GET_ALL = "volume_extension:adoption_jobs:index"
JOB_GET = "volume_extension:adoption_jobs:show"
JOB_ACTION = "volume_extension:adoption_jobs:action"

job_rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        name=JOB_CREATE,
        check_str=base.RULE_ADMIN_API,
        description="Apply an adoption plan: start the job that manages its objects.",
        operations=[{"method": "POST", "path": "/os-adoption-jobs"}],
    ),
    policy.DocumentedRuleDefault(
        name=JOB_GET_ALL,
        check_str=base.RULE_ADMIN_API,
        description="List adoption jobs and their undo jobs, with their counters.",
        operations=[{"method": "GET", "path": "/os-adoption-jobs"}],
    ),
    policy.DocumentedRuleDefault(
        name=JOB_GET,
        check_str=base.RULE_ADMIN_API,
        description="Show an adoption job: counters, rate, start, end and its items.",
        operations=[{"method": "GET", "path": "/os-adoption-jobs/{job_id}"}],
    ),
    policy.DocumentedRuleDefault(
        name=JOB_ACTION,
        check_str=base.RULE_ADMIN_API,
        description="Pause, resume, cancel or undo an adoption job.",
        operations=[{"method": "POST", "path": "/os-adoption-jobs/{job_id}/action"}],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules + job_rules
