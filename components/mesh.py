"""The whole mesh, built side by side from one MeshPlan: per cluster its network, EKS cluster, load
balancer controller, CA and Istio; once, the root CA; per pair, VPC peering (clusters sharing a
network) and remote secrets (every primary watches every other cluster).

The order between resources lives only in the dependency graph, so `pulumi up` creates clusters
in parallel and `pulumi destroy` removes everything in reverse, in one command each. Who runs
istiod, who serves whom, who has a gateway, who peers, who reaches what and what the stack exports
were decided with the config (`plan/mesh_plan.py`, a `MeshPlan`); the steps below walk it, in its
build order, and decide nothing again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

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
from components.istio.samples import SAMPLE_HOST, SampleWorkloads, SampleWorkloadsArgs
from components.istio.traffic import MeshTraffic, MeshTrafficArgs, sample_rule_spec
from components.istio.trust import IntermediateCa, IntermediateCaArgs, mesh_roots
from components.model import versions
from components.model.aws_settings import AwsSettings
from components.model.image_cache import cached
from components.model.spec import ClusterSpec, MeshSpec
from components.plan.addon_versions import RECORD_VERSION_KEY
from components.plan.mesh_plan import ClusterPlan, EndpointSources, MeshPlan, PeeringPlan, RemoteSecretPlan


@dataclass
class IstioMeshArgs:
    plan: MeshPlan
    # The stack's `aws:` settings, for every AWS provider and kubeconfig; empty uses the environment's.
    aws: AwsSettings = AwsSettings()


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
    """The plan's endpoint sources, with the VPCs' NAT addresses filled in once they exist."""

    # EKS public endpoints (public mode; empty in private mode, which has none).
    api: pulumi.Input[list[str]]
    # East-west gateways.
    east_west: pulumi.Input[list[str]]


class IstioMesh(pulumi.ComponentResource):
    """The mesh; what `__main__` exports."""

    # The stack outputs by name (plan/outputs.py `EXPORTED`, in that order).
    outputs: dict[str, Any]
    # Each cluster's components, by name, for the steps after it is built.
    clusters: dict[str, MeshCluster]

    def __init__(self, name: str, args: IstioMeshArgs, opts: pulumi.ResourceOptions | None = None):
        # Every resource of the mesh picks up the aliases of its earlier names (migrations.py).
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transforms=[migrations.add_aliases]))
        super().__init__("istio-eks-mesh:mesh:IstioMesh", name, None, opts)
        plan, spec, self._settings = args.plan, args.plan.spec, args.aws
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
        self._aws = self._aws_providers(plan)
        self._plan = plan = self._with_creators(plan)
        self._caches = self._image_caches(spec)
        networks = {c.name: self._network(c) for c in spec.clusters}
        self._transit = self._transit_network(spec, networks) if plan.access.private_api is not None else None
        access = self._access(plan.access.public_api, plan.access.east_west, networks)
        self._roots = mesh_roots(spec.pki, self)
        self.clusters = {}
        self._remote_secrets: dict[tuple[str, str], RemoteSecret] = {}
        for c in plan.clusters:
            self.clusters[c.name] = self._cluster(spec, c, networks[c.name], access)
            for secret in c.remote_secrets:
                self._remote_secrets[secret.local, secret.peer] = self._remote_secret(secret)
            if c.topology.east_west_gateway:
                self._gateway(spec, c, access)
        for peering in plan.peerings:
            self._peering(spec, peering)
        self._mesh_policies(plan)
        if spec.deploy_samples:
            self._samples(plan)
        metrics_endpoints = self._metrics(plan) if spec.metrics.enabled else {}
        self.outputs = self._stack_outputs(plan, networks, metrics_endpoints)
        self.register_outputs(self.outputs)

    def _with_creators(self, plan: MeshPlan) -> MeshPlan:
        """The plan with its new clusters' creator: the identity of the AWS providers, the same in
        every region, asked only when a cluster is new (components/plan/principals.py)."""
        if not plan.new_clusters:
            return plan
        provider = self._aws[plan.regions[0]]
        return plan.with_caller(aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider)).arn)

    def _child(self, **providers: pulumi.ProviderResource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, providers=providers or None)

    def _aws_providers(self, plan: MeshPlan) -> dict[str, aws.Provider]:
        """One AWS provider per region, shared by the clusters there, with the stack's AWS settings."""
        return {
            region: aws.Provider(
                f"aws-{region}",
                region=region,
                default_tags={"tags": self._tags},
                **provider_args(self._settings),
                opts=self._child(),
            )
            for region in plan.regions
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
    def _access(api: EndpointSources | None, east_west: EndpointSources, networks: dict[str, Vpc]) -> MeshAccess:
        nat_cidrs = pulumi.Output.all(*[n.nat_public_ips for n in networks.values()]).apply(
            lambda per_vpc: sorted({f"{ip}/32" for ips in per_vpc for ip in ips})
        )

        def filled(sources: EndpointSources | None) -> pulumi.Input[list[str]]:
            if sources is None:
                return []
            if not sources.nat_addresses:
                return list(sources.cidrs)
            return nat_cidrs.apply(lambda nats: [*sources.cidrs, *nats])

        return MeshAccess(api=filled(api), east_west=filled(east_west))

    def _gateway(self, spec: MeshSpec, c: ClusterPlan, access: MeshAccess) -> None:
        here, topology = self.clusters[c.name], c.topology
        # A remote's gateway pods take their configuration from the primary's istiod, which must
        # know this cluster (its remote secret) to authenticate them.
        served_by = [self._remote_secrets[topology.control_plane, c.name]] if topology.is_remote else []
        gateway = EastWestGateway(
            f"{c.name}-istio-gateway",
            EastWestGatewayArgs(
                cluster=c.cluster,
                topology=topology,
                revisions=spec.revisions,
                control_plane=here.istio,
                load_balancer_controller=here.load_balancer_controller,
                allowed_cidrs=access.east_west,
                child_prefix=f"{c.name}-istio",
                addresses=here.network.gateway_addresses,
                internal=self._plan.access.internal_load_balancers,
                after=served_by,
            ),
            opts=self._child(aws=self._aws[c.cluster.region], kubernetes=here.eks.provider),
        )
        self.clusters[c.name] = replace(here, gateway=gateway)

    def _cluster(self, spec: MeshSpec, plan: ClusterPlan, network: Vpc, access: MeshAccess) -> MeshCluster:
        """One cluster: EKS, its intermediate CA, the load balancer controller, Istio, a reader token."""
        c, topology = plan.cluster, plan.topology
        region = self._aws[c.region]
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
                admins=plan.access_entries,
                addon_versions=plan.addon_versions,
                private_api_sources=self._plan.access.private_api,
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

    def _peering(self, spec: MeshSpec, peering: PeeringPlan) -> None:
        """Clusters on one network reach each other's pods directly: their VPCs are peered (in
        private mode the Transit Gateways route between them already)."""

        def side(name: str) -> PeerSide:
            c, here = spec.cluster(name), self.clusters[name]
            return PeerSide(c, here.network, here.eks.cluster_security_group_id, self._aws[c.region])

        pair = VpcPeeringArgs(requester=side(peering.requester), accepter=side(peering.accepter))
        if peering.over_transit:
            SameNetworkAccess(peering.name, pair, peering.peering_name, self, opts=self._child())
        else:
            VpcPeering(peering.name, pair, opts=self._child())

    def _mesh_policies(self, plan: MeshPlan) -> None:
        """In every primary (whose istiod also serves its remotes; a remote's serves no xDS): the
        mesh-wide DestinationRule, with locality load balancing, and the mesh-wide PeerAuthentication."""
        spec = plan.spec
        for c in (c for c in plan.in_config_order if not c.topology.is_remote):
            here = self.clusters[c.name]
            opts = self._child(kubernetes=here.eks.provider)
            if spec.traffic.locality_load_balancing:
                MeshTraffic(
                    f"{c.name}-traffic", MeshTrafficArgs(traffic=spec.traffic, istiod=here.istio.injector), opts=opts
                )
            MeshMtls(f"{c.name}-mtls", MeshMtlsArgs(mode=spec.mtls, istiod=here.istio.injector), opts=opts)

    def _metrics(self, plan: MeshPlan) -> dict[str, pulumi.Output[str]]:
        """Per region a workspace (or the named one) and a collector per cluster there."""
        endpoints = {}
        for region in plan.regions:
            collected = [
                CollectedCluster(
                    cluster=c,
                    cluster_arn=self.clusters[c.name].eks.arn,
                    vpc_id=self.clusters[c.name].network.vpc_id,
                    private_subnet_ids=self.clusters[c.name].network.private_subnet_ids,
                    cluster_security_group_id=self.clusters[c.name].eks.cluster_security_group_id,
                )
                for c in plan.in_region(region)
            ]
            metrics = RegionMetrics(
                f"metrics-{region}",
                RegionMetricsArgs(
                    region=region,
                    mesh_id=plan.spec.mesh_id,
                    clusters=collected,
                    workspace_arn=plan.spec.metrics.workspaces.get(region),
                    locality_first=plan.spec.traffic.locality_load_balancing,
                ),
                opts=self._child(aws=self._aws[region]),
            )
            endpoints[region] = metrics.endpoint
        return endpoints

    def _remote_secret(self, secret: RemoteSecretPlan) -> RemoteSecret:
        """The local istiod's credentials for the peer's API server."""
        here, there = self.clusters[secret.local], self.clusters[secret.peer]
        return RemoteSecret(
            secret.name,
            RemoteSecretArgs(
                peer_name=secret.peer,
                peer_endpoint=there.eks.endpoint,
                peer_certificate_authority=there.eks.certificate_authority,
                peer_token=there.reader_token.token,
                namespace=here.istio.namespace,
            ),
            opts=self._child(kubernetes=here.eks.provider),
        )

    def _samples(self, plan: MeshPlan) -> None:
        spec = plan.spec
        for c in plan.in_config_order:
            # A remote's pods get their configuration from the primary's istiod, which needs its
            # remote secret for the remote to serve (and authenticate) them.
            control_plane = c.topology.control_plane
            injectors: list[pulumi.Resource] = [self.clusters[c.name].istio.injector]
            if control_plane != c.name:
                injectors += [self.clusters[control_plane].istio.injector, self._remote_secrets[control_plane, c.name]]
            SampleWorkloads(
                f"{c.name}-samples",
                SampleWorkloadsArgs(
                    version=c.sample_version,
                    istiod=injectors,
                    # Istio config is read from a primary's API server only.
                    destination_rule=None if c.topology.is_remote else sample_rule_spec(spec, SAMPLE_HOST),
                    helloworld_image=self._cached(spec, c.cluster, versions.HELLOWORLD_IMAGE),
                    curl_image=self._cached(spec, c.cluster, versions.CURL_IMAGE),
                ),
                opts=self._child(kubernetes=self.clusters[c.name].eks.provider),
            )

    def _cluster_record(self, plan: ClusterPlan) -> dict[str, Any]:
        """Its entry of the `clusters` output: the plan's part, and what exists once it is built."""
        here = self.clusters[plan.name]
        addresses = here.network.gateway_addresses
        return {
            **plan.record(self._plan.spec),
            "vpcId": here.network.vpc_id,
            # Read back by the next run, which refuses a change of them (EKS keeps its zones).
            "availabilityZones": here.network.zones,
            "endpoint": here.eks.endpoint,
            "kubeconfig": here.eks.kubeconfig,
            "eastWestAddress": here.gateway.address if here.gateway else None,
            "eastWestStaticIps": addresses.public_ips if addresses else [],
        }

    def _stack_outputs(
        self, plan: MeshPlan, networks: dict[str, Vpc], metrics_endpoints: dict[str, pulumi.Output[str]]
    ) -> dict[str, Any]:
        """Every stack output, by the names the plan gives them."""
        spec = plan.spec
        values = {
            "clusters": {c.name: self._cluster_record(c) for c in plan.in_config_order},
            "rootCertPem": self._roots.bundle_pem,
            "signingRootCertPem": self._roots.signer.cert_pem,
            "clusterCreators": plan.creators,
            "addonVersions": {
                c.name: {RECORD_VERSION_KEY: c.kubernetes_version, **self.clusters[c.name].eks.addon_versions}
                for c in spec.clusters
            },
            "vpcCidrs": {c.name: networks[c.name].cidr_block for c in spec.clusters},
            "vpcIpamPools": {c.name: c.ipam_pool for c in spec.clusters if c.ipam_pool},
            "sameNetworkPairs": [[p.requester, p.accepter] for p in plan.peerings],
            "readerTokens": spec.reader_tokens.output(),
            "mtls": spec.mtls,
            "metricsEndpoints": metrics_endpoints,
        }
        assert tuple(values) == plan.outputs, "every output the plan names, and only those"
        return values
