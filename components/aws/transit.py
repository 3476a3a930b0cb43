"""Private connectivity (`connectivity: private`): the mesh's VPCs reach each other over Transit
Gateways, one per region, instead of the internet.

- One Transit Gateway per region (or the one `transitGateways` names there), with default route
  table association and propagation on: each VPC attachment puts its VPC's range in the region's
  route table by itself.
- One attachment per VPC, in its private subnets (one per zone, where the nodes, the control plane's
  ENIs and the internal NLBs are).
- Every route table of every VPC sends `meshCidr` and `operatorCidrs` to its region's gateway; the
  VPC's own range stays local (the more specific route).
- The operators' networks (`operatorCidrs`) enter at the gateways `transitGateways` names, which
  route them already (the network team attaches and propagates them); every region whose gateway
  the mesh made gets a static route for each over the peering to the first of those regions.
- Between every two regions a peering attachment (requested from the region first in alphabetical
  order, accepted in the other, so reordering clusters keeps it: AWS holds one per gateway pair),
  and in each region's route table a static route for each VPC range of the other region: peering
  attachments propagate nothing (docs.aws.amazon.com/vpc/latest/tgw/tgw-peering.html).
  Each side's peering attachment is associated with its gateway's default route table, as every
  attachment is with default association on (hashicorp/terraform-provider-aws#16452 shows the
  accepter's), so traffic arriving over a peering is routed by the same table.

Cost: about $0.05 per attachment-hour (VPC and peering) and $0.02 per GB processed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import pulumi
import pulumi_aws as aws

from components.aws.network import Vpc
from components.model.spec import ClusterSpec


@dataclass(frozen=True)
class TransitMember:
    cluster: ClusterSpec
    network: Vpc


@dataclass
class TransitNetworkArgs:
    # Every cluster of the mesh.
    members: Sequence[TransitMember]
    # One AWS provider per region.
    providers: Mapping[str, aws.Provider]
    mesh_cidr: str
    operator_cidrs: Sequence[str] = ()
    # Regions whose Transit Gateway exists already (`transitGateways`): region -> its ID.
    existing: Mapping[str, str] = field(default_factory=dict)
    mesh_id: str = "mesh"


class TransitNetwork(pulumi.ComponentResource):
    """What other components use of the mesh's Transit Gateways."""

    # Per region, its Transit Gateway's ID.
    gateway_ids: dict[str, pulumi.Output[str]]
    # Per cluster, what its traffic to the rest of the mesh needs: its attachment and VPC routes.
    paths: dict[str, list[pulumi.Resource]]

    def __init__(self, name: str, args: TransitNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:transit:TransitNetwork", name, None, opts)
        regions = list(dict.fromkeys(m.cluster.region for m in args.members))
        self._providers = args.providers
        self.gateway_ids, route_tables = {}, {}
        for region in regions:
            self.gateway_ids[region], route_tables[region] = self._gateway(region, args)
        self.paths = {}
        attachments: dict[str, aws.ec2transitgateway.VpcAttachment] = {}
        for m in args.members:
            c = m.cluster
            attachment = aws.ec2transitgateway.VpcAttachment(
                f"{c.name}-tgw-attachment",
                transit_gateway_id=self.gateway_ids[c.region],
                vpc_id=m.network.vpc_id,
                subnet_ids=m.network.private_subnet_ids,
                dns_support="enable",
                tags={"Name": f"{c.eks_name}-tgw"},
                opts=self._on(c.region),
            )
            attachments[c.name] = attachment
            # Named by destination, not position: a route removed from the middle of operatorCidrs
            # must not rename the ones after it (a renamed route is created before the old one is
            # deleted, and EC2 refuses a second route to the same destination).
            routes = [
                aws.ec2.Route(
                    f"{c.name}-tgw-route-{i}-{cidr_slug(cidr)}",
                    route_table_id=table,
                    destination_cidr_block=cidr,
                    transit_gateway_id=self.gateway_ids[c.region],
                    # A route to a gateway the VPC is not attached to yet is refused.
                    opts=self._on(c.region, depends_on=[attachment]),
                )
                for i, table in enumerate(m.network.route_table_ids)
                for cidr in [args.mesh_cidr, *args.operator_cidrs]
            ]
            self.paths[c.name] = [attachment, *routes]
        by_region = {r: [m for m in args.members if m.cluster.region == r] for r in regions}
        entry = min(args.existing, default=None)
        for first, second in combinations(sorted(regions), 2):
            peering = aws.ec2transitgateway.PeeringAttachment(
                f"tgw-peering-{first}-{second}",
                transit_gateway_id=self.gateway_ids[first],
                peer_region=second,
                peer_transit_gateway_id=self.gateway_ids[second],
                tags={"Name": f"{args.mesh_id}-{first}-{second}"},
                opts=self._on(first),
            )
            accepted = aws.ec2transitgateway.PeeringAttachmentAccepter(
                f"tgw-peering-{first}-{second}-accepter",
                transit_gateway_attachment_id=peering.id,
                tags={"Name": f"{args.mesh_id}-{second}-{first}"},
                opts=self._on(second),
            )
            for here, there in ((first, second), (second, first)):
                # The operators' networks enter at the network team's gateways; a region whose
                # gateway the mesh made sends its replies to them over the peering to the first.
                if there == entry and here not in args.existing:
                    for cidr in args.operator_cidrs:
                        route = aws.ec2transitgateway.Route(
                            f"tgw-route-{here}-to-operators-{cidr_slug(cidr)}",
                            destination_cidr_block=cidr,
                            transit_gateway_attachment_id=peering.id,
                            transit_gateway_route_table_id=route_tables[here],
                            opts=self._route_on(here, accepted),
                        )
                        for member in by_region[here]:
                            self.paths[member.cluster.name].append(route)
                for m in by_region[there]:
                    route = aws.ec2transitgateway.Route(
                        f"tgw-route-{here}-to-{m.cluster.name}",
                        destination_cidr_block=m.network.cidr_block,
                        transit_gateway_attachment_id=peering.id,
                        transit_gateway_route_table_id=route_tables[here],
                        opts=self._route_on(here, accepted),
                    )
                    for member in by_region[here]:
                        self.paths[member.cluster.name].append(route)
        self.register_outputs({"transitGatewayIds": self.gateway_ids})

    def _on(self, region: str, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._providers[region], depends_on=depends_on)

    def _route_on(self, region: str, accepted: pulumi.Resource) -> pulumi.ResourceOptions:
        """A static route needs its peering accepted (available). Its identity is its table and
        destination (terraform-provider-aws internal/service/ec2/transitgateway_route.go: the ID is
        route table + destination, and it has no update): a route whose peering is replaced (a
        region moving between a gateway of the mesh's own and the network team's) or whose
        operators' region moves is replaced in the same table, where a second route to the same
        destination is refused, so the old one is always deleted first."""
        return pulumi.ResourceOptions.merge(
            self._on(region, depends_on=[accepted]), pulumi.ResourceOptions(delete_before_replace=True)
        )

    def _gateway(self, region: str, args: TransitNetworkArgs) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The region's gateway and the route table its attachments associate with."""
        if region in args.existing:
            # Read before anything is attached to it: a gateway that cannot serve stops the run in one line.
            found = aws.ec2transitgateway.get_transit_gateway(
                id=args.existing[region], opts=pulumi.InvokeOptions(parent=self, provider=self._providers[region])
            )
            _check_existing(region, found)
            return pulumi.Output.from_input(found.id), pulumi.Output.from_input(
                found.association_default_route_table_id
            )
        gateway = aws.ec2transitgateway.TransitGateway(
            f"tgw-{region}",
            description=f"istio-eks-mesh {args.mesh_id} ({region})",
            default_route_table_association="enable",
            default_route_table_propagation="enable",
            auto_accept_shared_attachments="disable",
            dns_support="enable",
            tags={"Name": f"{args.mesh_id}-{region}"},
            opts=self._on(region),
        )
        return gateway.id, gateway.association_default_route_table_id


def cidr_slug(cidr: str) -> str:
    """A CIDR as a resource-name part: 10.0.0.0/8 -> 10-0-0-0-8."""
    return cidr.replace(".", "-").replace("/", "-")


def _check_existing(region: str, gateway: aws.ec2transitgateway.GetTransitGatewayResult) -> None:
    """The wiring above relies on the gateway's default route table: every attachment associates
    with it and propagates its VPC's range into it. A gateway whose network team turned either off
    would leave the attachments unrouted, so the run stops, naming the setting."""
    off = [
        name
        for name, value in (
            ("DefaultRouteTableAssociation", gateway.default_route_table_association),
            ("DefaultRouteTablePropagation", gateway.default_route_table_propagation),
        )
        if value != "enable"
    ]
    if off:
        raise pulumi.RunError(
            f"transitGateways.{region}: {gateway.id} has {' and '.join(off)} disabled; the mesh's attachments need both"
            " (each VPC's range propagated into the default route table): enable them (aws ec2 modify-transit-gateway"
            " --options ...) or leave transitGateways unset for this region to get a gateway of the mesh's own"
        )
