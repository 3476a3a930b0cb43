"""The mesh as the stack config describes it: frozen, validated values, and the shapes of the
topology the plan derives from them (who runs istiod, who serves whom, who has a gateway, who
peers, who discovers whom: `plan/topology.py`).

Nothing here touches Pulumi; `config/parse.py` builds these from the raw config and `config/stack.py` reads it
from the stack; `plan/mesh_plan.py` plans the mesh from them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from components.model import versions
from components.model.credentials import ReaderTokens
from components.model.image_cache import ImageCacheSpec
from components.model.metrics import MetricsSpec
from components.model.revisions import RevisionPlan

PROJECT = "istio-eks-mesh"
# A cluster name or mesh ID: a DNS label. Matched in full (re.fullmatch): a `$` would let a YAML
# block scalar's trailing newline through.
DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
# The namespace of the control plane, the east-west gateway and the mesh-wide config (Istio's root
# namespace).
ISTIO_NAMESPACE = "istio-system"
# The tag the load balancer controller gives the AWS resources of one cluster (and scopes its policy by).
CLUSTER_TAG = "elbv2.k8s.aws/cluster"
ROLES = ("primary", "remote")
# EKS only takes the control plane's subnets in these zones (AWS returns
# UnsupportedAvailabilityZoneException elsewhere), so they are never picked automatically.
EKS_UNSUPPORTED_ZONE_IDS = ("use1-az3", "usw1-az2", "cac1-az3")


@dataclass(frozen=True)
class NodeGroupSpec:
    # `default` is the group `nodeGroup` describes (resource `<cluster>-nodes`); a group of
    # `nodeGroups` with another name is `<cluster>-nodes-<name>`.
    name: str = "default"
    instance_types: tuple[str, ...] = ("m6i.large",)
    desired_size: int = 2
    min_size: int = 2
    max_size: int = 4
    capacity_type: str = "ON_DEMAND"
    # The CPU architecture of every instance type: "x86_64" or "arm64" (Graviton).
    architecture: str = "x86_64"
    # Pulumi's `protect` for this group; None: the cluster's.
    protect: bool | None = None
    # Root volume size in GiB; None: EKS's default (20 GiB).
    disk_size: int | None = None
    # The EKS AMI type; None: EKS's default (Amazon Linux 2023, x86_64). Chosen from the instance
    # types (config/node_group.py), kept as the stack recorded it (config/clusters.py).
    ami_type: str | None = None
    # Kubernetes labels and taints EKS puts on the group's nodes (taints as (key, value, effect)).
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[tuple[str, str, str], ...] = ()
    # The program's own launch template (IMDSv2 only, `imds_hop_limit`, the disk in its block
    # device mapping): True has one, False the user turned it off, None a deployed group made
    # without one and kept so (adding one replaces it; config/node_template.py). As parsed, before
    # the stack's record is applied: the user's `launchTemplate`, None when unset.
    launch_template: bool | None = None
    # IMDS PUT response hop limit on the template: 1 keeps pods off the node's IMDS.
    imds_hop_limit: int = 1
    # The EKS AMI release (`1.35.0-20251120`); None: EKS's latest for the version when the group
    # is created or its version changes, and kept in between.
    release_version: str | None = None


@dataclass(frozen=True)
class EksOptions:
    """Per-cluster EKS lifecycle settings (`supportType`, `addonVersions`, `protect`,
    `deletionProtection`, `controlPlaneLogs`, `secretsKmsKeyArn`)."""

    # STANDARD: EKS upgrades the cluster at the end of standard support; EXTENDED: it stays, at the
    # extended-support price.
    support_type: str = "STANDARD"
    # Pinned EKS add-on versions by add-on name; an add-on not listed follows the version EKS
    # recommends for the cluster's Kubernetes version.
    addon_versions: Mapping[str, str] = field(default_factory=dict)
    # Pulumi's `protect` on the cluster's VPC, subnets, EKS cluster and node group: a change that
    # would replace or delete them stops at preview.
    protect: bool = False
    # EKS deletion protection: DeleteCluster fails until it is turned off (an in-place update).
    deletion_protection: bool = False
    # Control-plane log types sent to CloudWatch Logs (none by default).
    log_types: tuple[str, ...] = ()
    # A customer-managed KMS key for envelope encryption of Secrets; None: EKS's default encryption.
    secrets_kms_key_arn: str | None = None
    # vpc-cni's AWS rights: "podIdentity" (its own role; the node role has none), "both" (its own
    # role, the node role's kept: moving a deployed cluster) or "nodeRole" (the node role's only).
    # As parsed, None when unset; config/cni_identity.py decides from the stack's record.
    vpc_cni_role: str | None = "podIdentity"
    # The EKS Pod Identity Agent add-on's version the stack recorded for this Kubernetes version.
    pod_identity_agent_version: str | None = None


@dataclass(frozen=True)
class ClusterAccess:
    """Who may use the clusters (`clusterAdmins`, `kubeconfigRoleArn`)."""

    # IAM role or user ARNs with an EKS access entry and AmazonEKSClusterAdminPolicy on every cluster.
    admins: tuple[str, ...] = ()
    # A role the kubeconfigs assume (`aws eks get-token --role-arn`); it is one of `admins`.
    kubeconfig_role_arn: str | None = None


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    region: str
    network: str
    # None: the VPC takes its range from `ipam_pool` when it is created (known from then on).
    vpc_cidr: ipaddress.IPv4Network | None
    # A count (zones picked from the region at deploy time) or explicit zone names.
    availability_zones: int | tuple[str, ...]
    kubernetes_version: str
    node_group: NodeGroupSpec
    nat_gateways: str
    # The EKS cluster's name in AWS; unique per stack so two stacks can share an account.
    eks_name: str
    # `primary` runs istiod; `remote` is served by the istiod of the cluster named in `primary`.
    role: str = "primary"
    primary: str | None = None
    # Elastic IPs for the east-west gateway's NLB, one per public subnet.
    east_west_static_ips: bool = False
    eks: EksOptions = EksOptions()
    # The IPAM pool the VPC's range is allocated from (`ipamPools`), for good once it was.
    ipam_pool: str | None = None
    # Its position in `clusters`, which messages name (`clusters[2].vpcCidr`): checks run on the
    # clusters that parsed, which are not all of them when one was refused.
    config_index: int = 0
    # The groups of `nodeGroups` after the first (`node_group`).
    more_node_groups: tuple[NodeGroupSpec, ...] = ()

    @property
    def node_groups(self) -> tuple[NodeGroupSpec, ...]:
        return (self.node_group, *self.more_node_groups)

    @property
    def az_count(self) -> int:
        zones = self.availability_zones
        return zones if isinstance(zones, int) else len(zones)

    @property
    def nat_count(self) -> int:
        return 1 if self.nat_gateways == "single" else self.az_count

    @property
    def is_remote(self) -> bool:
        return self.role == "remote"


@dataclass(frozen=True)
class ImportedRootCa:
    """A root CA brought from elsewhere (e.g. a vault), already checked to be usable."""

    cert_pem: str
    key_pem: str = field(repr=False)


@dataclass(frozen=True)
class PkiSpec:
    organization: str = "Istio"
    # RSA 4096 (what Istio's own tools make) or ECDSA P-256.
    key_algorithm: str = "RSA"
    root_validity_days: int = 3650
    intermediate_validity_days: int = 730
    # An intermediate is re-issued on the first `pulumi up` this many days before it expires.
    early_renewal_days: int = 30
    # The root generation that signs every intermediate.
    root_generation: int = 1
    # The roots in every cluster's trust bundle (`root-cert.pem`), ascending; holds root_generation.
    trusted_root_generations: tuple[int, ...] = (1,)
    # Imported roots by generation (`rootCa` is generation 1); the other generations are generated.
    imported_roots: Mapping[int, ImportedRootCa] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class TrafficSpec:
    """Mesh-wide traffic defaults (`trafficPolicy`), applied by every primary's istiod."""

    # Sidecars answer DNS for mesh services, so a name that exists only in another cluster resolves.
    dns_proxy: bool = True
    # Locality-aware routing: callers stay in their zone/region while it has healthy endpoints.
    locality_load_balancing: bool = True
    # (from region, to region): where a region's callers go first when it has no healthy endpoint.
    failover: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ArtifactSources:
    """Where charts and images come from (`istioChartRepository`, `eksChartRepository`, `istioImageHub`)."""

    # An https Helm repository or an oci:// registry path that holds the charts by name.
    istio_charts: str = versions.ISTIO_CHART_REPOSITORY
    eks_charts: str = versions.EKS_CHART_REPOSITORY
    # The registry path every Istio image is pulled from (`global.hub`).
    istio_hub: str = versions.ISTIO_IMAGE_HUB


