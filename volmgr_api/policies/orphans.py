"""Rules of the orphan listing and of re-adoption: admin only."""

from oslo_policy import policy

from volmgr_api.policies import base

LIST = "volume_extension:orphans:index"
READOPT = "volume_extension:orphans:readopt"

rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        name=LIST,
        check_str=base.RULE_ADMIN_API,
        description="List the objects of a backend in managed form that no volume knows "
        "(orphans, e.g. after a database restore), with what the backend says of each.",
        operations=[{"method": "GET", "path": "/os-orphans"}],
    ),
    policy.DocumentedRuleDefault(
        name=READOPT,
        check_str=base.RULE_ADMIN_API,
        description="Re-adopt an orphan under the volume id its name carries and its "
        "original project, without renaming it; quota is charged.",
        operations=[{"method": "POST", "path": "/os-orphans/action (os-readopt)"}],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
