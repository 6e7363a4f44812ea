"""Rules of the services resource: admin only."""

from oslo_policy import policy

from volmgr_api.policies import base

GET_ALL = "volume_extension:services:index"

rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        name=GET_ALL,
        check_str=base.RULE_ADMIN_API,
        description="List the volmgr services, their zones and whether they are up.",
        operations=[{"method": "GET", "path": "/os-services"}],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
