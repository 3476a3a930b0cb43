"""What the program reads from AWS before it validates the config: the IPAM pools `ipamPools`
names, so that validation can avoid and check their ranges before anything exists."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.model.spec import IPAM_POOL_ID, IpamPool


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
