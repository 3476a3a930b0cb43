"""What the program reads from AWS before it validates the config: the IPAM pools `ipamPools`
names, so that validation can avoid and check their ranges, and the network team's Transit
Gateways `transitGateways` names, so that validation refuses what AWS would, before anything
exists. Read through the stack's default AWS provider, which takes the same `aws:` settings as the
mesh's (the region given on each read)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_aws import _enums as aws_enums

from components.model.spec import (
    IPAM_POOL_ID,
    TRANSIT_GATEWAY_ATTACHMENT_ID,
    TRANSIT_GATEWAY_ID,
    TRANSIT_GATEWAY_ROUTE_TABLE_ID,
    IpamPool,
    OperatorAttachmentFacts,
    TransitGatewayFacts,
)


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


# The regions pulumi-aws knows: any other key is refused by validation, and not read.
_REGIONS = frozenset(r.value for r in aws_enums.Region)


def read_transit_gateways(values: dict[str, Any]) -> dict[str, TransitGatewayFacts]:
    """What AWS says of each network team's gateway `transitGateways` names, and of the operators'
    entry there (`transitGatewayRouting`), so that validation can refuse what AWS would before
    anything exists: a gateway of another account (shared through RAM), an operators' attachment
    that is elsewhere or not associated with `returnRouteTable`, a route there inside `meshCidr`.
    An entry out of shape is left to validation, which names it; a read that fails is a problem
    too, named with its key (the default provider without a region or credentials among the causes)."""
    gateways, entries = values.get("transitGateways"), values.get("transitGatewayRouting")
    if values.get("connectivity") != "private" or not isinstance(gateways, dict):
        return {}
    named = {
        region: gateway_id
        for region, gateway_id in gateways.items()
        if region in _REGIONS and isinstance(gateway_id, str) and TRANSIT_GATEWAY_ID.fullmatch(gateway_id)
    }
    if not named:
        return {}
    try:
        caller = aws.get_caller_identity().account_id
    except Exception as err:  # noqa: BLE001 named with the key by validation
        why = (
            f"the stack's default AWS provider cannot say who runs this update: {_first_line(err)}; {_DEFAULT_PROVIDER}"
        )
        return {region: TransitGatewayFacts(gateway_id, "", "", unreadable=why) for region, gateway_id in named.items()}
    facts = {}
    for region, gateway_id in named.items():
        try:
            found = aws.ec2transitgateway.get_transit_gateway(id=gateway_id, region=region)
        except Exception as err:  # noqa: BLE001 named with the key by validation
            facts[region] = TransitGatewayFacts(gateway_id, "", caller, unreadable=_first_line(err))
            continue
        entry = entries.get(region) if isinstance(entries, dict) else None
        facts[region] = TransitGatewayFacts(found.id, found.owner_id, caller, **_operator_entry(region, entry))
    return facts


# What a failed read needs: the reads before validation go through the default provider.
_DEFAULT_PROVIDER = (
    "these reads run before anything else, through the stack's default AWS provider, which takes the stack's aws:"
    " settings: give it aws:region (any region of the mesh; each read names its own) and the credentials the"
    " mesh's providers use"
)


def _operator_entry(region: str, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        return {}
    attachment_id, table = entry.get("operatorAttachment"), entry.get("returnRouteTable")
    read: dict[str, Any] = {}
    if isinstance(attachment_id, str) and TRANSIT_GATEWAY_ATTACHMENT_ID.fullmatch(attachment_id):
        try:
            found = aws.ec2transitgateway.get_attachment(transit_gateway_attachment_id=attachment_id, region=region)
            read["attachment"] = OperatorAttachmentFacts(
                found.transit_gateway_id, found.state, found.association_transit_gateway_route_table_id or None
            )
        except Exception as err:  # noqa: BLE001 the provider's answer for an ID it cannot find, named by validation
            read["attachment_unreadable"] = _first_line(err)
    if isinstance(table, str) and TRANSIT_GATEWAY_ROUTE_TABLE_ID.fullmatch(table):
        try:
            routes = aws.ec2transitgateway.get_route_table_routes(
                transit_gateway_route_table_id=table,
                filters=[{"name": "type", "values": ["static", "propagated"]}],
                region=region,
            )
            read["return_routes"] = tuple(r.destination_cidr_block for r in routes.routes)
        except Exception as err:  # noqa: BLE001 named with the key by validation
            read["return_routes_unreadable"] = _first_line(err)
    return read


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0][:300]
