"""Rules of the services resource: admin only."""

from oslo_policy import policy

from volmgr_api.policies import base

GET_ALL = "volume_extension:services:index"
UPDATE = "volume_extension:services:update"

rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        name=GET_ALL,
        check_str=base.RULE_ADMIN_API,
        description="List the volmgr services, their zones and whether they are up.",
        operations=[{"method": "GET", "path": "/os-services"}],
    ),
    policy.DocumentedRuleDefault(
        name=UPDATE,
        check_str=base.RULE_ADMIN_API,
        description="Disable a service (with or without a reason) or enable it again.",
        operations=[
            {"method": "PUT", "path": "/os-services/disable"},
            {"method": "PUT", "path": "/os-services/disable-log-reason"},
            {"method": "PUT", "path": "/os-services/enable"},
        ],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
