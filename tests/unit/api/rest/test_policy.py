"""The default policy: who may do what, checked with oslo.policy itself."""

import re
from pathlib import Path

import pytest
from oslo_config import cfg

from volmgr_api import policies
from volmgr_api.policies import manageable_volumes, messages, quotas, services, volumes
from volmgr_api.rest import faults
from volmgr_api.rest.policy import Enforcer
from volmgr_common.context import RequestContext

SAMPLE = Path(__file__).parents[4] / "etc" / "volmgr" / "policy.yaml.sample"
ADMIN = RequestContext(user_id="admin", project_id="ops", roles=["admin"])
MEMBER = RequestContext(user_id="alice", project_id="p1", roles=["member"])
ADMIN_ONLY = [
    manageable_volumes.MANAGE,
    manageable_volumes.UNMANAGE,
    manageable_volumes.LIST_MANAGEABLE,
    services.GET_ALL,
    volumes.HOST_ATTRIBUTE,
]
OWNER_OR_ADMIN = [volumes.GET, volumes.GET_ALL, volumes.DELETE, quotas.SHOW, messages.GET_ALL]


@pytest.fixture
def enforcer() -> Enforcer:
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[], default_config_dirs=[])
    return Enforcer(conf)


@pytest.mark.parametrize("rule", ADMIN_ONLY)
def test_admin_only_rules(enforcer: Enforcer, rule: str) -> None:
    assert enforcer.allows(ADMIN, rule, {"project_id": "p1"})
    assert not enforcer.allows(MEMBER, rule, {"project_id": "p1"})


@pytest.mark.parametrize("rule", OWNER_OR_ADMIN)
def test_owner_or_admin_rules(enforcer: Enforcer, rule: str) -> None:
    assert enforcer.allows(MEMBER, rule, {"project_id": "p1"})
    assert not enforcer.allows(MEMBER, rule, {"project_id": "p2"})
    assert enforcer.allows(ADMIN, rule, {"project_id": "p2"})


def test_refusal_is_a_403_naming_the_rule(enforcer: Enforcer) -> None:
    with pytest.raises(faults.HTTPError) as raised:
        enforcer.authorize(MEMBER, services.GET_ALL, {"project_id": "p1"})
    assert raised.value.code == 403
    assert raised.value.message == (
        "Policy doesn't allow volume_extension:services:index to be performed."
    )


def test_a_policy_file_overrides_a_default(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"volume_extension:services:index": "rule:admin_or_owner"\n')
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[], default_config_dirs=[])
    Enforcer(conf)  # registers the [oslo_policy] options on conf
    conf.set_override("policy_file", str(policy_file), group="oslo_policy")
    enforcer = Enforcer(conf)
    assert enforcer.allows(MEMBER, services.GET_ALL, {"project_id": "p1"})


def test_rule_names_are_unique_and_documented() -> None:
    names = [rule.name for rule in policies.list_rules()]
    assert len(names) == len(set(names))
    assert all(rule.description for rule in policies.list_rules())


def test_policy_sample_is_current() -> None:
    """etc/volmgr/policy.yaml.sample has every rule with its default (regenerate it with
    oslopolicy-sample-generator --config-file etc/volmgr/volmgr-policy-generator.conf)."""
    sample = dict(re.findall(r'^#"([^"]+)": "([^"]*)"$', SAMPLE.read_text(), re.MULTILINE))
    assert sample == {rule.name: rule.check_str for rule in policies.list_rules()}
