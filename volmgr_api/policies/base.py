"""Rules the others are built from: who is an admin, who owns the target."""

from oslo_policy import policy

RULE_ADMIN_OR_OWNER = "rule:admin_or_owner"
RULE_ADMIN_API = "rule:admin_api"

rules: list[policy.RuleDefault] = [
    policy.RuleDefault(
        "context_is_admin", "role:admin", description="Decides who is an administrator."
    ),
    policy.RuleDefault(
        "admin_or_owner",
        "is_admin:True or project_id:%(project_id)s",
        description="An administrator, or a member of the project that owns the target.",
    ),
    policy.RuleDefault("admin_api", "is_admin:True", description="An administrator only."),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
