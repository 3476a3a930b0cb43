"""The whole mesh, built side by side from one MeshSpec: per cluster its network, EKS cluster, load
balancer controller, CA and Istio; once, the root CA; per pair, VPC peering (clusters sharing a
network) and remote secrets (every primary watches every other cluster).

The order between resources lives only in the dependency graph, so `pulumi up` creates clusters
in parallel and `pulumi destroy` removes everything in reverse, in one command each.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import migrations
from .cluster import EksCluster, EksClusterArgs
from .config import MeshSpec
from .istio import IstioControlPlane, IstioControlPlaneArgs, Topology
from .load_balancer import LoadBalancerController, LoadBalancerControllerArgs
from .network import Vpc, VpcArgs
from .peering import PeerSide, VpcPeering, VpcPeeringArgs
from .pki import IntermediateCa, IntermediateCaArgs, RootCa, RootCaArgs
from .remote_secrets import ReaderToken, ReaderTokenArgs, RemoteSecret, RemoteSecretArgs
from .samples import SampleWorkloads, SampleWorkloadsArgs, sample_version


@dataclass
class IstioMeshArgs:
    spec: MeshSpec
    # Credentials profile for every AWS provider and kubeconfig; None uses the environment's.
    aws_profile: str | None = None


@dataclass
class ClusterHandles:
    """What later stages need of one cluster."""

    network: Vpc
    eks: EksCluster
    load_balancer_controller: LoadBalancerController
    ca: IntermediateCa
    istio: IstioControlPlane
    reader_token: ReaderToken


class IstioMesh(pulumi.ComponentResource):
    clusters: dict[str, ClusterHandles]

    def __init__(self, name: str, args: IstioMeshArgs, opts: pulumi.ResourceOptions | None = None):
        # Every resource of the mesh picks up the aliases of its earlier names (migrations.py).
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transformations=[migrations.add_aliases]))
        super().__init__("istio-eks-mesh:mesh:IstioMesh", name, None, opts)
        spec = args.spec

        # One AWS provider per region, shared by the clusters there.
        providers: dict[str, aws.Provider] = {}
        for region in dict.fromkeys(c.region for c in spec.clusters):
            providers[region] = aws.Provider(
                f"aws-{region}",
                region=region,
                profile=args.aws_profile,
                default_tags={"tags": {"istio-eks-mesh/mesh": spec.mesh_id, "istio-eks-mesh/stack": pulumi.get_stack()}},
                opts=pulumi.ResourceOptions(parent=self),
            )

        networks = {
            c.name: Vpc(
                f"{c.name}-network",
                VpcArgs(cluster=c),
                opts=pulumi.ResourceOptions(parent=self, providers={"aws": providers[c.region]}),
            )
            for c in spec.clusters
        }

        # Every istiod talks to every other cluster's API server from its VPC's NAT addresses; those
        # addresses join the operators' CIDRs on every public endpoint.
        nat_cidrs = pulumi.Output.all(*[n.nat_public_ips for n in networks.values()]).apply(
            lambda per_vpc: sorted({f"{ip}/32" for ips in per_vpc for ip in ips})
        )
        public_access_cidrs = nat_cidrs.apply(lambda nats: [*spec.api_access_cidrs, *nats])
        # Cross-cluster traffic leaves each VPC through its NAT gateways too: by default only those
        # addresses reach the east-west gateways.
        east_west_cidrs = (
            list(spec.east_west_allowed_cidrs) if spec.east_west_allowed_cidrs is not None else nat_cidrs
        )

        self.root_ca = RootCa("root-ca", RootCaArgs(pki=spec.pki, imported=spec.root_ca), opts=pulumi.ResourceOptions(parent=self))

        self.clusters = {}
        # Primaries first: a remote's Istio waits for its primary's gateway.
        for c in sorted(spec.clusters, key=lambda c: c.is_remote):
            network = networks[c.name]
            cluster = EksCluster(
                c.name,
                EksClusterArgs(
                    cluster=c,
                    vpc_id=network.vpc_id,
                    public_subnet_ids=network.public_subnet_ids,
                    private_subnet_ids=network.private_subnet_ids,
                    public_access_cidrs=public_access_cidrs,
                    node_dependencies=list(network.egress_routes),
                    aws_profile=args.aws_profile,
                ),
                opts=pulumi.ResourceOptions(parent=self, providers={"aws": providers[c.region]}),
            )
            ca = IntermediateCa(
                f"{c.name}-ca",
                IntermediateCaArgs(cluster_name=c.name, pki=spec.pki, root=self.root_ca),
                opts=pulumi.ResourceOptions(parent=self),
            )
            k8s_and_aws = {"aws": providers[c.region], "kubernetes": cluster.provider}
            controller = LoadBalancerController(
                f"{c.name}-lb-controller",
                LoadBalancerControllerArgs(
                    cluster=c,
                    vpc_id=network.vpc_id,
                    vpc_arn=network.vpc_arn,
                    oidc_provider_arn=cluster.oidc_provider_arn,
                    oidc_provider_url=cluster.oidc_provider_url,
                    node_group=cluster.node_group,
                ),
                opts=pulumi.ResourceOptions(parent=self, providers=k8s_and_aws),
            )
            topology = Topology(
                role=c.role,
                primary=c.primary,
                has_remotes=bool(spec.remotes_of(c.name)),
                east_west_gateway=spec.has_east_west_gateway(c),
                cross_network=not spec.single_network,
                static_eip_allocation_ids=[e.allocation_id for e in network.east_west_eips],
                public_subnet_ids=network.public_subnet_ids,
            )
            if c.is_remote:
                primary = self.clusters[c.primary]
                topology.remote_pilot_address = primary.network.east_west_eips[0].public_ip
                topology.after = [primary.istio.east_west_gateway, *primary.istio.istiod_exposure, *primary.network.east_west_eips]
            istio = IstioControlPlane(
                f"{c.name}-istio",
                IstioControlPlaneArgs(
                    cluster=c,
                    mesh_id=spec.mesh_id,
                    istio_version=spec.istio_version,
                    ca=ca,
                    node_group=cluster.node_group,
                    load_balancer_controller=controller.release,
                    east_west_allowed_cidrs=east_west_cidrs,
                    vpc_id=network.vpc_id,
                    vpc_cidr=network.cidr_block,
                    topology=topology,
                    extra_values=spec.istio_values,
                    extra_values_secret=spec.istio_values_secret,
                ),
                opts=pulumi.ResourceOptions(parent=self, providers=k8s_and_aws),
            )
            reader_token = ReaderToken(
                f"{c.name}-reader-token",
                ReaderTokenArgs(istio_base=istio.base),
                opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": cluster.provider}),
            )
            self.clusters[c.name] = ClusterHandles(
                network=network,
                eks=cluster,
                load_balancer_controller=controller,
                ca=ca,
                istio=istio,
                reader_token=reader_token,
            )

        for a, b in spec.peered_pairs():
            VpcPeering(
                f"{a.name}-{b.name}-peering",
                VpcPeeringArgs(
                    requester=PeerSide(a, networks[a.name], self.clusters[a.name].eks.cluster_security_group_id, providers[a.region]),
                    accepter=PeerSide(b, networks[b.name], self.clusters[b.name].eks.cluster_security_group_id, providers[b.region]),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        # Every primary's istiod discovers every other cluster: a remote secret per such pair.
        remote_secrets: dict[tuple[str, str], RemoteSecret] = {}
        for local in spec.clusters:
            for peer in spec.clusters:
                if not spec.discovers(local, peer):
                    continue
                here, there = self.clusters[local.name], self.clusters[peer.name]
                remote_secrets[local.name, peer.name] = RemoteSecret(
                    f"{local.name}-remote-secret-{peer.name}",
                    RemoteSecretArgs(
                        peer_name=peer.name,
                        peer_endpoint=there.eks.endpoint,
                        peer_certificate_authority=there.eks.certificate_authority,
                        peer_token=there.reader_token.token,
                        namespace=here.istio.namespace,
                    ),
                    opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": here.eks.provider}),
                )

        if spec.deploy_samples:
            for index, c in enumerate(spec.clusters):
                # A remote's pods get their sidecars and config from the primary's istiod, which
                # needs its remote secret for the remote to serve (and authenticate) them.
                istiod = [self.clusters[c.name].istio.istiod]
                if c.is_remote:
                    istiod += [self.clusters[c.primary].istio.istiod, remote_secrets[c.primary, c.name]]
                SampleWorkloads(
                    f"{c.name}-samples",
                    SampleWorkloadsArgs(version=sample_version(index), istiod=istiod),
                    opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.clusters[c.name].eks.provider}),
                )

        self.cluster_outputs = {
            c.name: {
                "region": c.region,
                "network": c.network,
                "vpcId": self.clusters[c.name].network.vpc_id,
                "endpoint": self.clusters[c.name].eks.endpoint,
                "kubeconfig": self.clusters[c.name].eks.kubeconfig,
                "role": c.role,
                "eastWestAddress": self.clusters[c.name].istio.east_west_address,
                "eastWestStaticIps": pulumi.Output.all(*[e.public_ip for e in self.clusters[c.name].network.east_west_eips]),
                # What `verify` expects helloworld in this cluster to answer; absent without samples.
                **({"sampleVersion": sample_version(index)} if spec.deploy_samples else {}),
            }
            for index, c in enumerate(spec.clusters)
        }
        self.register_outputs({"clusters": self.cluster_outputs, "rootCertPem": self.root_ca.cert_pem})
