"""Rules of volume types: everyone may list them; extra specs are for admins."""

from oslo_policy import policy

from volmgr_api.policies import base

GET = "volume_extension:type_get"
GET_ALL = "volume_extension:type_get_all"
EXTRA_SPECS = "volume_extension:access_types_extra_specs"

rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        name=GET_ALL,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description="List volume types.",
        operations=[{"method": "GET", "path": "/types"}],
    ),
    policy.DocumentedRuleDefault(
        name=GET,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description="Show a volume type.",
        operations=[{"method": "GET", "path": "/types/{type_id}"}],
    ),
    policy.DocumentedRuleDefault(
        name=EXTRA_SPECS,
        check_str=base.RULE_ADMIN_API,
        description="Show the extra specs of volume types.",
        operations=[
            {"method": "GET", "path": "/types"},
            {"method": "GET", "path": "/types/{type_id}"},
        ],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