def helm_chart(repository: str, chart: str) -> dict[str, Any]:
    """A Helm release's `chart` and `repository_opts`: an https repository by its URL and the chart's
    name, an OCI chart as one `oci://…/<chart>` reference with no repository (pulumi-kubernetes
    resolves it through its registry client; a repository next to it would be searched for an
    index). Only a release's name and namespace force its replacement (pulumi-kubernetes
    provider/pkg/provider/helm_release.go, `Diff`, `forceNewFields`), so moving a deployed release
    between repositories is a `helm upgrade` in place."""
    if repository.startswith("oci://"):
        return {"chart": f"{repository}/{chart}", "repository_opts": None}
    return {"chart": chart, "repository_opts": {"repo": repository}}


# What the east-west gateways listen on (Istio's defaults for cross-network mTLS and istiod's xDS).
CROSS_NETWORK_PORT, ISTIOD_PORT = 15443, 15012


@dataclass(frozen=True)
class ClusterTopology:
    """Where one cluster sits in the mesh, decided from the whole config."""

    role: str
    # The cluster whose istiod serves this one: itself for a primary, its primary for a remote.
    control_plane: str
    # The remotes this primary's istiod serves (its remote profile clusters).
    remotes: tuple[str, ...]
    # An east-west gateway: a network that other networks reach, or a primary exposing istiod.
    east_west_gateway: bool
    # The gateway also carries cross-network traffic (15443): the mesh has more than one network.
    cross_network: bool
    # The clusters on this cluster's network, whose VPCs are peered with its own.
    peered_with: tuple[str, ...]
    # The clusters this cluster's istiod has a remote secret for (none for a remote).
    discovers: tuple[str, ...]

    @property
    def is_remote(self) -> bool:
        return self.role == "remote"

    @property
    def exposes_istiod(self) -> bool:
        """A primary with remotes serves their proxies and webhooks through its gateway."""
        return bool(self.remotes)

    @property
    def east_west_ports(self) -> tuple[int, ...]:
        """The ports the east-west gateway serves, each behind an Istio Gateway server: mTLS between
        networks (15443) and, on a primary with remotes, its istiod (15012)."""
        if not self.east_west_gateway:
            return ()
        return (
            *((CROSS_NETWORK_PORT,) if self.cross_network else ()),
            *((ISTIOD_PORT,) if self.exposes_istiod else ()),
        )


