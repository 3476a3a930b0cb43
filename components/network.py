"""Network of one cluster: a VPC with public and private subnets in each zone, and NAT egress.

Layout, derived only from `vpcCidr` so that the same config always yields the same subnets:
the VPC is cut into eight equal blocks; private subnet i is block i (nodes and pods live there,
the VPC CNI gives every pod a VPC address), and the last block is cut into eight public subnets.
For a /16: private /19s, public /22s.

Routes are separate `aws.ec2.Route` resources, never inline: routes added later (VPC peering)
cannot be mixed with inline ones, and switching forms on a deployed stack fails.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .spec import EKS_UNSUPPORTED_ZONE_IDS, ClusterSpec


def subnet_cidrs(vpc_cidr: ipaddress.IPv4Network, az_count: int) -> tuple[list[str], list[str]]:
    """Returns (public, private) subnet CIDRs, one of each per zone."""
    blocks = list(vpc_cidr.subnets(prefixlen_diff=3))
    public_blocks = list(blocks[-1].subnets(prefixlen_diff=3))
    return [str(b) for b in public_blocks[:az_count]], [str(b) for b in blocks[:az_count]]


@dataclass
class VpcArgs:
    cluster: ClusterSpec


@dataclass(frozen=True)
class StaticAddresses:
    """Elastic IPs for a load balancer, one per public subnet, with those subnets in zone order."""

    allocation_ids: pulumi.Output[list[str]]
    public_ips: pulumi.Output[list[str]]
    subnet_ids: pulumi.Output[list[str]]


class Vpc(pulumi.ComponentResource):
    """VPC, subnets in each zone, internet gateway, NAT gateway(s) with Elastic IPs, route tables.

    `natGateways: single` puts one NAT gateway in the first zone (cheaper; egress fails if that
    zone does); `perAz` gives every zone its own. Public subnets carry `kubernetes.io/role/elb`,
    private ones `kubernetes.io/role/internal-elb`, both the cluster's `kubernetes.io/cluster/<name>`
    tag, which the AWS Load Balancer Controller uses to find them.
    """

    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    nat_public_ips: pulumi.Output[list[str]]
    # The east-west gateway's Elastic IPs (`eastWestStaticIps`), else None.
    gateway_addresses: StaticAddresses | None

    def __init__(self, name: str, args: VpcArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:network:Vpc", name, None, opts)
        spec = args.cluster
        child = pulumi.ResourceOptions(parent=self)

        def tags(role: str, **extra: str) -> dict[str, str]:
            return {"Name": f"{spec.eks_name}-{role}", **extra}

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(spec.vpc_cidr),
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=tags("vpc"),
            opts=child,
        )

        if isinstance(spec.availability_zones, tuple):
            zones: list[pulumi.Input[str]] = list(spec.availability_zones)
        else:
            # No `state` filter: a zone impaired at plan time must not move subnets elsewhere.
            available = aws.get_availability_zones_output(
                exclude_zone_ids=list(EKS_UNSUPPORTED_ZONE_IDS),
                # Local and Wavelength zones are opt-in; EKS control planes cannot use them.
                filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
                opts=pulumi.InvokeOutputOptions(parent=self),
            )
            zones = [available.names.apply(lambda names, i=i: _pick_zone(names, i, spec)) for i in range(spec.az_count)]

        cluster_tag = {f"kubernetes.io/cluster/{spec.eks_name}": "shared"}
        public_cidrs, private_cidrs = subnet_cidrs(spec.vpc_cidr, spec.az_count)
        public, private = [], []
        for i, zone in enumerate(zones):
            public.append(
                aws.ec2.Subnet(
                    f"{name}-public-{i}",
                    vpc_id=vpc.id,
                    cidr_block=public_cidrs[i],
                    availability_zone=zone,
                    # Nothing in the public subnets needs an automatic public IP: NAT gateways and
                    # NLBs bring their own.
                    map_public_ip_on_launch=False,
                    tags=tags(f"public-{i}", **cluster_tag, **{"kubernetes.io/role/elb": "1"}),
                    opts=child,
                )
            )
            private.append(
                aws.ec2.Subnet(
                    f"{name}-private-{i}",
                    vpc_id=vpc.id,
                    cidr_block=private_cidrs[i],
                    availability_zone=zone,
                    tags=tags(f"private-{i}", **cluster_tag, **{"kubernetes.io/role/internal-elb": "1"}),
                    opts=child,
                )
            )

        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags("igw"), opts=child)
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, tags=tags("public"), opts=child)
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        for i, subnet in enumerate(public):
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child)

        nat_count = 1 if spec.nat_gateways == "single" else spec.az_count
        nat_ips, nats = [], []
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags=tags(f"nat-{i}"), opts=child)
            nat_ips.append(eip.public_ip)
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.allocation_id,
                    subnet_id=public[i].id,
                    tags=tags(f"nat-{i}"),
                    # A NAT gateway only forwards once the VPC has its internet gateway.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )

        private_route_tables = []
        for i in range(nat_count):
            table = aws.ec2.RouteTable(f"{name}-private-rt-{i}", vpc_id=vpc.id, tags=tags(f"private-{i}"), opts=child)
            aws.ec2.Route(
                f"{name}-private-default-{i}",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[i].id,
                opts=child,
            )
            private_route_tables.append(table)
        for i, subnet in enumerate(private):
            table = private_route_tables[i if nat_count > 1 else 0]
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=table.id, opts=child)

        # Static addresses for the east-west gateway's NLB: one per public subnet, as the load
        # balancer controller requires when it pins them with the subnets.
        gateway_eips = [
            aws.ec2.Eip(f"{name}-eastwest-{i}", domain="vpc", tags=tags(f"eastwest-{i}"), opts=child)
            for i in range(spec.az_count if spec.east_west_static_ips else 0)
        ]

        self.vpc_id = vpc.id
        self.vpc_arn = vpc.arn
        self.cidr_block = str(spec.vpc_cidr)
        # Every table that routes the VPC's subnets, for routes added later (VPC peering).
        self.route_table_ids: list[pulumi.Output[str]] = [public_rt.id, *[t.id for t in private_route_tables]]
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])
        self.nat_public_ips = pulumi.Output.all(*nat_ips)
        self.gateway_addresses = (
            StaticAddresses(
                allocation_ids=pulumi.Output.all(*[e.allocation_id for e in gateway_eips]),
                public_ips=pulumi.Output.all(*[e.public_ip for e in gateway_eips]),
                subnet_ids=self.public_subnet_ids,
            )
            if gateway_eips
            else None
        )
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "natPublicIps": self.nat_public_ips,
                "eastWestPublicIps": pulumi.Output.all(*[e.public_ip for e in gateway_eips]),
            }
        )


def _pick_zone(names: list[str], index: int, spec: ClusterSpec) -> str:
    if len(names) < spec.az_count:
        raise pulumi.RunError(
            f"region {spec.region} has {len(names)} zones EKS can use ({', '.join(names)}), but"
            f" cluster {spec.name} asks for {spec.az_count}; lower its availabilityZones"
        )
    return sorted(names)[index]
