"""moto settings that keep a sandbox reset cheap, applied before moto's backends are first built.

Provisioning attaches two AWS managed policies, so moto must know them
(MOTO_IAM_LOAD_MANAGED_POLICIES). Loading all ~1,600 of them costs about 0.25 s per IAM partition
on every reset and again on first use (~3.5 s per reset in total); the stack only needs a handful,
so in-process sandboxes (the test fixture) restrict the set to those. The default EC2 AMIs are not
needed either (no instances are launched).
"""

from __future__ import annotations

import json
import os

# The AWS managed policies the example stack (and its Terraform root) attaches.
STACK_MANAGED_POLICIES = (
    "AmazonECSTaskExecutionRolePolicy",
    "AWSCodeDeployRoleForECS",
    "AmazonECSInfrastructureRolePolicyForLoadBalancers",  # the ECS-native variant (ecs_deployments)
)

ENV_DEFAULTS = {
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}


def server_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a sandbox server process: `base` (os.environ) plus the defaults above."""
    env = dict(os.environ if base is None else base)
    for key, value in ENV_DEFAULTS.items():
        env.setdefault(key, value)
    return env


def apply_in_process(limit_policies: bool = True) -> None:
    """Apply the defaults to this process; with limit_policies, moto knows only the stack's policies.

    Safe to call more than once; must run before moto's IAM backend is first instantiated to take
    full effect (it only changes data read at backend (re)initialisation, so a reset picks it up).
    """
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    if not limit_policies:
        return
    import moto.iam.models as iam_models

    data = json.loads(iam_models.aws_managed_policies_data)
    subset = {name: data[name] for name in STACK_MANAGED_POLICIES if name in data}
    missing = set(STACK_MANAGED_POLICIES) - set(subset)
    if missing:  # moto's bundled policy data changed: fail loudly rather than provision differently
        raise RuntimeError(f"moto no longer bundles the AWS managed policies {sorted(missing)}")
    iam_models.aws_managed_policies_data = json.dumps(subset)
