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


def list_rules() -> list[policy.RuleDefault]:
    return rules
