"""The mesh's plan: every decision the wiring acts on, made once from the validated spec and what
the stack last deployed. `plan_mesh` is pure: `pulumi up` builds it before any resource
(`__main__`), `mesh.py` walks it, and `python -m check` prints it. The one fact it cannot know
offline, who runs this update (a new cluster's creator, whom EKS makes admin itself), the wiring
reads when the plan says it is needed and hands back with `with_caller`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from components.model.deployed import LastDeployment
from components.model.spec import ClusterSpec, ClusterTopology, MeshSpec, MeshTopology
from components.plan import names, outputs
from components.plan.addon_versions import AskEks, plan_addon_versions
from components.plan.principals import caller_principal, recorded_creator, same_principal
from components.plan.quotas import gateway_ports, quota_use
from components.plan.ranges import subnet_cidrs
from components.plan.topology import plan_topology


@dataclass(frozen=True)
class EndpointSources:
    """Who may reach an endpoint: fixed CIDRs and, when `nat_addresses`, every VPC's NAT addresses
    (the other clusters' istiods and cross-network traffic leave their VPCs there), which are known
    once the VPCs exist."""

    cidrs: tuple[str, ...]
    nat_addresses: bool = False

    def count(self, nat_addresses: int) -> int:
        """How many CIDRs the endpoint admits, given the mesh's number of NAT addresses."""
        return len(self.cidrs) + (nat_addresses if self.nat_addresses else 0)


@dataclass(frozen=True)
class AccessPlan:
    """Who reaches which endpoint from where."""

    # The EKS public endpoints (public mode; None in private mode, which has none): `apiAccessCidrs`
    # plus every VPC's NAT addresses.
    public_api: EndpointSources | None
    # The private endpoints (private mode): 443 from meshCidr and `operatorCidrs`, on the control
    # plane's own security group; None in public mode.
    private_api: tuple[str, ...] | None
    # The east-west gateways' NLBs: `eastWestAllowedCidrs`, else meshCidr in private mode, else every
    # VPC's NAT addresses (only mesh peers).
    east_west: EndpointSources
    # Internal NLBs (private mode) or internet-facing ones.
    internal_load_balancers: bool


@dataclass(frozen=True)
class PeeringPlan:
    """Two clusters on one network, whose pods reach each other directly."""

    requester: str
    accepter: str
    # Private mode: the Transit Gateways route between the VPCs already; only the security-group
    # rules between the two clusters are made. Public mode: a VPC peering and its routes and rules.
    over_transit: bool

    @property
    def name(self) -> str:
        return names.same_network(self.requester, self.accepter) if self.over_transit else self.peering_name

    @property
    def peering_name(self) -> str:
        return names.peering(self.requester, self.accepter)


@dataclass(frozen=True)
class RemoteSecretPlan:
    """The local istiod's credentials for the peer's API server."""

    local: str
    peer: str

    @property
    def name(self) -> str:
        return names.remote_secret(self.local, self.peer)


@dataclass(frozen=True)
class ClusterPlan:
    cluster: ClusterSpec
    topology: ClusterTopology
    # Per managed add-on, the version to install, or what to ask EKS for (plan/addon_versions.py).
    addon_versions: Mapping[str, str | AskEks]
    # The identity EKS made (or makes) the cluster's admin; None: whoever runs this update (a new
    # cluster, until `with_caller`); "" unknown.
    creator: str | None
    # The `clusterAdmins` that get an access entry: all but the creator, whom EKS made admin itself
    # (a second entry for the same principal fails).
    access_entries: tuple[str, ...]
    # The remote secrets made once this cluster exists (both of their clusters do then).
    remote_secrets: tuple[RemoteSecretPlan, ...]
    # The helloworld version its samples answer with (`deploySamples`), else None.
    sample_version: str | None
    # (public, private) subnet ranges, one of each per zone (plan/ranges.py); None while its VPC's
    # range is for its IPAM pool to allocate.
    subnets: tuple[list[str], list[str]] | None = None

    @property
    def name(self) -> str:
        return self.cluster.name

    def record(self, spec: MeshSpec) -> dict[str, Any]:
        """The parts of its `clusters` output known before anything exists (the wiring adds IDs,
        endpoints and addresses)."""
        return {
            "region": self.cluster.region,
            "network": self.cluster.network,
            "role": self.cluster.role,
            # Read back by the next run: a node group keeps its AMI type and launch template (changing
            # either replaces the group) and never goes below its AMI release (plan/outputs.py).
            **outputs.node_group_records(self.cluster),
            # Read back too: a Secrets key cannot be removed or changed (config/clusters.py).
            "secretsKmsKeyArn": self.cluster.eks.secrets_kms_key_arn,
            # The istiod Deployments of the installed revisions, for `verify`.
            "istiodDeployments": [r.release for r in spec.revisions.revisions],
            # What `verify` expects helloworld in this cluster to answer; absent without samples.
            **({"sampleVersion": self.sample_version} if self.sample_version else {}),
            # Tells `verify` that callers stay local, so not every version answers every cluster.
            "localityLoadBalancing": spec.traffic.locality_load_balancing,
        }


@dataclass(frozen=True)
class MeshPlan:
    spec: MeshSpec
    topology: MeshTopology
    # In build order: primaries before remotes (a remote's Istio is configured with its primary's
    # gateway address, and its gateway waits for its primary's remote secret for it).
    clusters: tuple[ClusterPlan, ...]
    # The mesh's regions, in config order: one AWS provider each, and per region its metrics workspace.
    regions: tuple[str, ...]
    access: AccessPlan
    peerings: tuple[PeeringPlan, ...]
    # Per region, per service quota (plan/quotas.py `QUOTAS`), what the mesh uses.
    quota_use: Mapping[str, Mapping[str, int]]
    # Per cluster with an east-west gateway, its NLB's listener ports.
    gateway_ports: Mapping[str, int]
    # The stack outputs, in the order exported (plan/outputs.py).
    outputs: tuple[str, ...] = outputs.EXPORTED

    def __getitem__(self, name: str) -> ClusterPlan:
        return next(c for c in self.clusters if c.name == name)

    @property
    def in_config_order(self) -> tuple[ClusterPlan, ...]:
        return tuple(self[c.name] for c in self.spec.clusters)

    @property
    def new_clusters(self) -> tuple[str, ...]:
        """The clusters this update creates, whose creator is whoever runs it."""
        return tuple(c.name for c in self.in_config_order if c.creator is None)

    @property
    def nat_addresses(self) -> int:
        return sum(c.nat_count for c in self.spec.clusters)

    def in_region(self, region: str) -> tuple[ClusterSpec, ...]:
        return tuple(c for c in self.spec.clusters if c.region == region)

    def with_caller(self, caller_arn: str) -> MeshPlan:
        """The plan with the new clusters' creator known: the caller, an assumed-role session as its
        role (EKS makes the role admin, not the session)."""
        creator = caller_principal(caller_arn)
        return replace(
            self,
            clusters=tuple(
                c if c.creator is not None else _with_creator(c, creator, self.spec.access.admins)
                for c in self.clusters
            ),
        )

    @property
    def creators(self) -> dict[str, str]:
        """Per cluster, its creator as `clusterCreators` records it."""
        assert not self.new_clusters, f"{', '.join(self.new_clusters)}: the caller is needed (with_caller)"
        return {c.name: c.creator for c in self.in_config_order}

    @property
    def endpoint_cidrs(self) -> dict[str, int]:
        """Per cluster, the CIDRs on its public EKS endpoint (none in private mode)."""
        if self.access.public_api is None:
            return {}
        used = self.access.public_api.count(self.nat_addresses)
        return {c.name: used for c in self.spec.clusters}

    @property
    def east_west_rules(self) -> dict[str, int]:
        """Per cluster with an east-west gateway, the inbound rules of its NLB's security group (one
        per source CIDR and listener port: aws-load-balancer-controller
        pkg/service/model_build_managed_sg.go@v3.5.0)."""
        sources = self.access.east_west.count(self.nat_addresses)
        return {name: sources * ports for name, ports in self.gateway_ports.items()}


def sample_version(index: int) -> str:
    """The helloworld version the samples of the cluster at `index` answer with: one per cluster, so
    `verify` sees which clusters a call reached."""
    return f"v{index + 1}"


def plan_access(spec: MeshSpec) -> AccessPlan:
    private = spec.connectivity.private
    default_east_west = EndpointSources((spec.mesh_cidr,)) if private else EndpointSources((), nat_addresses=True)
    return AccessPlan(
        # Every istiod talks to every other cluster's API server from its VPC's NAT addresses.
        public_api=None if private else EndpointSources(spec.api_access_cidrs, nat_addresses=True),
        private_api=(spec.mesh_cidr, *spec.connectivity.operator_cidrs) if private else None,
        east_west=(
            default_east_west
            if spec.east_west_allowed_cidrs is None
            else EndpointSources(tuple(spec.east_west_allowed_cidrs))
        ),
        internal_load_balancers=private,
    )


def plan_mesh(spec: MeshSpec, last: LastDeployment = LastDeployment(), legacy_creator: str | None = None) -> MeshPlan:
    """`legacy_creator`: whom releases before the `clusterCreators` record took as a deployed
    cluster's creator (the last role of `aws:assumeRoles`), for a cluster deployed then."""
    topology = plan_topology(spec.clusters, last.same_network_pairs)
    steps = {step.cluster: step.remote_secrets for step in topology.build_steps}
    index = {c.name: i for i, c in enumerate(spec.clusters)}

    def cluster_plan(c: ClusterSpec) -> ClusterPlan:
        creator = recorded_creator(c.name, last, legacy_creator)
        return ClusterPlan(
            cluster=c,
            topology=topology[c.name],
            addon_versions=plan_addon_versions(c.name, c.kubernetes_version, c.eks.addon_versions, last),
            creator=creator,
            access_entries=_entries(spec.access.admins, creator),
            remote_secrets=tuple(RemoteSecretPlan(local, peer) for local, peer in steps[c.name]),
            sample_version=sample_version(index[c.name]) if spec.deploy_samples else None,
            subnets=subnet_cidrs(c.vpc_cidr, c.az_count) if c.vpc_cidr is not None else None,
        )

    return MeshPlan(
        spec=spec,
        topology=topology,
        clusters=tuple(cluster_plan(spec.clusters[index[step.cluster]]) for step in topology.build_steps),
        regions=tuple(dict.fromkeys(c.region for c in spec.clusters)),
        access=plan_access(spec),
        peerings=tuple(PeeringPlan(a, b, over_transit=spec.connectivity.private) for a, b in topology.peerings),
        quota_use=quota_use(spec.clusters, spec.connectivity, collectors=spec.metrics.enabled),
        gateway_ports=gateway_ports(spec.clusters, topology),
    )


def _entries(admins: tuple[str, ...], creator: str | None) -> tuple[str, ...]:
    return tuple(a for a in admins if not (creator and same_principal(a, creator)))


def _with_creator(c: ClusterPlan, creator: str, admins: tuple[str, ...]) -> ClusterPlan:
    return replace(c, creator=creator, access_entries=_entries(admins, creator))
