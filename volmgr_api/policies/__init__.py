"""Default policy rules of the volmgr REST API, with Cinder's rule names and defaults.

``list_rules`` is the ``oslo.policy.policies`` entry point from which
``oslopolicy-sample-generator --namespace volmgr`` writes etc/volmgr/policy.yaml.sample.
An operator overrides a rule in the file named by ``[oslo_policy] policy_file``.
"""

import itertools

from oslo_policy import policy

from volmgr_api.policies import (
    adoption,
    base,
    manageable_volumes,
    messages,
    quotas,
    services,
    volume_types,
    volumes,
)


def list_rules() -> list[policy.RuleDefault]:
    """Every default rule, base rules first."""
    return list(
        itertools.chain(
            base.list_rules(),
            volumes.list_rules(),
            manageable_volumes.list_rules(),
            services.list_rules(),
            quotas.list_rules(),
            messages.list_rules(),
            volume_types.list_rules(),
            adoption.list_rules(),
        )
    )
