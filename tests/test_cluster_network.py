"""The foundation under mocks: per-cluster VPC and EKS, providers per region, endpoint access,
exports, determinism, and bad config registering nothing."""

from __future__ import annotations

import base64
import ipaddress
import json

import pytest
from kubernetes.config.kube_config import KubeConfigLoader

from components.config.validate import ConfigError
from tests.harness import Run, cached_run, resolve, run_program
from tests.helpers import OPERATOR_CIDR, mesh_config
from tests.mocks import cluster_ca

AWS_PROVIDER = "pulumi:providers:aws"


def cluster_component(run: Run, name: str):
    return run.one("istio-eks-mesh:cluster:EksCluster", name)


def network_component(run: Run, name: str):
    return run.one("istio-eks-mesh:network:Vpc", f"{name}-network")


def owned(run: Run, name: str, type_: str):
    """Resources of `type_` that belong to cluster `name` (inside its network or cluster component)."""
    inside = run.descendants(cluster_component(run, name)) + run.descendants(network_component(run, name))
    return [r for r in inside if r.type == type_]


@pytest.mark.parametrize("count", [1, 2, 6])
def test_inventory_per_cluster(count):
    run = cached_run(mesh_config(count))
    assert run.error is None, run.error
    for i in range(count):
        name = f"c{i}"
        assert len(owned(run, name, "aws:ec2/vpc:Vpc")) == 1
        assert len(owned(run, name, "aws:ec2/subnet:Subnet")) == 6  # public + private in 3 zones
        assert len(owned(run, name, "aws:ec2/internetGateway:InternetGateway")) == 1
        assert len(owned(run, name, "aws:ec2/natGateway:NatGateway")) == 1
        assert len(owned(run, name, "aws:ec2/eip:Eip")) == 1
        assert len(owned(run, name, "eks:index:Cluster")) == 1
        assert len(owned(run, name, "eks:index:ManagedNodeGroup")) == 1
        assert len(owned(run, name, "pulumi:providers:kubernetes")) == 1
    # One AWS provider per region in use, no more.
    regions = {("us-east-1", "us-west-2")[i % 2] for i in range(count)}
    assert sorted(p.inputs["region"] for p in run.of_type(AWS_PROVIDER)) == sorted(regions)
    assert len(run.of_type("eks:index:Cluster")) == count


def test_subnets_are_carved_from_the_vpc_with_the_tags_eks_needs(mesh_run):
    for vpc in mesh_run.of_type("aws:ec2/vpc:Vpc"):
        assert vpc.inputs["enableDnsSupport"] and vpc.inputs["enableDnsHostnames"]
        cidr = ipaddress.IPv4Network(vpc.inputs["cidrBlock"])
        name = vpc.name.removesuffix("-network-vpc")
        eks_name = f"{name}-dev"
        subnets = owned(mesh_run, name, "aws:ec2/subnet:Subnet")
        nets = [ipaddress.IPv4Network(s.inputs["cidrBlock"]) for s in subnets]
        assert all(n.subnet_of(cidr) for n in nets)
        assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
        public = [s for s in subnets if "-public-" in s.name]
        private = [s for s in subnets if "-private-" in s.name]
        assert len({s.inputs["availabilityZone"] for s in public}) == 3
        assert {s.inputs["availabilityZone"] for s in public} == {s.inputs["availabilityZone"] for s in private}
        for s in public:
            assert s.inputs["tags"]["kubernetes.io/role/elb"] == "1"
            assert s.inputs["tags"][f"kubernetes.io/cluster/{eks_name}"] == "shared"
            assert not s.inputs.get("mapPublicIpOnLaunch")
        for s in private:
            assert s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
            assert s.inputs["tags"][f"kubernetes.io/cluster/{eks_name}"] == "shared"
            # Pods take VPC addresses: private subnets get the large blocks.
            assert ipaddress.IPv4Network(s.inputs["cidrBlock"]).prefixlen == cidr.prefixlen + 3


