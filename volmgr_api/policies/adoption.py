"""Rules of adoption plans and jobs: admin only (an adoption acts on a whole backend)."""

from oslo_policy import policy

from volmgr_api.policies import base

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
    return job_rules
