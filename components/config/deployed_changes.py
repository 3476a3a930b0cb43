"""What a deployed cluster cannot become, refused from what the stack recorded before anything is
created: each refusal names the key and the way there (a new cluster beside it)."""

from __future__ import annotations

import ipaddress
from typing import Any

from components.config.validate import Problems
from components.model.deployed import LastDeployment

_RECIPE = (
    "; to get that, add a new cluster beside it (another name) with the new settings, move the workloads"
    " to it, then remove this one (docs/operations/eks-in-production.md)"
)


def check_deployed(parsed: list[dict[str, Any]], last: LastDeployment, problems: Problems) -> None:
    """What a deployed cluster cannot become, from what the stack recorded: another region (every
    regional resource has a `region` that forces replacement, pulumi-aws 7, so the whole cluster
    and everything running on it would be rebuilt), another VPC range (a second VPC would be made,
    and EKS cannot move a cluster to it), another set of zones (EKS takes new subnets only in the
    zones it was created with: EKS user guide, network requirements; containers-roadmap#2330), and
    another Secrets key or none (EKS user guide, enable-kms: "You can't disable secrets encryption
    after enabling it"; there is no API to change the key)."""
    for e in parsed:
        name, path = e["name"], f"clusters[{e['index']}]"
        if not isinstance(name, str) or name not in last.clusters:
            continue
        region = last.regions.get(name)
        if region and e["region"] and e["region"] != region:
            problems.add(
                f"{path}.region",
                f"{e['region']} is not {region}, where {name!r} is deployed: a cluster cannot move to another region"
                f" (set {region}){_RECIPE}",
            )
            continue
        # A range from an IPAM pool is held to the pool's allocation by clusters._fixed_cidrs, in one message.
        recorded = None if last.vpc_ipam_pools.get(name) else _recorded(last.vpc_cidrs.get(name))
        if e["explicit_cidr"] and e["vpc_cidr"] is not None and recorded is not None and e["vpc_cidr"] != recorded:
            problems.add(
                f"{path}.vpcCidr",
                f"{e['vpc_cidr']} is not {recorded}, the range of {name!r}'s deployed VPC: a VPC's range cannot"
                f" change and EKS cannot move the cluster to a new VPC (set {recorded}){_RECIPE}",
            )
        _check_zones(e, path, last.zones.get(name), problems)
        key, kept = e["eks"].secrets_kms_key_arn, last.kms_keys.get(name)
        if kept and key != kept:
            problems.add(
                f"{path}.secretsKmsKeyArn",
                f"{name!r} encrypts its Secrets with {kept}, for good: EKS cannot turn the encryption off (removing"
                " the key would replace the cluster) or change its key (set it back to that key){_RECIPE}",
            )


def _check_zones(e: dict[str, Any], path: str, recorded: tuple[str, ...] | None, problems: Problems) -> None:
    zones = e["availability_zones"]
    if not recorded or zones == recorded or (isinstance(zones, int) and zones == len(recorded)):
        return
    if isinstance(zones, int):
        change = f"{zones} zones, but {e['name']!r} is deployed in {len(recorded)}"
    else:
        added, removed = sorted(set(zones) - set(recorded)), sorted(set(recorded) - set(zones))
        change = (
            f"adds {', '.join(added)}" * bool(added)
            + (" and " if added and removed else "")
            + f"removes {', '.join(removed)}" * bool(removed)
            or "lists the zones in another order (which would replace every subnet)"
        )
        change += f"; {e['name']!r} is deployed in {', '.join(recorded)}"
    problems.add(
        f"{path}.availabilityZones",
        f"{change}: EKS takes subnets only in the zones a cluster was created with, and a subnet in use cannot be"
        f" removed (set {list(recorded)}){_RECIPE}",
    )


def _recorded(value: Any) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(value) if isinstance(value, str) else None
    except ValueError:
        return None
