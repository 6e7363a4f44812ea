"""Policy enforcement of the REST API with oslo.policy and the defaults of volmgr_api.policies."""

from typing import Any

from oslo_config import cfg
from oslo_policy import policy

from volmgr_api import policies
from volmgr_api.rest import faults
from volmgr_common.context import RequestContext


class Enforcer:
    """Checks a caller against a rule; the rules file is ``[oslo_policy] policy_file``."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._enforcer = policy.Enforcer(conf)
        self._enforcer.register_defaults(policies.list_rules())

    def authorize(self, ctxt: RequestContext, rule: str, target: dict[str, Any]) -> None:
        """Raise a 403 HTTPError unless ``rule`` allows ``ctxt`` on ``target``."""
        if not self.allows(ctxt, rule, target):
            raise faults.forbidden(f"Policy doesn't allow {rule} to be performed.")

    def allows(self, ctxt: RequestContext, rule: str, target: dict[str, Any]) -> bool:
        creds = dict(ctxt.to_policy_values())
        creds["is_admin"] = bool(ctxt.is_admin)
        return bool(self._enforcer.authorize(rule, target, creds, do_raise=False))