@dataclass(frozen=True)
class BuildStep:
    """One cluster's turn in the wiring, primaries before remotes (a remote's Istio is configured
    with its primary's gateway address)."""

    cluster: str
    # The remote secrets (local, peer) whose two clusters both exist once this one does.
    remote_secrets: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MeshTopology(Mapping[str, ClusterTopology]):
    """Every cluster's topology, the pairs between them, and the order they are built in; a
    mapping from cluster name to its `ClusterTopology`."""

    clusters: Mapping[str, ClusterTopology]
    # Each pair of clusters on one network once: their VPCs are peered (the first requests), and the
    # pair names the peering and its rules. A deployed pair keeps its orientation (`sameNetworkPairs`),
    # a new one takes config order.
    peerings: tuple[tuple[str, str], ...]
    # (local, peer): the local istiod holds a remote secret for the peer.
    discovery: tuple[tuple[str, str], ...]
    build_steps: tuple[BuildStep, ...]

    def __getitem__(self, name: str) -> ClusterTopology:
        return self.clusters[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.clusters)

    def __len__(self) -> int:
        return len(self.clusters)


# The size of a range allocated from an IPAM pool (`ipamPools`), as the mesh's own defaults.
IPAM_NETMASK_LENGTH = 16


# An IPAM pool ID as AWS spells it (ipam-pool- and 8 or 17 hex digits).
IPAM_POOL_ID = re.compile(r"ipam-pool-[0-9a-f]{8}([0-9a-f]{9})?", re.ASCII)


# Transit Gateway, attachment and route table IDs as AWS spells them (a prefix and 8 or 17 hex digits).
TRANSIT_GATEWAY_ID = re.compile(r"tgw-[0-9a-f]{8}([0-9a-f]{9})?", re.ASCII)
TRANSIT_GATEWAY_ATTACHMENT_ID = re.compile(r"tgw-attach-[0-9a-f]{8}([0-9a-f]{9})?", re.ASCII)
TRANSIT_GATEWAY_ROUTE_TABLE_ID = re.compile(r"tgw-rtb-[0-9a-f]{8}([0-9a-f]{9})?", re.ASCII)


@dataclass(frozen=True)
class IpamPool:
    """What AWS says of an IPAM pool (`ipamPools`), read before validation."""

    locale: str
    address_family: str
    # The netmasks it allocates (an allocation's prefix length must lie between them).
    min_netmask: int
    max_netmask: int
    # Tags an allocation's resource must carry.
    required_tags: Mapping[str, str]
    provisioned: tuple[str, ...]


@dataclass(frozen=True)
class OperatorAttachmentFacts:
    """What AWS says of the operators' attachment `transitGatewayRouting` names, read before validation."""

    transit_gateway_id: str
    state: str
    # The route table it is associated with (None: none).
    associated_table: str | None


