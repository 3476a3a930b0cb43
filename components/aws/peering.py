"""VPC peering between two clusters on one Istio network, in one region or across two.

Istio treats clusters on one network as directly reachable: a pod in one calls pods in the other by
their VPC addresses, with no east-west gateway in between. The VPCs are therefore peered, every
route table of each VPC sends the other's CIDR through the peering, and each cluster's security
group (the one EKS puts on the control plane and the managed nodes) admits the other VPC, which
covers pod-to-pod traffic and the private API endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import migrations
from components.aws.network import Vpc
from components.model.spec import ClusterSpec
from components.plan import names


@dataclass
class PeerSide:
    cluster: ClusterSpec
    network: Vpc
    security_group_id: pulumi.Input[str]
    provider: aws.Provider


@dataclass
class VpcPeeringArgs:
    requester: PeerSide
    accepter: PeerSide


class VpcPeering(pulumi.ComponentResource):
    connection: aws.ec2.VpcPeeringConnection

    def __init__(self, name: str, args: VpcPeeringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(migrations.VPC_PEERING_TYPE, name, None, opts)
        req, acc = args.requester, args.accepter
        same_region = req.cluster.region == acc.cluster.region

        def on(side: PeerSide, depends_on: list | None = None) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=side.provider, depends_on=depends_on or [])

        self.connection = aws.ec2.VpcPeeringConnection(
            f"{name}-connection",
            vpc_id=req.network.vpc_id,
            peer_vpc_id=acc.network.vpc_id,
            # Across regions the peer accepts in its own region; within one, at once.
            peer_region=None if same_region else acc.cluster.region,
            auto_accept=same_region,
            tags={"Name": f"{req.cluster.eks_name}-to-{acc.cluster.eks_name}"},
            opts=on(req),
        )
        active: list[pulumi.Resource] = [self.connection]
        if not same_region:
            active.append(
                aws.ec2.VpcPeeringConnectionAccepter(
                    f"{name}-accepter",
                    vpc_peering_connection_id=self.connection.id,
                    auto_accept=True,
                    tags={"Name": f"{acc.cluster.eks_name}-from-{req.cluster.eks_name}"},
                    opts=on(acc),
                )
            )

        for side, other in ((req, acc), (acc, req)):
            for i, table in enumerate(side.network.route_table_ids):
                aws.ec2.Route(
                    f"{name}-{side.cluster.name}-route-{i}",
                    route_table_id=table,
                    destination_cidr_block=other.network.cidr_block,
                    vpc_peering_connection_id=self.connection.id,
                    opts=on(side, active),
                )
            # The same rule as under the pair's SameNetworkAccess, for a mesh going back to public.
            twin = names.same_network(args.requester.cluster.name, args.accepter.cluster.name)
            moved = migrations.rule_moved_from_same_network(twin, side.cluster.name, opts.parent if opts else None)
            admit_peer(
                f"{name}-{side.cluster.name}-ingress",
                side,
                other,
                pulumi.ResourceOptions.merge(on(side), pulumi.ResourceOptions(aliases=moved)),
            )
        self.register_outputs({"connectionId": self.connection.id})


def admit_peer(
    name: str, side: PeerSide, other: PeerSide, opts: pulumi.ResourceOptions
) -> aws.vpc.SecurityGroupIngressRule:
    """The side's cluster security group admits everything from the other VPC: its pods (same Istio
    network, called directly) and its API clients."""
    return aws.vpc.SecurityGroupIngressRule(
        name,
        security_group_id=side.security_group_id,
        cidr_ipv4=other.network.cidr_block,
        ip_protocol="-1",
        description=f"pods and API clients of {other.cluster.name} (same Istio network)",
        opts=opts,
    )


class SameNetworkAccess(pulumi.ComponentResource):
    """Private mode: two clusters on one Istio network reach each other over the Transit Gateways,
    which route between all the mesh's VPCs; only their security groups need to admit each other.

    The rules keep the identity they had under the pair's `VpcPeering` (`peering_name`, a child of
    `mesh`): a mesh going private keeps them, where a new rule would be created before the old one is
    deleted and EC2 refuses the duplicate (InvalidPermission.Duplicate)."""

    def __init__(
        self,
        name: str,
        args: VpcPeeringArgs,
        peering_name: str,
        mesh: pulumi.Resource,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(migrations.SAME_NETWORK_TYPE, name, None, opts)
        for side, other in ((args.requester, args.accepter), (args.accepter, args.requester)):
            moved = migrations.rule_moved_from_peering(peering_name, side.cluster.name, mesh)
            admit_peer(
                f"{name}-{side.cluster.name}-ingress",
                side,
                other,
                pulumi.ResourceOptions(parent=self, provider=side.provider, aliases=moved),
            )
        self.register_outputs({})
