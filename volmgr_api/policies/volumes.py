"""Rules of the volumes resource: show, list, delete and the admin-only attributes."""

from oslo_policy import policy

from volmgr_api.policies import base

GET = "volume:get"
GET_ALL = "volume:get_all"
DELETE = "volume:delete"
HOST_ATTRIBUTE = "volume_extension:volume_host_attribute"
TENANT_ATTRIBUTE = "volume_extension:volume_tenant_attribute"
PROVENANCE_ATTRIBUTE = "volume_extension:volume_provenance_attribute"

rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        name=GET,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description="Show a volume.",
        operations=[{"method": "GET", "path": "/volumes/{volume_id}"}],
    ),
    policy.DocumentedRuleDefault(
        name=GET_ALL,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description="List volumes (an administrator may ask for all projects' volumes).",
        operations=[
            {"method": "GET", "path": "/volumes"},
            {"method": "GET", "path": "/volumes/detail"},
            {"method": "GET", "path": "/volumes/summary"},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=DELETE,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description="Delete the record of a failed manage (status error); never touches "
        "backend data.",
        operations=[{"method": "DELETE", "path": "/volumes/{volume_id}"}],
    ),
    policy.DocumentedRuleDefault(
        name=HOST_ATTRIBUTE,
        check_str=base.RULE_ADMIN_API,
        description="Show the os-vol-host-attr:host attribute of a volume.",
        operations=[
            {"method": "GET", "path": "/volumes/{volume_id}"},
            {"method": "GET", "path": "/volumes/detail"},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=TENANT_ATTRIBUTE,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description="Show the os-vol-tenant-attr:tenant_id attribute of a volume.",
        operations=[
            {"method": "GET", "path": "/volumes/{volume_id}"},
            {"method": "GET", "path": "/volumes/detail"},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=PROVENANCE_ATTRIBUTE,
        check_str=base.RULE_ADMIN_API,
        description="Show the os-vol-provenance-attr:provenance attribute of a volume: "
        "where its backend object came from (reference, original name, size in bytes, "
        "backend identity) and who managed it when.",
        operations=[
            {"method": "GET", "path": "/volumes/{volume_id}"},
            {"method": "GET", "path": "/volumes/detail"},
        ],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
