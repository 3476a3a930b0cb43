"""Network of one cluster: a VPC with public and private subnets in each zone, and NAT egress.

Layout, derived only from the VPC's range (`vpcCidr`, or what an IPAM pool allocated) so that the
same range always yields the same subnets:
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

from components.model.spec import EKS_UNSUPPORTED_ZONE_IDS, IPAM_NETMASK_LENGTH, ClusterSpec
from components.plan.ranges import subnet_cidrs


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
    vpc_arn: pulumi.Output[str]
    cidr_block: pulumi.Input[str]
    # The zone of each subnet pair, in order.
    zones: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    nat_public_ips: pulumi.Output[list[str]]
    # The public route table, then each zone's private one (peering routes go into all of them).
    route_table_ids: list[pulumi.Output[str]]
    # The east-west gateway's Elastic IPs (`eastWestStaticIps`), else None.
    gateway_addresses: StaticAddresses | None

    def __init__(self, name: str, args: VpcArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:network:Vpc", name, None, opts)
        self._name, self._spec = name, args.cluster
        self._nat_ips: list[pulumi.Output[str]] = []
        spec = self._spec
        # From a pool, the same two inputs on every run (the range is the VPC's output): either
        # one changed would replace the VPC.
        addressing = (
            {"ipv4_ipam_pool_id": spec.ipam_pool, "ipv4_netmask_length": IPAM_NETMASK_LENGTH}
            if spec.ipam_pool
            else {"cidr_block": str(spec.vpc_cidr)}
        )
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            **addressing,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=self._tags("vpc"),
            opts=self._child(protect=spec.eks.protect),
        )
        # A pool's VPC: what IPAM gave it (kept in the state; a replaced VPC gets a new range, and
        # its subnets and routes follow).
        self.cidr_block: pulumi.Input[str] = vpc.cidr_block if spec.ipam_pool else str(spec.vpc_cidr)
        zones = self._zones()
        # The zones of the subnets, in subnet order: recorded, since EKS takes new subnets only there.
        self.zones = pulumi.Output.all(*zones)
        public, private = self._subnets(vpc.id, zones)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=self._tags("igw"), opts=self._child())
        public_table = self._route_table("public-rt", "public", vpc.id, "public-default", gateway_id=igw.id)
        self._associate("public", public, [public_table])
        nats = self._nat_gateways(public, igw)
        private_tables = [
            self._route_table(f"private-rt-{i}", f"private-{i}", vpc.id, f"private-default-{i}", nat_gateway_id=nat.id)
            for i, nat in enumerate(nats)
        ]
        self._associate("private", private, private_tables)
        # Static addresses for the east-west gateway's NLB: one per public subnet, as the load
        # balancer controller requires when it pins them with the subnets.
        gateway_eips = [
            aws.ec2.Eip(f"{name}-eastwest-{i}", domain="vpc", tags=self._tags(f"eastwest-{i}"), opts=self._child())
            for i in range(spec.az_count if spec.east_west_static_ips else 0)
        ]

        self.vpc_id = vpc.id
        self.vpc_arn = vpc.arn
        # Every table that routes the VPC's subnets, for routes added later (VPC peering).
        self.route_table_ids = [public_table.id, *[t.id for t in private_tables]]
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])
        self.nat_public_ips = pulumi.Output.all(*self._nat_ips)
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

    def _child(self, depends_on: list[pulumi.Resource] | None = None, protect: bool = False) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=depends_on, protect=protect or None)

    def _tags(self, role: str, **extra: str) -> dict[str, str]:
        return {"Name": f"{self._spec.eks_name}-{role}", **extra}

    def _zones(self) -> list[pulumi.Input[str]]:
        spec = self._spec
        if isinstance(spec.availability_zones, tuple):
            return list(spec.availability_zones)
        # No `state` filter: a zone impaired at plan time must not move subnets elsewhere.
        available = aws.get_availability_zones_output(
            exclude_zone_ids=list(EKS_UNSUPPORTED_ZONE_IDS),
            # Local and Wavelength zones are opt-in; EKS control planes cannot use them.
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return [available.names.apply(lambda names, i=i: _pick_zone(names, i, spec)) for i in range(spec.az_count)]

    def _subnets(
        self, vpc_id: pulumi.Output[str], zones: list[pulumi.Input[str]]
    ) -> tuple[list[aws.ec2.Subnet], list[aws.ec2.Subnet]]:
        spec, name = self._spec, self._name
        cluster_tag = {f"kubernetes.io/cluster/{spec.eks_name}": "shared"}
        public_cidrs, private_cidrs = self._subnet_cidrs()
        public, private = [], []
        for i, zone in enumerate(zones):
            public.append(
                aws.ec2.Subnet(
                    f"{name}-public-{i}",
                    vpc_id=vpc_id,
                    cidr_block=public_cidrs[i],
                    availability_zone=zone,
                    # Nothing in the public subnets needs an automatic public IP: NAT gateways and
                    # NLBs bring their own.
                    map_public_ip_on_launch=False,
                    tags=self._tags(f"public-{i}", **cluster_tag, **{"kubernetes.io/role/elb": "1"}),
                    opts=self._child(protect=spec.eks.protect),
                )
            )
            private.append(
                aws.ec2.Subnet(
                    f"{name}-private-{i}",
                    vpc_id=vpc_id,
                    cidr_block=private_cidrs[i],
                    availability_zone=zone,
                    tags=self._tags(f"private-{i}", **cluster_tag, **{"kubernetes.io/role/internal-elb": "1"}),
                    opts=self._child(protect=spec.eks.protect),
                )
            )
        return public, private

    def _subnet_cidrs(self) -> tuple[list[pulumi.Input[str]], list[pulumi.Input[str]]]:
        spec = self._spec
        if not spec.ipam_pool:
            return subnet_cidrs(spec.vpc_cidr, spec.az_count)
        plan = pulumi.Output.from_input(self.cidr_block).apply(
            lambda cidr: subnet_cidrs(ipaddress.IPv4Network(cidr), spec.az_count)
        )
        n = spec.az_count
        return [plan.apply(lambda p, i=i: p[0][i]) for i in range(n)], [
            plan.apply(lambda p, i=i: p[1][i]) for i in range(n)
        ]

    def _nat_gateways(self, public: list[aws.ec2.Subnet], igw: aws.ec2.InternetGateway) -> list[aws.ec2.NatGateway]:
        """`natGateways: single`: one, in the first zone; `perAz`: one per zone."""
        nats = []
        for i in range(self._spec.nat_count):
            eip = aws.ec2.Eip(f"{self._name}-nat-{i}", domain="vpc", tags=self._tags(f"nat-{i}"), opts=self._child())
            self._nat_ips.append(eip.public_ip)
            nats.append(
                aws.ec2.NatGateway(
                    f"{self._name}-nat-{i}",
                    allocation_id=eip.allocation_id,
                    subnet_id=public[i].id,
                    tags=self._tags(f"nat-{i}"),
                    # A NAT gateway only forwards once the VPC has its internet gateway.
                    opts=self._child(depends_on=[igw]),
                )
            )
        return nats

    def _route_table(
        self, table: str, role: str, vpc_id: pulumi.Output[str], default_route: str, **target: pulumi.Input[str]
    ) -> aws.ec2.RouteTable:
        """A route table and its default route, as a separate resource (see the module docstring)."""
        route_table = aws.ec2.RouteTable(
            f"{self._name}-{table}", vpc_id=vpc_id, tags=self._tags(role), opts=self._child()
        )
        aws.ec2.Route(
            f"{self._name}-{default_route}",
            route_table_id=route_table.id,
            destination_cidr_block="0.0.0.0/0",
            **target,
            opts=self._child(),
        )
        return route_table

    def _associate(self, kind: str, subnets: list[aws.ec2.Subnet], tables: list[aws.ec2.RouteTable]) -> None:
        # One table for all subnets, or one per zone (a NAT gateway per zone).
        for i, subnet in enumerate(subnets):
            table = tables[i if len(tables) > 1 else 0]
            aws.ec2.RouteTableAssociation(
                f"{self._name}-{kind}-{i}", subnet_id=subnet.id, route_table_id=table.id, opts=self._child()
            )


def _pick_zone(names: list[str], index: int, spec: ClusterSpec) -> str:
    if len(names) < spec.az_count:
        raise pulumi.RunError(
            f"region {spec.region} has {len(names)} zones EKS can use ({', '.join(names)}), but"
            f" cluster {spec.name} asks for {spec.az_count}; lower its availabilityZones"
        )
    return sorted(names)[index]