@dataclass(frozen=True)
class TransitGatewayFacts:
    """What AWS says of a network team's gateway (`transitGateways`) and of the operators' entry
    there, read before validation (components/aws/reads.py) so that what AWS would refuse stops the
    run before anything exists."""

    gateway_id: str
    # Its owner, and the account that runs `pulumi up`.
    owner_id: str
    caller_account: str
    # Why the gateway could not be read (None: it was).
    unreadable: str | None = None
    # The operators' attachment in this region (None: no entry here, or it could not be read:
    # `attachment_unreadable` says why).
    attachment: OperatorAttachmentFacts | None = None
    attachment_unreadable: str | None = None
    # The destinations of the static and propagated routes of the entry's `returnRouteTable`, or
    # why they could not be read.
    return_routes: tuple[str, ...] = ()
    return_routes_unreadable: str | None = None


@dataclass(frozen=True)
class OperatorEntry:
    """Where the operators' networks meet the mesh on a network team's gateway (`transitGatewayRouting`)."""

    # The network team's attachment of the operators' networks (VPN, Direct Connect, CI VPC): propagated
    # into the mesh's route table there.
    operator_attachment: str
    # The network team's route table that attachment is associated with: the mesh's VPC ranges go there.
    return_route_table: str


@dataclass(frozen=True)
class Connectivity:
    """How the clusters reach each other and operators reach them (`connectivity`)."""

    # Private: no public endpoint, internal NLBs, the VPCs joined by Transit Gateways.
    private: bool = False
    # Networks routed to the Transit Gateways that may reach the control planes (`operatorCidrs`).
    operator_cidrs: tuple[str, ...] = ()
    # Region -> an existing Transit Gateway to attach to instead of making one (`transitGateways`).
    transit_gateways: Mapping[str, str] = field(default_factory=dict)
    # Region -> where the operators enter there (`transitGatewayRouting`; one region at most).
    operator_entries: Mapping[str, OperatorEntry] = field(default_factory=dict)


@dataclass(frozen=True)
class MeshSpec:
    mesh_id: str
    istio_version: str
    clusters: tuple[ClusterSpec, ...]
    # CIDRs of operators allowed to reach the EKS public endpoints (the NAT addresses of every VPC
    # in the mesh are added to them).
    api_access_cidrs: tuple[str, ...]
    # The address space of every VPC in the mesh (`meshCidr`).
    mesh_cidr: str = "10.0.0.0/8"
    connectivity: Connectivity = Connectivity()
    pki: PkiSpec = PkiSpec()
    # `istioRevisions` and `istioRevisionTags`; None means one unrevisioned `istioVersion`.
    revisions: RevisionPlan | None = None
    # Who may reach the east-west gateways (15443 and friends); None means the NAT addresses of
    # every VPC in the mesh, i.e. only mesh peers.
    east_west_allowed_cidrs: tuple[str, ...] | None = None
    # Extra Helm values per Istio chart, merged over the program's own.
    istio_values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Deploy helloworld and a curl client in every cluster, for `python -m verify`.
    deploy_samples: bool = False
    # `istioValues` was stored encrypted: the Helm values that carry it stay secret.
    istio_values_secret: bool = False
    access: ClusterAccess = ClusterAccess()
    traffic: TrafficSpec = TrafficSpec()
    sources: ArtifactSources = ArtifactSources()
    # Which generation of reader tokens the clusters hand each other, and when each was made.
    reader_tokens: ReaderTokens = ReaderTokens()
    # The mesh-wide mTLS mode of every primary's PeerAuthentication: STRICT or PERMISSIVE.
    mtls: str = "STRICT"
    # `imageCache`: a pull-through cache of Docker Hub per region, or None (images from `sources`).
    image_cache: ImageCacheSpec | None = None
    # Per quota key (components/config/quotas.py), the account's quota: AWS's default or `serviceQuotas`.
    service_quotas: Mapping[str, int] = field(default_factory=dict)
    # `metrics`: none, or a managed collector per cluster writing to a workspace per region.
    metrics: MetricsSpec = MetricsSpec()

    def __post_init__(self) -> None:
        if self.revisions is None:
            object.__setattr__(self, "revisions", RevisionPlan.single(self.istio_version))

    @property
    def api_open_to_internet(self) -> bool:
        # Private mode has no public endpoint to open.
        return not self.connectivity.private and "0.0.0.0/0" in self.api_access_cidrs

    def cluster(self, name: str) -> ClusterSpec:
        return next(c for c in self.clusters if c.name == name)
