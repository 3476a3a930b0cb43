"""Private connectivity (`connectivity: private`): the mesh's VPCs reach each other over Transit
Gateways, one per region, instead of the internet (docs/operations/private-mode.md).

- One Transit Gateway per region (or the network team's one `transitGateways` names there).
- A route domain of the mesh's own in each region: on a gateway of the mesh's own, its default route
  table (nothing but the mesh attaches there: shared attachments are not auto-accepted); on the network
  team's gateway, a route table the mesh makes. The mesh's VPC attachments and peerings are associated
  with it and propagate into it; there the attachments turn default association and propagation off,
  so nothing of the mesh lands in the network team's default table.
- One attachment per VPC, in its private subnets (one per zone, where the nodes, the control plane's
  ENIs and the internal NLBs are).
- Every route table of every VPC sends `meshCidr` and `operatorCidrs` to its region's gateway; the
  VPC's own range stays local (the more specific route).
- Between every two regions a peering attachment (requested from the region first in alphabetical
  order, accepted in the other, so reordering clusters keeps it: AWS holds one per gateway pair),
  and in each region's mesh table a static route for each VPC range of the other region: peering
  attachments propagate nothing (docs.aws.amazon.com/vpc/latest/tgw/tgw-peering.html).
- The operators' networks enter at the one region `transitGatewayRouting` names: their attachment
  propagates into the mesh's table there, and the mesh's VPC ranges go into the network team's table
  that attachment is associated with (the region's VPCs propagated, the other regions' as static
  routes over the peerings); validation read that table first: a route there inside `meshCidr` stops the run.
  Every other region has a static route per operator network over its peering to that one.

Cost: about $0.05 per attachment-hour, for each VPC attachment and each side of each peering (AWS
bills a peering to both gateways' owners), and $0.02 per GB processed (docs/operations/cost.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import pulumi
import pulumi_aws as aws

from components.aws.network import Vpc
from components.model.spec import ClusterSpec, OperatorEntry


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
    # Where the operators enter (`transitGatewayRouting`): region -> their attachment and its table.
    entries: Mapping[str, OperatorEntry] = field(default_factory=dict)
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
        self._providers, self._args = args.providers, args
        self.gateway_ids, self._tables = {}, {}
        for region in regions:
            self.gateway_ids[region], self._tables[region] = self._gateway(region, args)
        self.paths = {m.cluster.name: self._attach(m) for m in args.members}
        by_region = {r: [m for m in args.members if m.cluster.region == r] for r in regions}
        entry = next(iter(args.entries), None)
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
                routes = [*self._peering_domain(f"tgw-peering-{first}-{second}", here, accepted)]
                if there == entry:
                    # The operators' networks enter there; this region sends their replies over the peering.
                    routes += [
                        self._route(f"tgw-route-{here}-to-operators-{cidr_slug(cidr)}", here, cidr, peering, accepted)
                        for cidr in args.operator_cidrs
                    ]
                to = {
                    m.cluster.name: self._route(
                        f"tgw-route-{here}-to-{m.cluster.name}", here, m.network.cidr_block, peering, accepted
                    )
                    for m in by_region[there]
                }
                routes += to.values()
                if here == entry:
                    # The operators reach the other region's VPCs from the network team's table. After the
                    # mesh-table route to the same VPC: on a stack deployed before the route domain, that
                    # one held this destination in the network team's default table, which may be this
                    # table, until it is replaced (delete-first).
                    table = args.entries[here].return_route_table
                    routes += [
                        self._route(
                            f"tgw-route-{here}-return-to-{m.cluster.name}",
                            here,
                            m.network.cidr_block,
                            peering,
                            to[m.cluster.name],
                            table,
                        )
                        for m in by_region[there]
                    ]
                for member in by_region[here]:
                    self.paths[member.cluster.name] += routes
        self.register_outputs({"transitGatewayIds": self.gateway_ids})

    def _on(self, region: str, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._providers[region], depends_on=depends_on)

    def _attach(self, m: TransitMember) -> list[pulumi.Resource]:
        """The VPC's attachment, its VPC routes and, on the network team's gateway, its place in the
        mesh's route domain (and in the operators' table where they enter)."""
        c, args = m.cluster, self._args
        team = c.region in args.existing
        attachment = aws.ec2transitgateway.VpcAttachment(
            f"{c.name}-tgw-attachment",
            transit_gateway_id=self.gateway_ids[c.region],
            vpc_id=m.network.vpc_id,
            subnet_ids=m.network.private_subnet_ids,
            dns_support="enable",
            # Off: nothing of the mesh in the network team's default table (updated in place,
            # transitgateway_vpc_attachment.go: a change disassociates / stops propagating). A gateway
            # of the mesh's own keeps them: its default table is the mesh's.
            transit_gateway_default_route_table_association=False if team else None,
            transit_gateway_default_route_table_propagation=False if team else None,
            tags={"Name": f"{c.eks_name}-tgw"},
            opts=self._on(c.region),
        )
        placed: list[pulumi.Resource] = []
        if team:
            placed = [
                aws.ec2transitgateway.RouteTableAssociation(
                    f"{c.name}-tgw-association",
                    transit_gateway_attachment_id=attachment.id,
                    transit_gateway_route_table_id=self._tables[c.region],
                    opts=self._on(c.region),
                ),
                self._propagate(f"{c.name}-tgw-propagation", c.region, attachment.id, self._tables[c.region]),
            ]
            if c.region in args.entries:
                placed.append(
                    self._propagate(
                        f"{c.name}-tgw-return-propagation",
                        c.region,
                        attachment.id,
                        args.entries[c.region].return_route_table,
                    )
                )
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
        return [attachment, *placed, *routes]

    def _propagate(self, name: str, region: str, attachment: pulumi.Input[str], table: pulumi.Input[str]):
        return aws.ec2transitgateway.RouteTablePropagation(
            name, transit_gateway_attachment_id=attachment, transit_gateway_route_table_id=table, opts=self._on(region)
        )

    def _peering_domain(self, name: str, region: str, accepted: pulumi.Resource) -> list[pulumi.Resource]:
        """On the network team's gateway, the peering is associated with the mesh's table. With default
        association on there, AWS associated it with the default table at acceptance; the association
        replaces that one (`replace_existing_association`, pulumi-aws ec2transitgateway.RouteTableAssociation)."""
        if region not in self._args.existing:
            return []
        return [
            aws.ec2transitgateway.RouteTableAssociation(
                f"{name}-{region}-association",
                transit_gateway_attachment_id=accepted.transit_gateway_attachment_id,
                transit_gateway_route_table_id=self._tables[region],
                replace_existing_association=True,
                opts=self._on(region, depends_on=[accepted]),
            )
        ]

    def _route(
        self,
        name: str,
        region: str,
        cidr: pulumi.Input[str],
        peering: pulumi.Resource,
        after: pulumi.Resource,
        table: pulumi.Input[str] | None = None,
    ) -> aws.ec2transitgateway.Route:
        """A static route over a peering, in the region's mesh table unless `table` is given, `after`
        its peering's acceptance (a static route needs the peering available) or what depends on it.
        Its identity is its table and destination (terraform-provider-aws
        internal/service/ec2/transitgateway_route.go: the ID is route table + destination, and it has
        no update): a route whose peering is replaced (a region moving between
        a gateway of the mesh's own and the network team's) or whose operators' region moves is replaced
        in the same table, where a second route to the same destination is refused, so the old one is
        always deleted first."""
        return aws.ec2transitgateway.Route(
            name,
            destination_cidr_block=cidr,
            transit_gateway_attachment_id=peering.id,
            transit_gateway_route_table_id=table or self._tables[region],
            opts=pulumi.ResourceOptions.merge(
                self._on(region, depends_on=[after]), pulumi.ResourceOptions(delete_before_replace=True)
            ),
        )

    def _gateway(self, region: str, args: TransitNetworkArgs) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The region's gateway and the mesh's route table on it."""
        if region not in args.existing:
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
        # Read before validation (components/aws/reads.py): what AWS would refuse of it stopped the run then.
        found_id = args.existing[region]
        table = aws.ec2transitgateway.RouteTable(
            f"tgw-rtb-{region}",
            transit_gateway_id=found_id,
            tags={"Name": f"{args.mesh_id}-{region}"},
            opts=self._on(region),
        )
        if region in args.entries:
            # The operators' networks, as their attachment propagates them, into the mesh's table.
            self._propagate(f"tgw-rtb-{region}-operators", region, args.entries[region].operator_attachment, table.id)
        return pulumi.Output.from_input(found_id), table.id


def cidr_slug(cidr: str) -> str:
    """A CIDR as a resource-name part: 10.0.0.0/8 -> 10-0-0-0-8."""
    return cidr.replace(".", "-").replace("/", "-")