def test_private_subnets_route_through_nat_and_public_through_igw(two_cluster_run):
    run = two_cluster_run
    routes = run.of_type("aws:ec2/route:Route")
    public_default = run.one("aws:ec2/route:Route", "c0-network-public-default")
    igw = run.one("aws:ec2/internetGateway:InternetGateway", "c0-network-igw")
    assert public_default.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert public_default.inputs["gatewayId"] == igw.id
    nat = run.one("aws:ec2/natGateway:NatGateway", "c0-network-nat-0")
    private_default = run.one("aws:ec2/route:Route", "c0-network-private-default-0")
    assert private_default.inputs["natGatewayId"] == nat.id
    # Routes are separate resources (VPC peering adds more later); tables carry none inline.
    assert all("routes" not in t.inputs for t in run.of_type("aws:ec2/routeTable:RouteTable"))
    assert len(routes) == 4


def test_nat_per_zone_gives_each_private_subnet_its_own_gateway():
    config = mesh_config(1)
    config["clusters"][0]["natGateways"] = "perAz"
    run = cached_run(config)
    assert run.error is None
    nats = run.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 3 and len(run.of_type("aws:ec2/eip:Eip")) == 3
    subnets = {s.id: s for s in run.of_type("aws:ec2/subnet:Subnet")}
    assert {subnets[n.inputs["subnetId"]].name for n in nats} == {f"c0-network-public-{i}" for i in range(3)}
    tables_used = {
        a.inputs["routeTableId"]
        for a in run.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
        if "-private-" in a.name
    }
    assert len(tables_used) == 3


def test_every_aws_resource_uses_its_cluster_regions_provider(mesh_run):
    providers = {p.urn: p.inputs["region"] for p in mesh_run.of_type(AWS_PROVIDER)}
    for _i, component in enumerate(mesh_run.of_type("istio-eks-mesh:cluster:EksCluster")):
        region = ("us-east-1", "us-west-2")[int(component.name[1:]) % 2]
        inside = mesh_run.descendants(component) + mesh_run.descendants(network_component(mesh_run, component.name))
        for r in inside:
            if r.type.startswith("aws:"):
                assert providers[r.provider_urn] == region, r.urn
            if r.type.startswith("eks:"):
                assert providers[r.providers["aws"].rsplit("::", 1)[0]] == region, r.urn


def test_public_endpoint_admits_operators_and_every_nat_address_only(mesh_run):
    nat_cidrs = {f"{eip.outputs['publicIp']}/32" for eip in mesh_run.of_type("aws:ec2/eip:Eip")}
    assert len(nat_cidrs) == len(mesh_run.of_type("aws:ec2/eip:Eip"))
    for cluster in mesh_run.of_type("eks:index:Cluster"):
        inputs = cluster.inputs
        assert inputs["endpointPublicAccess"] and inputs["endpointPrivateAccess"]
        assert set(inputs["publicAccessCidrs"]) == {OPERATOR_CIDR, *nat_cidrs}
        assert "0.0.0.0/0" not in inputs["publicAccessCidrs"]
        assert inputs["authenticationMode"] == "API"
        assert inputs["createOidcProvider"] and inputs["skipDefaultNodeGroup"]
        assert inputs["nodeAssociatePublicIpAddress"] is False


def test_unset_api_access_warns_and_leaves_the_endpoint_open():
    run = cached_run({"clusters": [{"name": "east"}]})
    assert run.error is None
    assert "0.0.0.0/0" in run.one("eks:index:Cluster", "east-eks").inputs["publicAccessCidrs"]
    assert any("apiAccessCidrs is not set" in w for w in run.warnings)


def test_node_group_in_private_subnets_sized_from_config_after_nat():
    config = mesh_config(1)
    config["clusters"][0]["nodeGroup"] = {
        "instanceTypes": ["m7i.xlarge", "m6i.xlarge"],
        "desiredSize": 3,
        "minSize": 2,
        "maxSize": 6,
        "capacityType": "SPOT",
    }
    run = cached_run(config)
    assert run.error is None
    ng = run.one("eks:index:ManagedNodeGroup", "c0-nodes")
    private_ids = {s.id for s in run.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name}
    assert set(ng.inputs["subnetIds"]) == private_ids
    assert ng.inputs["scalingConfig"] == {"desiredSize": 3, "minSize": 2, "maxSize": 6}
    assert ng.inputs["instanceTypes"] == ["m7i.xlarge", "m6i.xlarge"] and ng.inputs["capacityType"] == "SPOT"
    assert ng.inputs["cluster"] == run.one("eks:index:Cluster", "c0-eks").urn
    assert run.depends_on(ng, run.one("aws:ec2/route:Route", "c0-network-private-default-0"))
    node_policies = [
        a for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.name.startswith("c0-node-")
    ]
    # vpc-cni's policy is on its own role (components/aws/cni_identity.py), which the nodes wait for too.
    assert sorted(a.name.removeprefix("c0-node-") for a in node_policies) == [
        "AmazonEC2ContainerRegistryReadOnly",
        "AmazonEKSWorkerNodePolicy",
    ]
    for attachment in [
        *node_policies,
        run.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "c0-vpc-cni-association"),
    ]:
        assert run.depends_on(ng, attachment)


