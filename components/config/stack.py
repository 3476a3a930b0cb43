"""Reading the stack config: the one place that touches `pulumi.Config`.

`load_stack_config` reads every key of this project and the stack's `aws:` settings, hands them to
the pure checks (`whole.py`) and logs what is valid but worth a second look. `load_last_deployment`
reads what the stack's last update exported, which the program keeps stable across runs.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config.connectivity import IPAM_POOL_ID
from components.config.parse import TOP_LEVEL_KEYS
from components.config.whole import StackConfig, check_stack_config
from components.model.deployed import LastDeployment
from components.model.spec import PROJECT, IpamPool


def _decode(value: str) -> Any:
    # Pulumi hands structured config over as JSON text and plain strings as they are; a string where
    # a list belongs must reach validation as a string, not fail here.
    try:
        return json.loads(value)
    except ValueError:
        return value


def _config_keys(namespace: str) -> dict[str, str]:
    """Every key the stack sets in `namespace`, without it, as the CLI hands it over."""
    values = dict(pulumi.runtime.config.get_config_env())
    values.update(pulumi.runtime.config.CONFIG.get())
    prefix = f"{namespace}:"
    return {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}


def load_stack_config(last: LastDeployment = LastDeployment()) -> StackConfig:
    """Reads the stack's config (the project's keys and the `aws:` settings the mesh's providers and
    kubeconfigs honour) and validates it, against what the stack last deployed (`last`) too: one
    error with every problem, or the config and its warnings, logged. Call before creating any resource."""
    config = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    for key in dict.fromkeys([*_config_keys(PROJECT), *TOP_LEVEL_KEYS]):
        value = config.get(key)
        if value is not None:
            raw[key] = value if key in ("meshId", "istioVersion") else _decode(value)
    aws_values = {key: value if key == "profile" else _decode(value) for key, value in _config_keys("aws").items()}
    loaded = check_stack_config(
        raw,
        aws_values,
        stack=pulumi.get_stack(),
        now=datetime.datetime.now(datetime.UTC),
        secret_keys=frozenset(k for k in raw if pulumi.runtime.config.is_config_secret(f"{PROJECT}:{k}")),
        aws_secret_keys=frozenset(k for k in aws_values if pulumi.runtime.config.is_config_secret(f"aws:{k}")),
        last=last,
        ipam=read_ipam_pools(raw.get("ipamPools")),
    )
    for warning in [*loaded.warnings, *loaded.aws.notices]:
        pulumi.log.warn(warning)
    return loaded


# The engine's own function behind a StackReference (pkg/resource/deploy/builtins.go in
# pulumi/pulumi): the named stack's outputs as its last update left them, empty before the first.
READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"


def read_ipam_pools(value: Any) -> dict[str, IpamPool]:
    """What AWS says of each pool `ipamPools` names (an entry out of shape is left to validation,
    which names it), so validation can avoid and check their ranges before anything exists. Read
    through the stack's default AWS provider, which takes the same `aws:` settings as the mesh's."""
    pools = {}
    for region, pool_id in value.items() if isinstance(value, dict) else ():
        if not (isinstance(region, str) and isinstance(pool_id, str) and IPAM_POOL_ID.fullmatch(pool_id)):
            continue
        try:
            pool = aws.ec2.get_vpc_ipam_pool(ipam_pool_id=pool_id, region=region)
            cidrs = aws.ec2.get_vpc_ipam_pool_cidrs(ipam_pool_id=pool_id, region=region)
        except Exception as err:  # noqa: BLE001 re-raised naming the key
            raise pulumi.RunError(
                f"ipamPools.{region}: cannot read {pool_id} in {region}: {str(err).splitlines()[0][:300]}"
            ) from None
        pools[pool_id] = IpamPool(
            locale=pool.locale,
            address_family=pool.address_family,
            min_netmask=pool.allocation_min_netmask_length,
            max_netmask=pool.allocation_max_netmask_length or 32,
            required_tags=dict(pool.allocation_resource_tags or {}),
            provisioned=tuple(c.cidr for c in cidrs.ipam_pool_cidrs if c.state == "provisioned"),
        )
    return pools


def load_last_deployment() -> LastDeployment:
    """What this stack's last update exported (`clusters`, `clusterCreators`, `addonVersions`, `vpcCidrs`,
    `vpcIpamPools`, `sameNetworkPairs`), read back."""
    # The DIY backend's organization is "organization", Pulumi Cloud's the stack's.
    qualified = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    try:
        result = pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": qualified})
    except Exception as err:  # noqa: BLE001 re-raised with what to do
        # A DIY backend in the legacy layout (not project-scoped) refuses qualified names; a bare
        # name elsewhere would be looked up in another organization, so it is never tried.
        raise pulumi.RunError(
            f"cannot read this stack's last outputs ({qualified}), which keep its VPC ranges, cluster creators"
            " and add-on"
            f" versions: {str(err).splitlines()[0][:300]}. A DIY backend in the legacy layout needs `pulumi"
            " state upgrade`"
        ) from None
    outputs = (result.value or {}).get("outputs") or {}
    # What a hand-edited state may hold out of shape is taken as not recorded.
    clusters, creators, addons, cidrs, pools, pairs = (
        outputs.get(key)
        for key in ("clusters", "clusterCreators", "addonVersions", "vpcCidrs", "vpcIpamPools", "sameNetworkPairs")
    )
    return LastDeployment(
        clusters=frozenset(clusters) if isinstance(clusters, dict) else frozenset(),
        regions={
            k: v["region"] for k, v in clusters.items() if isinstance(v, dict) and isinstance(v.get("region"), str)
        }
        if isinstance(clusters, dict)
        else {},
        creators=_of_type(creators, str),
        addon_versions=_of_type(addons, dict),
        vpc_cidrs=_of_type(cidrs, str),
        vpc_ipam_pools={k: v for k, v in _of_type(pools, str).items() if IPAM_POOL_ID.fullmatch(v)},
        same_network_pairs=_pairs(pairs),
    )


def _pairs(value: Any) -> frozenset[tuple[str, str]]:
    """The recorded pairs; a pair recorded both ways (a hand edit) is taken as not recorded."""
    pairs = {
        (p[0], p[1])
        for p in (value if isinstance(value, list) else [])
        if isinstance(p, list) and len(p) == 2 and all(isinstance(n, str) for n in p)
    }
    return frozenset(p for p in pairs if p[::-1] not in pairs)


def _of_type(value: Any, kind: type) -> dict[str, Any]:
    return {k: v for k, v in value.items() if isinstance(v, kind)} if isinstance(value, dict) else {}
