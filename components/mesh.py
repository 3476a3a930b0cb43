"""The whole mesh, built side by side from one MeshSpec: per cluster its network, EKS cluster, load
balancer controller, CA and Istio; once, the root CA; per pair, VPC peering (clusters sharing a
network) and remote secrets (every primary watches every other cluster).

The order between resources lives only in the dependency graph, so `pulumi up` creates clusters
in parallel and `pulumi destroy` removes everything in reverse, in one command each. Who runs
istiod, who serves whom, who has a gateway and who peers were decided with the config
(`spec.topology`, a `MeshTopology`); the steps below only read it, in its build order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pulumi
import pulumi_aws as aws

from components import migrations
from components.aws.cluster import EksCluster, EksClusterArgs, KubeconfigCredentials
from components.aws.image_cache import DockerHubCache, DockerHubCacheArgs, ImagePullAccess, ImagePullAccessArgs
from components.aws.load_balancer import LoadBalancerController, LoadBalancerControllerArgs
from components.aws.metrics import CollectedCluster, RegionMetrics, RegionMetricsArgs
from components.aws.network import Vpc, VpcArgs
from components.aws.peering import PeerSide, SameNetworkAccess, VpcPeering, VpcPeeringArgs
from components.aws.providers import provider_args
from components.aws.transit import TransitMember, TransitNetwork, TransitNetworkArgs
from components.istio.control_plane import ControlPlaneAccess, IstioControlPlane, IstioControlPlaneArgs
from components.istio.gateway import EastWestGateway, EastWestGatewayArgs
from components.istio.mtls import MeshMtls, MeshMtlsArgs
from components.istio.remote_secrets import ReaderToken, ReaderTokenArgs, RemoteSecret, RemoteSecretArgs
from components.istio.samples import SAMPLE_HOST, SampleWorkloads, SampleWorkloadsArgs, sample_version
from components.istio.traffic import MeshTraffic, MeshTrafficArgs, sample_rule_spec
from components.istio.trust import IntermediateCa, IntermediateCaArgs, mesh_roots
from components.model import versions
from components.model.aws_settings import AwsSettings
from components.model.deployed import LastDeployment
from components.model.image_cache import cached
from components.model.spec import ClusterSpec, MeshSpec
from components.plan import names
from components.plan.addon_versions import RECORD_VERSION_KEY, plan_addon_versions
from components.plan.principals import cluster_creators, new_clusters, same_principal


@dataclass
class IstioMeshArgs:
    spec: MeshSpec
    # The stack's `aws:` settings, for every AWS provider and kubeconfig; empty uses the environment's.
    aws: AwsSettings = AwsSettings()
    # What the stack's last update exported: the clusters it had and who created each.
    last: LastDeployment = LastDeployment()


@dataclass
class MeshCluster:
    """What the later steps need of one cluster: its components, each used through its own attributes."""

    network: Vpc
    eks: EksCluster
    load_balancer_controller: LoadBalancerController
    istio: IstioControlPlane
    reader_token: ReaderToken
    # Where the topology gives the cluster one; made after the remote secrets it waits for.
    gateway: EastWestGateway | None = None


@dataclass
class MeshAccess:
    """Who may reach what, mesh-wide."""

    # EKS public endpoints: the operators' CIDRs plus every VPC's NAT addresses (the other istiods).
    api: pulumi.Input[list[str]]
    # East-west gateways: `eastWestAllowedCidrs`, or by default the mesh's NAT addresses.
    east_west: pulumi.Input[list[str]]


class IstioMesh(pulumi.ComponentResource):
    """The mesh; what `__main__` exports."""

    # Per cluster: region, network, endpoint, kubeconfig (secret), role, east-west address, ...
    cluster_outputs: dict[str, dict]
    # Every root the clusters trust (one, or two during a rotation), and the one that signs.
    root_bundle_pem: pulumi.Output[str]
    signing_root_pem: pulumi.Output[str]
    # Each cluster's components, by name, for the steps after it is built.
    clusters: dict[str, MeshCluster]
    # Per cluster, the identity EKS made its admin when it created it ("" if unknown).
    cluster_creators: dict[str, str]
    # Per cluster, its managed add-ons' versions and the Kubernetes version they were chosen for.
    addon_versions: dict[str, dict[str, pulumi.Input[str]]]
    # Per cluster, its VPC's range, and the IPAM pool it came from (if it did).
    vpc_cidrs: dict[str, pulumi.Input[str]]
    vpc_ipam_pools: dict[str, str]
    # Each same-network pair as oriented (requester first).
    same_network_pairs: list[list[str]]
    # Per cluster, its reader token's generation and when it was made (`readerTokens`).
    reader_tokens: dict[str, dict]
    # The mesh-wide mTLS mode (`mtls`), read back so an unset key keeps what the stack runs.
    mtls: str
    # Per region, its metrics workspace's Prometheus endpoint (`metrics: amp`; empty otherwise).
    metrics_endpoints: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: IstioMeshArgs, opts: pulumi.ResourceOptions | None = None):
        # Every resource of the mesh picks up the aliases of its earlier names (migrations.py).
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transforms=[migrations.add_aliases]))
        super().__init__("istio-eks-mesh:mesh:IstioMesh", name, None, opts)
        spec, self._settings, self._last = args.spec, args.aws, args.last
        # The kubeconfigs authenticate as the configured role, else as the role the AWS providers
        # assume (the clusters' creator, already admin), through the same profile.
        self._credentials = KubeconfigCredentials(
            profile=args.aws.profile,
            role_arn=spec.access.kubeconfig_role_arn or args.aws.assumed_role_arn,
            config_file=args.aws.shared_file("config"),
            credentials_file=args.aws.shared_file("credentials"),
        )

        # Every AWS resource of the mesh carries these, the controller's load balancers too.
        self._tags = {
            **args.aws.default_tags,
            "istio-eks-mesh/mesh": spec.mesh_id,
            "istio-eks-mesh/stack": pulumi.get_stack(),
        }
        self._aws = self._aws_providers(spec)
        self._caches = self._image_caches(spec)
        self.cluster_creators = self._creators(spec, args.last)
        networks = {c.name: self._network(c) for c in spec.clusters}
        self._transit = self._transit_network(spec, networks) if spec.connectivity.private else None
        access = self._access(spec, networks)
        self._roots = mesh_roots(spec.pki, self)
        self.clusters = {}
        self._remote_secrets: dict[tuple[str, str], RemoteSecret] = {}
        for step in spec.topology.build_steps:
            c = spec.cluster(step.cluster)
            self.clusters[c.name] = self._cluster(spec, c, networks[c.name], access)
            for local, peer in step.remote_secrets:
                self._remote_secrets[local, peer] = self._remote_secret(local, peer)
            if spec.topology[c.name].east_west_gateway:
                self._gateway(spec, c, access)
        self._peerings(spec)
        self._mesh_policies(spec)
        if spec.deploy_samples:
            self._samples(spec)
        self.metrics_endpoints = self._metrics(spec) if spec.metrics.enabled else {}
        self.cluster_outputs = self._outputs(spec)
        self.vpc_cidrs = {c.name: networks[c.name].cidr_block for c in spec.clusters}
        self.vpc_ipam_pools = {c.name: c.ipam_pool for c in spec.clusters if c.ipam_pool}
        self.same_network_pairs = [list(pair) for pair in spec.topology.peerings]
        self.reader_tokens = spec.reader_tokens.output()
        self.mtls = spec.mtls
        self.addon_versions = {
            c.name: {RECORD_VERSION_KEY: c.kubernetes_version, **self.clusters[c.name].eks.addon_versions}
            for c in spec.clusters
        }
        self.root_bundle_pem, self.signing_root_pem = self._roots.bundle_pem, self._roots.signer.cert_pem
        self.register_outputs(
            {
                "clusters": self.cluster_outputs,
                "rootCertPem": self.root_bundle_pem,
                "clusterCreators": self.cluster_creators,
                "addonVersions": self.addon_versions,
                "vpcCidrs": self.vpc_cidrs,
                "vpcIpamPools": self.vpc_ipam_pools,
                "sameNetworkPairs": self.same_network_pairs,
                "readerTokens": self.reader_tokens,
                "mtls": self.mtls,
                "metricsEndpoints": self.metrics_endpoints,
            }
        )

    def _creators(self, spec: MeshSpec, last: LastDeployment) -> dict[str, str]:
        """Who created each cluster (components/plan/principals.py). The caller is asked only when
        a cluster is new: the identity of the AWS providers, the same in every region."""
        names = [c.name for c in spec.clusters]
        caller = None
        if new_clusters(names, last):
            provider = self._aws[spec.clusters[0].region]
            caller = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider)).arn
        return cluster_creators(names, last, legacy=self._settings.assumed_role_arn, caller=caller)

    def _child(self, **providers: pulumi.ProviderResource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, providers=providers or None)

    def _aws_providers(self, spec: MeshSpec) -> dict[str, aws.Provider]:
        """One AWS provider per region, shared by the clusters there, with the stack's AWS settings."""
        return {
            region: aws.Provider(
                f"aws-{region}",
                region=region,
                default_tags={"tags": self._tags},
                **provider_args(self._settings),
                opts=self._child(),
            )
            for region in dict.fromkeys(c.region for c in spec.clusters)
        }

    def _image_caches(self, spec: MeshSpec) -> dict[str, DockerHubCache]:
        """`imageCache`: a pull-through cache of Docker Hub in every region of the mesh."""
        credentials = spec.image_cache.docker_hub_credentials if spec.image_cache else {}
        return {
            region: DockerHubCache(
                f"image-cache-{region}",
                DockerHubCacheArgs(region=region, credential_arn=arn),
                opts=self._child(aws=self._aws[region]),
            )
            for region, arn in credentials.items()
        }

    def _cached(self, spec: MeshSpec, c: ClusterSpec, docker_hub_path: str) -> str:
        """An image (or hub) on Docker Hub, through the cluster's regional cache if there is one."""
        if spec.image_cache is None:
            return docker_hub_path
        return cached(spec.image_cache.account, c.region, docker_hub_path)

    def _image_sources(self, spec: MeshSpec, c: ClusterSpec, eks: EksCluster) -> tuple:
        """Where the cluster's Istio releases pull from, and what lets its nodes pull there."""
        cache = self._caches.get(c.region)
        if cache is None:
            return spec.sources, None
        access = ImagePullAccess(
            f"{c.name}-image-pull",
            ImagePullAccessArgs(
                region=c.region, node_role=eks.node_role, cache=cache, partition=spec.image_cache.partition
            ),
            opts=self._child(aws=self._aws[c.region]),
        )
        return replace(spec.sources, istio_hub=self._cached(spec, c, versions.ISTIO_IMAGE_HUB)), access.policy

    def _network(self, c: ClusterSpec) -> Vpc:
        return Vpc(f"{c.name}-network", VpcArgs(cluster=c), opts=self._child(aws=self._aws[c.region]))

    def _transit_network(self, spec: MeshSpec, networks: dict[str, Vpc]) -> TransitNetwork:
        """Private mode: the VPCs joined by a Transit Gateway per region, the regions peered."""
        return TransitNetwork(
            "transit",
            TransitNetworkArgs(
                members=[TransitMember(c, networks[c.name]) for c in spec.clusters],
                providers=self._aws,
                mesh_cidr=spec.mesh_cidr,
                operator_cidrs=spec.connectivity.operator_cidrs,
                existing=spec.connectivity.transit_gateways,
                entries=spec.connectivity.operator_entries,
                mesh_id=spec.mesh_id,
            ),
            opts=self._child(),
        )

    @staticmethod
    def _access(spec: MeshSpec, networks: dict[str, Vpc]) -> MeshAccess:
        # Every istiod talks to every other cluster's API server, and cross-cluster traffic leaves
        # each VPC, through its NAT gateways.
        nat_cidrs = pulumi.Output.all(*[n.nat_public_ips for n in networks.values()]).apply(
            lambda per_vpc: sorted({f"{ip}/32" for ips in per_vpc for ip in ips})
        )
        if spec.connectivity.private:
            # Peers come over the Transit Gateways from their VPC addresses: no NAT address anywhere.
            mesh = [spec.mesh_cidr]
            return MeshAccess(
                api=mesh,
                east_west=list(spec.east_west_allowed_cidrs) if spec.east_west_allowed_cidrs is not None else mesh,
            )
        return MeshAccess(
            api=nat_cidrs.apply(lambda nats: [*spec.api_access_cidrs, *nats]),
            east_west=list(spec.east_west_allowed_cidrs) if spec.east_west_allowed_cidrs is not None else nat_cidrs,
        )

    def _gateway(self, spec: MeshSpec, c: ClusterSpec, access: MeshAccess) -> None:
        here, topology = self.clusters[c.name], spec.topology[c.name]
        # A remote's gateway pods take their configuration from the primary's istiod, which must
        # know this cluster (its remote secret) to authenticate them.
        served_by = [self._remote_secrets[topology.control_plane, c.name]] if topology.is_remote else []
        gateway = EastWestGateway(
            f"{c.name}-istio-gateway",
            EastWestGatewayArgs(
                cluster=c,
                topology=topology,
                revisions=spec.revisions,
                control_plane=here.istio,
                load_balancer_controller=here.load_balancer_controller,
                allowed_cidrs=access.east_west,
                child_prefix=f"{c.name}-istio",
                addresses=here.network.gateway_addresses,
                internal=spec.connectivity.private,
                after=served_by,
            ),
            opts=self._child(aws=self._aws[c.region], kubernetes=here.eks.provider),
        )
        self.clusters[c.name] = replace(here, gateway=gateway)

    def _cluster(self, spec: MeshSpec, c: ClusterSpec, network: Vpc, access: MeshAccess) -> MeshCluster:
        """One cluster: EKS, its intermediate CA, the load balancer controller, Istio, a reader token."""
        region = self._aws[c.region]
        topology = spec.topology[c.name]
        eks = EksCluster(
            c.name,
            EksClusterArgs(
                cluster=c,
                vpc_id=network.vpc_id,
                public_subnet_ids=network.public_subnet_ids,
                private_subnet_ids=network.private_subnet_ids,
                public_access_cidrs=access.api,
                network=network,
                credentials=self._credentials,
                # EKS makes the identity that creates a cluster its admin itself; a second access
                # entry for it would fail.
                admins=tuple(a for a in spec.access.admins if not same_principal(a, self.cluster_creators[c.name])),
                addon_versions=plan_addon_versions(c.name, c.kubernetes_version, c.eks.addon_versions, self._last),
                private_api_sources=(spec.mesh_cidr, *spec.connectivity.operator_cidrs) if self._transit else None,
                private_paths=self._transit.paths[c.name] if self._transit else [],
            ),
            opts=self._child(aws=region),
        )
        ca = IntermediateCa(
            f"{c.name}-ca", IntermediateCaArgs(cluster_name=c.name, pki=spec.pki, roots=self._roots), opts=self._child()
        )
        in_cluster = self._child(aws=region, kubernetes=eks.provider)
        sources, image_pull = self._image_sources(spec, c, eks)
        controller = LoadBalancerController(
            f"{c.name}-lb-controller",
            LoadBalancerControllerArgs(
                cluster=c,
                vpc_id=network.vpc_id,
                vpc_arn=network.vpc_arn,
                oidc_provider_arn=eks.oidc_provider_arn,
                oidc_provider_url=eks.oidc_provider_url,
                node_group=eks.node_group,
                chart_repository=spec.sources.eks_charts,
                default_tags=self._tags,
            ),
            opts=in_cluster,
        )
        istio = IstioControlPlane(
            f"{c.name}-istio",
            IstioControlPlaneArgs(
                cluster=c,
                topology=topology,
                mesh_id=spec.mesh_id,
                revisions=spec.revisions,
                ca=ca,
                node_group=eks.node_group,
                load_balancer_controller=controller,
                primary=self._primary_access(topology.control_plane) if topology.is_remote else None,
                extra_values=spec.istio_values,
                extra_values_secret=spec.istio_values_secret,
                traffic=spec.traffic,
                sources=sources,
                image_pull=image_pull,
            ),
            opts=in_cluster,
        )
        reader_token = ReaderToken(
            f"{c.name}-reader-token",
            ReaderTokenArgs(reader_account=istio.reader_account, generation=spec.reader_tokens.generation),
            opts=self._child(kubernetes=eks.provider),
        )
        return MeshCluster(
            network=network, eks=eks, load_balancer_controller=controller, istio=istio, reader_token=reader_token
        )

    def _primary_access(self, primary: str) -> ControlPlaneAccess:
        """How a remote reaches its primary's istiod: through the primary's gateway, built before."""
        gateway = self.clusters[primary].gateway
        assert gateway is not None and gateway.remote_access is not None, (
            f"{primary} exposes istiod through its gateway"
        )
        return gateway.remote_access

    def _peerings(self, spec: MeshSpec) -> None:
        """Clusters on one network reach each other's pods directly: their VPCs are peered (in
        private mode the Transit Gateways route between them already)."""

        def side(c: ClusterSpec) -> PeerSide:
            here = self.clusters[c.name]
            return PeerSide(c, here.network, here.eks.cluster_security_group_id, self._aws[c.region])

        for a, b in spec.topology.peerings:
            pair = VpcPeeringArgs(requester=side(spec.cluster(a)), accepter=side(spec.cluster(b)))
            if self._transit:
                SameNetworkAccess(names.same_network(a, b), pair, names.peering(a, b), self, opts=self._child())
            else:
                VpcPeering(names.peering(a, b), pair, opts=self._child())

    def _mesh_policies(self, spec: MeshSpec) -> None:
        """In every primary (whose istiod also serves its remotes; a remote's serves no xDS): the
        mesh-wide DestinationRule, with locality load balancing, and the mesh-wide PeerAuthentication."""
        for c in (c for c in spec.clusters if not c.is_remote):
            here = self.clusters[c.name]
            opts = self._child(kubernetes=here.eks.provider)
            if spec.traffic.locality_load_balancing:
                MeshTraffic(
                    f"{c.name}-traffic", MeshTrafficArgs(traffic=spec.traffic, istiod=here.istio.injector), opts=opts
                )
            MeshMtls(f"{c.name}-mtls", MeshMtlsArgs(mode=spec.mtls, istiod=here.istio.injector), opts=opts)

    def _metrics(self, spec: MeshSpec) -> dict[str, pulumi.Output[str]]:
        """Per region a workspace (or the named one) and a collector per cluster there."""
        endpoints = {}
        for region in dict.fromkeys(c.region for c in spec.clusters):
            collected = [
                CollectedCluster(
                    cluster=c,
                    cluster_arn=self.clusters[c.name].eks.arn,
                    vpc_id=self.clusters[c.name].network.vpc_id,
                    private_subnet_ids=self.clusters[c.name].network.private_subnet_ids,
                    cluster_security_group_id=self.clusters[c.name].eks.cluster_security_group_id,
                )
                for c in spec.clusters
                if c.region == region
            ]
            metrics = RegionMetrics(
                f"metrics-{region}",
                RegionMetricsArgs(
                    region=region,
                    mesh_id=spec.mesh_id,
                    clusters=collected,
                    workspace_arn=spec.metrics.workspaces.get(region),
                ),
                opts=self._child(aws=self._aws[region]),
            )
            endpoints[region] = metrics.endpoint
        return endpoints

    def _remote_secret(self, local: str, peer: str) -> RemoteSecret:
        """The local istiod's credentials for the peer's API server."""
        here, there = self.clusters[local], self.clusters[peer]
        return RemoteSecret(
            names.remote_secret(local, peer),
            RemoteSecretArgs(
                peer_name=peer,
                peer_endpoint=there.eks.endpoint,
                peer_certificate_authority=there.eks.certificate_authority,
                peer_token=there.reader_token.token,
                namespace=here.istio.namespace,
            ),
            opts=self._child(kubernetes=here.eks.provider),
        )

    def _samples(self, spec: MeshSpec) -> None:
        for index, c in enumerate(spec.clusters):
            # A remote's pods get their configuration from the primary's istiod, which needs its
            # remote secret for the remote to serve (and authenticate) them.
            control_plane = spec.topology[c.name].control_plane
            injectors: list[pulumi.Resource] = [self.clusters[c.name].istio.injector]
            if control_plane != c.name:
                injectors += [self.clusters[control_plane].istio.injector, self._remote_secrets[control_plane, c.name]]
            SampleWorkloads(
                f"{c.name}-samples",
                SampleWorkloadsArgs(
                    version=sample_version(index),
                    istiod=injectors,
                    # Istio config is read from a primary's API server only.
                    destination_rule=None if c.is_remote else sample_rule_spec(spec, SAMPLE_HOST),
                    helloworld_image=self._cached(spec, c, versions.HELLOWORLD_IMAGE),
                    curl_image=self._cached(spec, c, versions.CURL_IMAGE),
                ),
                opts=self._child(kubernetes=self.clusters[c.name].eks.provider),
            )

    def _outputs(self, spec: MeshSpec) -> dict[str, dict]:
        def of(index: int, c: ClusterSpec) -> dict:
            here = self.clusters[c.name]
            addresses = here.network.gateway_addresses
            return {
                "region": c.region,
                "network": c.network,
                "vpcId": here.network.vpc_id,
                # Read back by the next run, which refuses a change of them (EKS keeps its zones).
                "availabilityZones": here.network.zones,
                # Read back: a node group keeps its AMI type (changing it replaces the group).
                "nodeGroupAmiTypes": {g.name: g.ami_type or "" for g in c.node_groups},
                # Read back too: a Secrets key cannot be removed or changed (config/clusters.py).
                "secretsKmsKeyArn": c.eks.secrets_kms_key_arn,
                "endpoint": here.eks.endpoint,
                "kubeconfig": here.eks.kubeconfig,
                "role": c.role,
                "eastWestAddress": here.gateway.address if here.gateway else None,
                "eastWestStaticIps": addresses.public_ips if addresses else [],
                # The istiod Deployments of the installed revisions, for `verify`.
                "istiodDeployments": [r.release for r in spec.revisions.revisions],
                # What `verify` expects helloworld in this cluster to answer; absent without samples.
                **({"sampleVersion": sample_version(index)} if spec.deploy_samples else {}),
                # Tells `verify` that callers stay local, so not every version answers every cluster.
                "localityLoadBalancing": spec.traffic.locality_load_balancing,
            }

        return {c.name: of(index, c) for index, c in enumerate(spec.clusters)}