@pytest.mark.parametrize("types", [["m7g.large", "c7gn.xlarge"], ["t4g.medium"]])
def test_graviton_node_groups_get_the_arm_ami_and_x86_ones_keep_ekss_default(types):
    config = mesh_config(2)
    config["clusters"][0]["nodeGroup"] = {"instanceTypes": types}
    run = cached_run(config)
    # The mock refuses, as EKS does, Graviton types under an x86 AMI (and the reverse).
    assert run.error is None, run.error
    assert run.one("eks:index:ManagedNodeGroup", "c0-nodes").inputs["amiType"] == "AL2023_ARM_64_STANDARD"
    # Setting it on a deployed x86 group would replace the group: left to EKS.
    assert "amiType" not in run.one("eks:index:ManagedNodeGroup", "c1-nodes").inputs


def test_kubeconfig_export_is_secret_and_parses_with_the_kubernetes_client(two_cluster_run):
    clusters, _ = resolve(two_cluster_run.exports["clusters"])
    assert set(clusters) == {"c0", "c1"}
    for name, region in (("c0", "us-east-1"), ("c1", "us-west-2")):
        kubeconfig, secret = resolve(two_cluster_run.exports["clusters"][name]["kubeconfig"])
        assert secret
        eks = two_cluster_run.one("eks:index:Cluster", f"{name}-eks")
        entry = clusters[name]
        assert entry["region"] == region and entry["network"] == f"network-{name}"
        assert entry["vpcId"] == two_cluster_run.one("aws:ec2/vpc:Vpc", f"{name}-network-vpc").id
        loader = KubeConfigLoader(config_dict=json.loads(kubeconfig))
        loader._load_cluster_info()
        assert loader.host == entry["endpoint"] and ".eks.amazonaws.com" in loader.host
        with open(loader.ssl_ca_cert) as f:
            assert f.read() == cluster_ca(f"{name}-dev")[0]
        exec_args = loader._user["exec"].value["args"]
        assert exec_args == [
            "--region",
            region,
            "eks",
            "get-token",
            "--cluster-name",
            f"{name}-dev",
            "--output",
            "json",
        ]
        assert eks.inputs["name"] == f"{name}-dev"
    # The k8s provider gets the same kubeconfig, as a secret input.
    provider = two_cluster_run.one("pulumi:providers:kubernetes", "c0-k8s")
    assert provider.is_secret("kubeconfig")
    assert base64.b64decode(
        json.loads(provider.inputs["kubeconfig"])["clusters"][0]["cluster"]["certificate-authority-data"]
    )


def test_same_config_twice_gives_identical_inputs():
    first = run_program(mesh_config(2))
    second = run_program(mesh_config(2))
    assert first.error is None and second.error is None
    assert {r.urn: r.inputs for r in first.resources} == {r.urn: r.inputs for r in second.resources}


@pytest.mark.parametrize(
    "config, key",
    [
        ({"clusters": [{"name": "east", "vpcCIDR": "10.0.0.0/16"}]}, "clusters[0].vpcCIDR"),
        ({"clusters": []}, "clusters"),
        ({"clusters": [{"name": "a"}, {"name": "a"}]}, "clusters[1].name"),
    ],
)
def test_bad_config_registers_nothing(config, key):
    run = run_program(config)
    assert isinstance(run.error, ConfigError)
    assert f"istio-eks-mesh:{key}:" in str(run.error)
    assert run.resources == []
