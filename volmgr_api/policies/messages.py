"""Rules of user messages: those of the caller's project, all for an admin."""

from oslo_policy import policy

from volmgr_api.policies import base

GET = "message:get"
GET_ALL = "message:get_all"

rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        name=GET_ALL,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description="List the messages that say why requests failed.",
        operations=[{"method": "GET", "path": "/messages"}],
    ),
    policy.DocumentedRuleDefault(
        name=GET,
        check_str=base.RULE_ADMIN_OR_OWNER,
        description="Show one message.",
        operations=[{"method": "GET", "path": "/messages/{message_id}"}],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
