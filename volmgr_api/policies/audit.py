"""Rules of the audit of managed volumes: asking for one and seeing drift, admin only."""

from oslo_policy import policy

from volmgr_api.policies import base

AUDIT = "volume_extension:audit"
DRIFT_ATTRIBUTE = "volume_extension:volume_drift_attribute"

rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        name=AUDIT,
        check_str=base.RULE_ADMIN_API,
        description="Audit a backend now: check every volume it manages against the backend "
        "(the backend is only read) and record the drift found.",
        operations=[{"method": "POST", "path": "/os-audit"}],
    ),
    policy.DocumentedRuleDefault(
        name=DRIFT_ATTRIBUTE,
        check_str=base.RULE_ADMIN_API,
        description="Show the os-vol-drift-attr:drift attribute of a volume: what the last "
        "audit found different on the backend (kind, expected, found, since).",
        operations=[
            {"method": "GET", "path": "/volumes/{volume_id}"},
            {"method": "GET", "path": "/volumes/detail"},
        ],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
