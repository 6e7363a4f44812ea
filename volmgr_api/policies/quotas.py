"""Rules of quota sets: a project's own quota, any project's for an admin."""

from oslo_policy import policy

from volmgr_api.policies import base

SHOW = "volume_extension:quotas:show"

rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        name=SHOW,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description="Show the quota limits (and, with usage=True, the usage) of a project. "
        "The target's project_id is the project whose quota is shown.",
        operations=[{"method": "GET", "path": "/os-quota-sets/{project_id}"}],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
