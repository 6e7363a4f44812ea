"""Rules of manage, unmanage and the listing of manageable objects: admin only."""

from oslo_policy import policy

from volmgr_api.policies import base

MANAGE = "volume_extension:volume_manage"
UNMANAGE = "volume_extension:volume_unmanage"
LIST_MANAGEABLE = "volume_extension:list_manageable"

rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        name=LIST_MANAGEABLE,
        check_str=base.RULE_ADMIN_API,
        description="List the objects of a backend and whether each can be managed.",
        operations=[
            {"method": "GET", "path": "/os-volume-manage"},
            {"method": "GET", "path": "/os-volume-manage/detail"},
            {"method": "GET", "path": "/manageable_volumes"},
            {"method": "GET", "path": "/manageable_volumes/detail"},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=MANAGE,
        check_str=base.RULE_ADMIN_API,
        description="Bring an existing backend object under management as a volume.",
        operations=[
            {"method": "POST", "path": "/os-volume-manage"},
            {"method": "POST", "path": "/manageable_volumes"},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=UNMANAGE,
        check_str=base.RULE_ADMIN_API,
        description="Stop managing a volume; the backend object stays.",
        operations=[{"method": "POST", "path": "/volumes/{volume_id}/action (os-unmanage)"}],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
