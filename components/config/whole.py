"""The whole stack config checked in one pass: the project's keys (against what the stack last
deployed too) and the `aws:` settings, every problem of both in one error, and the warnings
`pulumi up` prints. Pure: `pulumi up` (stack.py) and `python -m check` both call it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from components.config.aws_settings import parse_aws_settings
from components.config.clusters import REGIONS
from components.config.cni_identity import vpc_cni_warnings
from components.config.connectivity import private_notices
from components.config.credentials import rotation_notices
from components.config.eks import region_partition, support_warnings
from components.config.mtls import mtls_notices
from components.config.node_ami import driverless_warnings
from components.config.node_release import release_age_warnings
from components.config.node_template import launch_template_warnings
from components.config.parse import parse_mesh_spec, stack_name_notices, upgrade_notices
from components.config.revisions import support_notices
from components.config.sources import image_pull_notices
from components.config.validate import ConfigError
from components.model.aws_settings import AwsSettings
from components.model.credentials import age_notices
from components.model.deployed import LastDeployment
from components.model.spec import PROJECT, IpamPool, MeshSpec, TransitGatewayFacts
from components.plan.mesh_plan import MeshPlan, plan_mesh

T = TypeVar("T")


@dataclass(frozen=True)
class StackConfig:
    spec: MeshSpec
    aws: AwsSettings
    # What is valid but worth a second look, as `pulumi up` warns of it (key first).
    warnings: tuple[str, ...]
    # What the program builds of it: planned once, here, for `pulumi up` and `python -m check` alike.
    plan: MeshPlan


def check_stack_config(
    raw: Mapping[str, Any],
    aws_values: Mapping[str, Any],
    *,
    stack: str,
    now: datetime.datetime,
    secret_keys: frozenset[str] = frozenset(),
    aws_secret_keys: frozenset[str] = frozenset(),
    last: LastDeployment = LastDeployment(),
    ipam: Mapping[str, IpamPool] | None = None,
    gateways: Mapping[str, TransitGatewayFacts] | None = None,
) -> StackConfig:
    """`raw`: the project's keys (decoded); `aws_values`: the `aws:` keys. Raises one ConfigError
    with every problem of either."""
    found: list[tuple[str, str]] = []
    # A region of the wrong type reaches the parser, which names aws:region.
    default_region = aws_values.get("region")
    spec = _collected(
        found,
        lambda: parse_mesh_spec(
            raw,
            default_region=default_region,
            stack=stack,
            secret_keys=secret_keys,
            now=now,
            last=last,
            ipam=ipam,
            gateways=gateways,
        ),
    )
    # Role ARNs are checked against the clusters' partition: the parsed clusters', else every region
    # named, unless those span partitions, which the clusters' own problem names already.
    regions = [c.region for c in spec.clusters] if spec is not None else _regions_named(raw, default_region)
    if len({region_partition(r) for r in regions}) > 1:
        regions = []
    role = raw.get("kubeconfigRoleArn") if isinstance(raw.get("kubeconfigRoleArn"), str) else None
    settings = _collected(
        found,
        lambda: parse_aws_settings(
            aws_values,
            regions=regions,
            secret_keys=aws_secret_keys,
            kubeconfig_role=spec.access.kubeconfig_role_arn if spec is not None else role,
        ),
    )
    if found:
        raise ConfigError(found)
    plan = plan_mesh(spec, last, legacy_creator=settings.assumed_role_arn)
    return StackConfig(spec=spec, aws=settings, warnings=tuple(stack_warnings(raw, plan, stack, now, last)), plan=plan)


def _collected(found: list[tuple[str, str]], check: Callable[[], T]) -> T | None:
    try:
        return check()
    except ConfigError as err:
        known = set(found)
        found.extend(p for p in dict.fromkeys(err.problems) if p not in known)
        return None


def _regions_named(raw: Mapping[str, Any], default_region: str | None) -> list[str]:
    clusters = raw.get("clusters") if isinstance(raw.get("clusters"), list) else []
    named = [c.get("region", default_region) if isinstance(c, dict) else None for c in clusters]
    return [r for r in named if isinstance(r, str) and r in REGIONS]


def stack_warnings(
    raw: Mapping[str, Any], plan: MeshPlan, stack: str, now: datetime.datetime, last: LastDeployment
) -> list[str]:
    """Every warning of a valid config, as `pulumi up` prints them and `python -m check` lists them."""
    spec, today = plan.spec, now.date()
    istio_versions = [r.version for r in spec.revisions.revisions]
    version_key = "istioRevisions" if "istioRevisions" in raw else "istioVersion"
    warnings = [
        *(f"{PROJECT}:{n}" for n in upgrade_notices(raw, spec, plan.topology)),
        *stack_name_notices(stack),
        *(f"{PROJECT}:{n}" for n in private_notices(spec.connectivity)),
        *support_warnings(spec.clusters, today, last.clusters),
        *driverless_warnings(spec.clusters),
        *launch_template_warnings(spec.clusters),
        *vpc_cni_warnings(spec.clusters),
        *release_age_warnings(spec.clusters, today),
        *(f"{PROJECT}:{version_key}: {n}" for n in support_notices(spec.revisions, today)),
        *(f"{PROJECT}:{n}" for n in age_notices(spec.reader_tokens, now)),
        *(f"{PROJECT}:{n}" for n in mtls_notices(raw, spec.mtls)),
        *(f"{PROJECT}:{n}" for n in image_pull_notices(spec)),
        *(f"{PROJECT}:{n}" for n in rotation_notices(spec.reader_tokens, last, istio_versions)),
    ]
    if spec.api_open_to_internet:
        why = "is not set" if "apiAccessCidrs" not in raw else "contains 0.0.0.0/0"
        warnings.append(
            f"{PROJECT}:apiAccessCidrs {why}, so the EKS API endpoints accept connections from"
            " 0.0.0.0/0. Set it to the CIDRs you run Pulumi and kubectl from."
        )
    return warnings
