"""Rules of snapshots, with Cinder's names and defaults: manage, unmanage and the
manageable listing are an administrator's; show, list and deleting the record of a
failed manage are the owner's too."""

from oslo_policy import policy

from volmgr_api.policies import base

MANAGE = "snapshot_extension:snapshot_manage"
UNMANAGE = "snapshot_extension:snapshot_unmanage"
LIST_MANAGEABLE = "snapshot_extension:list_manageable"
GET = "volume:get_snapshot"
GET_ALL = "volume:get_all_snapshots"
DELETE = "volume:delete_snapshot"
EXTENDED_ATTRIBUTES = "volume_extension:extended_snapshot_attributes"

rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        name=LIST_MANAGEABLE,
        check_str=base.RULE_ADMIN_API,
        description="List the snapshot objects of a backend and whether each can be managed.",
        operations=[
            {"method": "GET", "path": "/os-snapshot-manage"},
            {"method": "GET", "path": "/os-snapshot-manage/detail"},
            {"method": "GET", "path": "/manageable_snapshots"},
            {"method": "GET", "path": "/manageable_snapshots/detail"},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=MANAGE,
        check_str=base.RULE_ADMIN_API,
        description="Bring an existing snapshot of a managed volume under management.",
        operations=[
            {"method": "POST", "path": "/os-snapshot-manage"},
            {"method": "POST", "path": "/manageable_snapshots"},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=UNMANAGE,
        check_str=base.RULE_ADMIN_API,
        description="Stop managing a snapshot; the backend object stays.",
        operations=[{"method": "POST", "path": "/snapshots/{snapshot_id}/action (os-unmanage)"}],
    ),
    policy.DocumentedRuleDefault(
        name=GET,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description="Show a snapshot.",
        operations=[{"method": "GET", "path": "/snapshots/{snapshot_id}"}],
    ),
    policy.DocumentedRuleDefault(
        name=GET_ALL,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description="List snapshots (an administrator may ask for all projects').",
        operations=[
            {"method": "GET", "path": "/snapshots"},
            {"method": "GET", "path": "/snapshots/detail"},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=DELETE,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description="Delete the record of a failed snapshot manage (status error); never "
        "touches backend data.",
        operations=[{"method": "DELETE", "path": "/snapshots/{snapshot_id}"}],
    ),
    policy.DocumentedRuleDefault(
        name=EXTENDED_ATTRIBUTES,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description=(
            "Show a snapshot's project and progress (the os-extended-snapshot-attributes fields)."
        ),
        operations=[
            {"method": "GET", "path": "/snapshots/{snapshot_id}"},
            {"method": "GET", "path": "/snapshots/detail"},
        ],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
