"""The rows of the config reference: every key and cluster field (type, default, meaning) and every
stack output. Data only; components/config/schema.py makes the reference and Pulumi.yaml from it."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    """A row of the config reference: `key` as the reference spells it (`pki.keyAlgorithm`)."""

    key: str
    type: str
    default: str
    meaning: str

    @property
    def top(self) -> str:
        """The top-level key it belongs to (`pki`)."""
        return re.match(r"`?([A-Za-z]+)", self.key)[1]


@dataclass(frozen=True)
class Output:
    key: str
    meaning: str


MESH_KEYS = (
    Key(
        key="meshId",
        type="string (DNS label, at most 63)",
        default="`mesh1`",
        meaning="Istio mesh ID of every cluster",
    ),
    Key(
        key="istioVersion",
        type="string `MAJOR.MINOR.PATCH`, ≥ 1.30.0, no leading zeros",
        default="`1.31.1`",
        meaning=(
            "Istio release of the Helm charts (the default is set in `components/model/versions.py`, "
            "not declared in `Pulumi.yaml`, so the program tells it unset); next to `istioRevisions`, "
            "the version that is the unrevisioned `istiod` release; a warning for a minor near or past "
            "its end of life, a patch without published security fixes (1.30.0–1.30.3, 1.31.0), or a minor "
            "newer than 1.31 (see [Istio versions and support](../operations/upgrading.md#istio-versions-and-support))"
        ),
    ),
    Key(
        key="istioChartRepository",
        type=("`https://` Helm repository or `oci://` registry path; ASCII, no credentials, query or trailing `/`"),
        default="`https://blob.istio.io/istio-release/charts`",
        meaning=(
            "where the `base`, `istiod` and `gateway` charts are fetched, e.g. "
            "`oci://ghcr.io/istio/release/charts` or a mirror of your own; changing it upgrades the "
            "releases in place (see [Where charts and images come from](../operations/charts-and-images.md))"
        ),
    ),
    Key(
        key="eksChartRepository",
        type="as `istioChartRepository`",
        default="`https://aws.github.io/eks-charts`",
        meaning="where the `aws-load-balancer-controller` chart is fetched",
    ),
    Key(
        key="istioImageHub",
        type=(
            "registry path: `host[:port]/path`, a registry root `host[:port]`, or a Docker Hub "
            "namespace (`istio`); lowercase path, no tag, no scheme"
        ),
        default="`docker.io/istio`",
        meaning=(
            "`global.hub` of every Istio release: where istiod, the sidecars and the gateways pull "
            "their images, e.g. an ECR pull-through cache "
            "`<account>.dkr.ecr.<region>.amazonaws.com/docker-hub/istio` (or `imageCache`); on Docker Hub, a "
            "warning where more than 5 nodes share a NAT address (anonymous pulls are limited: "
            "[Image pulls](../operations/image-pulls.md))"
        ),
    ),
    Key(
        key="meshCidr",
        type="IPv4 CIDR, /8 to /20, private (as `vpcCidr`)",
        default="`10.0.0.0/8`",
        meaning=(
            "the mesh's address space: defaulted VPC ranges are allocated from it; when set, and always "
            "in private mode, every `vpcCidr` must lie inside it. Required with `transitGateways` (the "
            "range reserved for the mesh on that network)"
        ),
    ),
    Key(
        key="connectivity",
        type="`public` or `private`",
        default="`public`",
        meaning=(
            "`private`: no public EKS endpoint, internal NLBs, Transit Gateways between the VPCs (see [Private"
            " mesh](../operations/private-mode.md))"
        ),
    ),
    Key(
        key="operatorCidrs",
        type=(
            "list of at most 48 private IPv4 CIDRs (10/8, 172.16/12, 192.168/16, 100.64/10, 198.18/15) "
            "outside `meshCidr`"
        ),
        default="none",
        meaning=(
            "private mode: networks routed to the Transit Gateways that may reach the EKS endpoints "
            "(443), routed back from every VPC"
        ),
    ),
    Key(
        key="ipamPools",
        type="map of a cluster's region to an `ipam-pool-…` ID, each ID once",
        default="none",
        meaning=(
            "clusters of that region without `vpcCidr` take a /16 from the pool (public and private "
            'mode; see Changing a deployed mesh, "From your IPAM"); the pool is read and checked before '
            "anything is created, the mesh's own ranges step over it, and a deployed VPC keeps the pool "
            "it came from"
        ),
    ),
    Key(
        key="transitGateways",
        type="map of a cluster's region to a `tgw-…` ID, each ID once",
        default="none: one is made per region; required on a new private mesh",
        meaning=(
            "private mode: attach to your network team's Transit Gateway of the stack's account in that region"
            " (owner checked at run time); the mesh keeps a route table of its own there (see"
            " [private mode](../operations/private-mode.md))"
        ),
    ),
    Key(
        key="transitGatewayRouting",
        type=(
            "map of one `transitGateways` region to `{operatorAttachment: tgw-attach-…, returnRouteTable: tgw-rtb-…}`"
        ),
        default="none; required when `operatorCidrs` and `transitGateways` are both set",
        meaning=(
            "private mode: where the operators enter: their attachment is propagated into the mesh's table there,"
            " the mesh's VPC ranges go into `returnRouteTable` (the table that attachment is associated with,"
            " checked at run time, holding no route inside `meshCidr`); every other region routes `operatorCidrs`"
            " over its peering to this one (see [private mode](../operations/private-mode.md)); refused empty or"
            " without `operatorCidrs`"
        ),
    ),
    Key(
        key="serviceQuotas",
        type=(
            "map of `vpcsPerRegion`, `internetGatewaysPerRegion`, `natGatewaysPerAz`, `elasticIpsPerRegion`,"
            " `transitGatewaysPerRegion`, `peeringAttachmentsPerTransitGateway`, `ampCollectorsPerRegion` to a whole"
            " number, 1 to 1,000,000"
        ),
        default="AWS's defaults (5, 5, 5, 5, 5, 50, 10)",
        meaning=(
            "the account's raised quotas; a mesh needing more than these is refused naming the key (see"
            " [mesh size](../concepts/models.md#mesh-size)). `internetGatewaysPerRegion` follows"
            " `vpcsPerRegion` unless set (AWS raises the two together)"
        ),
    ),
    Key(
        key="apiAccessCidrs",
        type="list of public IPv4 CIDRs",
        default="unset: `0.0.0.0/0`, with a warning",
        meaning=(
            "who may reach the EKS public endpoints, besides the mesh's NAT addresses. EKS takes only "
            "public addresses here (no private, carrier-grade NAT, loopback, link-local, multicast or "
            "reserved ranges); at most 40 entries with the NAT addresses (see [Mesh"
            " size](../concepts/models.md#mesh-size))"
        ),
    ),
    Key(
        key="clusters",
        type="list of cluster objects (below)",
        default="required, at least one",
        meaning="the clusters of the mesh",
    ),
    Key(
        key="eastWestAllowedCidrs",
        type="list of IPv4 CIDRs",
        default="the NAT addresses of every VPC in the mesh",
        meaning=(
            "who may reach the east-west gateways (15443 between networks, 15012 on a primary with "
            "remotes). Setting it **replaces** the default: include the mesh's NAT addresses (`pulumi "
            "stack output`) or cross-cluster traffic (and a remote's xDS) stops. At most 60 CIDRs, 30 "
            "where a gateway listens on both ports (the controller writes a rule per CIDR and port; a "
            "security group holds 60); no limit where no cluster has a gateway (see [Mesh"
            " size](../concepts/models.md#mesh-size)). In "
            "private mode the default is `meshCidr`; only private ranges are accepted, and together "
            "they must hold every VPC of the mesh"
        ),
    ),
    Key(
        key="`istioValues.base` / `.istiod` / `.gateway`",
        type="objects",
        default="`{}`",
        meaning=(
            "extra Helm values per chart, deep-merged over the program's (yours win); check the keys "
            "against the chart's `values.yaml`, Helm ignores unknown ones. You may change the "
            "high-availability defaults (`autoscaleMin`, `replicaCount`, `topologySpreadConstraints`, "
            "the gateway's `autoscaling` and `podDisruptionBudget`) and anything the program does not "
            "write. Every key the program writes is refused, with its path and where its value comes "
            "from (the guard is derived from the values themselves, "
            "`components/plan/istio_values.py`): identity (`global.meshID`, "
            "`global.multiCluster.clusterName`, `global.network`), roles and revisions (`profile`, "
            "`revision`, `defaultRevision`, the remote keys), the traffic policy "
            "(`meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE`, "
            "`meshConfig.localityLbSetting`; set `trafficPolicy`), the cluster-local hosts, the CA "
            "checksum annotation, the gateway's network label and env, Service type, ports, source "
            "ranges and NLB annotations, every chart's `global.hub`; so are keys through which a chart "
            "would override them (istiod's `hub` and `revisionTags`, the gateway's `networkGateway`, "
            "`name`, `labels.app`, `labels.istio`), objects that would replace them (`global: null`) "
            "and their case variants (`ClusterName`). A string naming a retired Istio registry is "
            "refused too. Set with `--secret` and the releases' values stay secret in state"
        ),
    ),
    Key(
        key="deploySamples",
        type="boolean",
        default="`false`",
        meaning="deploy helloworld and a curl client in every cluster, for `python -m verify`",
    ),
    Key(
        key="protect",
        type="boolean",
        default="`false`",
        meaning=(
            "Pulumi's `protect` on every cluster's VPC, subnets, EKS cluster and node group (and what "
            "pulumi-eks creates inside the cluster): a change that would replace or delete one fails at "
            "preview, before anything is created; `clusters[i].protect` overrides it per cluster (see "
            "Changing a deployed mesh)"
        ),
    ),
    Key(
        key="istioRevisions",
        type="list of 1 or 2 versions (`MAJOR.MINOR.PATCH`, ≥ 1.30.0, distinct)",
        default="`[istioVersion]`",
        meaning=(
            "the Istio versions installed side by side, each its own istiod revision (`1.31.0` runs as "
            "`istiod-1-31-0`; see Upgrading Istio). Next to it, `istioVersion` names the one that is "
            "the unrevisioned `istiod` release of a stack deployed before revisions (it must be "
            "listed); leave `istioVersion` unset for none"
        ),
    ),
    Key(
        key="istioRevisionTags",
        type="map of tag (DNS label, not a revision's name) to one of `istioRevisions`",
        default='`{"default": <first revision>}`',
        meaning=(
            "which revision injects namespaces labelled `istio.io/rev=<tag>`; if set it must contain "
            "`default`, which also serves `istio-injection=enabled` and the east-west gateways"
        ),
    ),
    Key(
        key="trafficPolicy.dnsProxy",
        type="boolean",
        default="`true`",
        meaning=(
            "sidecars answer DNS for mesh services, so a service only in another cluster resolves (see "
            "Cross-cluster traffic)"
        ),
    ),
    Key(
        key="trafficPolicy.localityLoadBalancing",
        type="boolean",
        default="`true`",
        meaning=(
            "local first, failover across clusters: the DestinationRule "
            "`istio-system/mesh-locality-failover` (`*.local`, outlier detection) on every primary"
        ),
    ),
    Key(
        key="trafficPolicy.failover",
        type="list of `{from, to}` regions",
        default="unset: after its own region, a caller tries every other region alike",
        meaning=(
            "where each region's callers go first when it has no healthy endpoint; regions of the mesh, "
            "each `from` once; needs `localityLoadBalancing`"
        ),
    ),
    Key(
        key="pki.organization",
        type="string, at most 64 characters (X.509), one line",
        default="`Istio`",
        meaning="`O=` of the root and intermediate certificates",
    ),
    Key(
        key="pki.keyAlgorithm",
        type="`RSA` or `ECDSA`",
        default="`RSA`",
        meaning="RSA 4096 or ECDSA P-256 keys",
    ),
    Key(
        key="pki.rootValidityDays",
        type="integer, 1 to 36500",
        default="`3650`",
        meaning="validity of a generated root",
    ),
    Key(
        key="pki.intermediateValidityDays",
        type="integer, 1 to 36500",
        default="`730`",
        meaning="validity of each intermediate; less than the root's",
    ),
    Key(
        key="pki.earlyRenewalDays",
        type="integer, 1 to 36500",
        default="`30`",
        meaning="re-issue an intermediate this long before it expires; less than its validity",
    ),
    Key(
        key="pki.rootGeneration",
        type="integer, 1 to 999",
        default="`1`",
        meaning=(
            "the root generation that signs the intermediates (see [Rotating the "
            "root](../concepts/trust.md#rotating-the-root))"
        ),
    ),
    Key(
        key="pki.trustedRootGenerations",
        type="list of one or two generations, containing `rootGeneration`",
        default="`[rootGeneration]`",
        meaning="the roots in every cluster's trust bundle (`root-cert.pem`)",
    ),
    Key(
        key="`rootCa.certPem`, `rootCa.keyPem`",
        type="PEM strings, **secret**",
        default="unset: root generation 1 is generated",
        meaning="import root generation 1 (see [Importing a root](../concepts/trust.md#importing-a-root))",
    ),
    Key(
        key='`rootCas["<n>"].certPem`, `.keyPem`',
        type="PEM strings, **secret**; `n` ≥ 2, a trusted generation",
        default="unset: generation `n` is generated",
        meaning="import root generation `n`, for a rotation",
    ),
    Key(
        key="clusterAdmins",
        type="list of IAM role or user ARNs",
        default="`[]`",
        meaning=(
            "principals made admin of every cluster (EKS access entry with "
            "`AmazonEKSClusterAdminPolicy`, cluster scope); not the identity that creates the clusters, "
            "which EKS makes admin itself (see [Team access](../operations/team-access.md))"
        ),
    ),
    Key(
        key="readerTokenGeneration",
        type="integer, 1 to 9999, never lower than deployed",
        default="`1`",
        meaning=(
            "the generation of every cluster's reader token (the credential in the remote secrets); raise it by one"
            " to rotate them all (see [Credentials between clusters](../concepts/credentials-between-clusters.md));"
            " `pulumi up` warns past 90 days"
        ),
    ),
    Key(
        key="mtls",
        type="`STRICT` or `PERMISSIVE`",
        default=(
            "`STRICT` on a new stack; a deployed stack keeps what it runs (`PERMISSIVE` if deployed before the key"
            " existed, with a warning)"
        ),
        meaning=(
            "the mesh-wide PeerAuthentication `istio-system/default` on every primary (see"
            " [mTLS](../operations/mtls.md))"
        ),
    ),
    Key(
        key="imageCache.dockerHubCredentials",
        type=(
            "map of every region of the mesh to a Secrets Manager secret ARN (`…:secret:ecr-pullthroughcache/…`, "
            "that region, one account); not with `istioImageHub`"
        ),
        default="unset: images straight from Docker Hub",
        meaning=(
            "an ECR pull-through cache of Docker Hub per region, the nodes' rights to pull through it, and every "
            "Istio release and sample of a cluster pulling from its region's cache (see "
            "[Image pulls](../operations/image-pulls.md))"
        ),
    ),
    Key(
        key="metrics",
        type="`none` or `amp`",
        default="`none`",
        meaning=(
            "`amp`: per region an Amazon Managed Service for Prometheus workspace, per cluster a managed collector"
            " in its private subnets scraping istiod, the sidecars, the east-west gateway and the API server every"
            " 60 s, and the mesh's alerts in each workspace (see [Metrics](../operations/metrics.md))"
        ),
    ),
    Key(
        key="metricsWorkspaces",
        type="map of region to workspace ARN (`arn:aws:aps:<region>:<account>:workspace/<id>`)",
        default="`{}`: the program makes a workspace per region",
        meaning=(
            "with `metrics: amp`, the workspace you run in a region, which the collectors there write to; the"
            " program never creates or deletes it. The ARN names that region and its partition"
        ),
    ),
    Key(
        key="kubeconfigRoleArn",
        type="IAM role ARN",
        default="unset: the last role of `aws:assumeRoles`, else none",
        meaning=(
            "role the kubeconfigs (and the program's Kubernetes providers) assume with `aws eks "
            "get-token --role-arn`; it gets an admin access entry like `clusterAdmins`"
        ),
    ),
)

CLUSTER_KEYS = (
    Key(
        key="name",
        type="DNS-1123 label",
        default="required",
        meaning="Istio cluster name; the EKS cluster is `<name>-<stack>` (at most 38 characters)",
    ),
    Key(
        key="region",
        type="AWS region (one pulumi-aws knows)",
        default="`aws:region`",
        meaning="where the cluster and its VPC live",
    ),
    Key(
        key="network",
        type="label value (at most 63; not null)",
        default="`network-<name>`",
        meaning="Istio network; clusters sharing one are peered",
    ),
    Key(
        key="vpcCidr",
        type=(
            "IPv4 CIDR, /16 to /20, inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10 or "
            "198.18.0.0/15 (and inside `meshCidr` when that is set)"
        ),
        default=(
            "the range recorded for the cluster, else the lowest free /16 of `meshCidr` (see [VPC"
            " ranges](../operations/changing-a-deployed-mesh.md#vpc-ranges))"
        ),
        meaning=(
            "VPC range; must not overlap other clusters'. Public, loopback, link-local, multicast and "
            "reserved ranges are refused. The default does not move when clusters are added, removed or "
            "reordered; set it explicitly for production"
        ),
    ),
    Key(
        key="availabilityZones",
        type="2–6, or a list of zone names",
        default="`3`",
        meaning=(
            "zones for subnets; a count picks the region's first zones that EKS supports, so it may not "
            "exceed what the region has (us-east-1: 5, us-west-1: 2, us-west-2 and ap-northeast-1/-2: "
            "4, elsewhere 3; set 2 in us-west-1)"
        ),
    ),
    Key(
        key="kubernetesVersion",
        type="string",
        default="`1.36`",
        meaning=(
            "for a new cluster (a deployed one without the key keeps its recorded version). EKS "
            "version: `1.32` to `1.36` (quoted in YAML), or on a deployed cluster that ran `1.36` the "
            "next minor EKS upgraded it to (with a warning); a new cluster past EKS standard support "
            "needs `supportType: EXTENDED`, past extended support is refused; a deployed cluster is "
            "only warned (see [EKS in production](../operations/eks-in-production.md))"
        ),
    ),
    Key(
        key="supportType",
        type="`STANDARD` or `EXTENDED`",
        default="`STANDARD`",
        meaning=(
            "the cluster's EKS upgrade policy when its version leaves standard support: `STANDARD`, EKS "
            "upgrades it to the next version; `EXTENDED`, it stays, at the extended-support price. A "
            "new cluster on a version already past standard support accepts only `EXTENDED`; moving a "
            "deployed cluster from `EXTENDED` back to `STANDARD` while it is in extended support fails "
            "at EKS"
        ),
    ),
    Key(
        key="protect",
        type="boolean",
        default="the mesh's `protect`",
        meaning="this cluster's protection, e.g. `false` to remove one cluster of a protected stack",
    ),
    Key(
        key="deletionProtection",
        type="boolean",
        default="`true`, except on a stack named `dev` or `dev-…`",
        meaning=(
            "EKS deletion protection: DeleteCluster fails while it is on, so removing the cluster or destroying "
            "the stack needs `false` and a `pulumi up` first; changes in place (see "
            "[EKS in production](../operations/eks-in-production.md#destroying-a-protected-stack))"
        ),
    ),
    Key(
        key="controlPlaneLogs",
        type="list of `api`, `audit`, `authenticator`, `controllerManager`, `scheduler`",
        default="`[]` (none)",
        meaning=(
            "control-plane log types EKS sends to CloudWatch Logs (`/aws/eks/<eks name>/cluster`, ingestion "
            "billed per GB); changes in place. `Pulumi.prod.yaml` sets `audit` and `authenticator`"
        ),
    ),
    Key(
        key="secretsKmsKeyArn",
        type="KMS key ARN in the cluster's region, e.g. `arn:aws:kms:us-east-1:111122223333:key/…`",
        default="unset (EKS's default encryption)",
        meaning=(
            "a customer-managed key for the envelope encryption of Secrets; adding it to a deployed cluster is "
            "one-way: removing or changing it is refused (see "
            "[EKS in production](../operations/eks-in-production.md#guard-rails))"
        ),
    ),
    Key(
        key="vpcCniRole",
        type="`podIdentity`, `both` or `nodeRole`",
        default="unset: `podIdentity` for a new cluster (or one that has it), `nodeRole` for one deployed before",
        meaning=(
            "vpc-cni's AWS rights: its own role by EKS Pod Identity (the node role then has no ENI rights), both "
            "(moving a deployed cluster), or the node role's. `nodeRole` is refused once the role is in use (see "
            "[EKS in production](../operations/eks-in-production.md#vpc-cni-on-its-own-role))"
        ),
    ),
    Key(
        key="`addonVersions.vpc-cni` / `.coredns` / `.kube-proxy`",
        type="EKS add-on version, e.g. `v1.12.1-eksbuild.2`",
        default=(
            "unset: the version recorded for the cluster's Kubernetes version, else the one EKS "
            "recommends (see [Upgrading Kubernetes](../operations/upgrading.md#upgrading-kubernetes))"
        ),
        meaning=(
            "pin a managed add-on's version (`aws eks describe-addon-versions --addon-name coredns "
            "--kubernetes-version 1.35`)"
        ),
    ),
    Key(
        key="natGateways",
        type="`single` or `perAz`",
        default="`single`",
        meaning="one NAT gateway (cheaper) or one per zone (survives a zone outage)",
    ),
    Key(
        key="nodeGroup.instanceTypes",
        type="list of 1–20 EC2 types, one CPU architecture",
        default='`["m6i.large"]`',
        meaning=(
            "managed node group instance types, each a family and size EC2 sells (pulumi-aws 7.51.1's list; Mac "
            "families refused); all x86 or all Graviton (`m7g`, `c7gn`, `t4g`, …): a "
            "node group has one AMI (Graviton groups get `AL2023_ARM_64_STANDARD`, x86 ones EKS's "
            "default, Amazon Linux 2023; switching a group between the two replaces it); every type of "
            "an untainted group must give istiod its request in allocatable memory and CPU (after the "
            "EKS AMIs' kubelet reservation): on a primary 2048Mi + 180Mi per cluster it watches, on a "
            "remote 512Mi (its injector istiod), or `istioValues.istiod.resources`: 26 watched clusters "
            "on `m6i.large`, 67 on `m6i.xlarge`; a primary needs 4 GiB types (`.medium` of `m`, "
            "`t3.medium`), a remote holds on a 2 GiB `t3.small`"
        ),
    ),
    Key(
        key="`nodeGroup.desiredSize` / `minSize` / `maxSize`",
        type="integers",
        default="`2` / `2` / `4`",
        meaning=(
            "node counts, `minSize ≤ desiredSize ≤ maxSize`, `desiredSize ≥ 1` (nothing here scales a "
            "group up from 0, and Istio needs a node), at most 450 (EKS)"
        ),
    ),
    Key(
        key="nodeGroup.capacityType",
        type="`ON_DEMAND` or `SPOT`",
        default="`ON_DEMAND`",
        meaning="purchase option",
    ),
    Key(
        key="nodeGroup.diskSize",
        type="integer, GiB, 20–16384",
        default="unset: EKS's 20 GiB",
        meaning=(
            "the nodes' root volume (gp3), in the group's launch template: a change rolls the nodes in place; on a "
            "group without the launch template setting or changing it replaces the group (do it as a new group, "
            "see `nodeGroups`)"
        ),
    ),
    Key(
        key="nodeGroup.launchTemplate",
        type="boolean",
        default="unset: on for a new group; a deployed group keeps what it has",
        meaning=(
            "the program's own launch template (IMDSv2 only, `imdsHopLimit`, the root volume), so pods cannot take "
            "the node role's credentials from IMDS. Adding or removing it on a deployed group REPLACES the group; "
            "`pulumi up` warns about a deployed group without one (see "
            "[EKS in production](../operations/eks-in-production.md#launch-template-and-imds))"
        ),
    ),
    Key(
        key="nodeGroup.imdsHopLimit",
        type="integer, 1–64",
        default="`1`",
        meaning=(
            "IMDS PUT response hop limit on the launch template: 1 lets only the node and hostNetwork pods reach "
            "IMDS, 2 lets every pod; a change rolls the nodes in place. Not with `launchTemplate: false`"
        ),
    ),
    Key(
        key="nodeGroup.releaseVersion",
        type="EKS AMI release, `<kubernetes version>-<YYYYMMDD>` of the cluster's minor",
        default="unset: EKS's latest when the group is created or upgraded, then kept",
        meaning=(
            "pins the nodes' AMI release; a change rolls the nodes in place (UpdateNodegroupVersion), a monthly "
            "roll: a release older than 45 days is warned. Change it with `kubernetesVersion` on an upgrade (see "
            "[EKS in production](../operations/eks-in-production.md#ami-releases))"
        ),
    ),
    Key(
        key="nodeGroup.labels",
        type="map of Kubernetes label keys to values",
        default="`{}`",
        meaning=(
            "labels EKS puts on the group's nodes; change in place. Keys of at most 63 characters and values"
            " of 1 to 63 (EKS); none in the `kubernetes.io`/`k8s.io` namespaces but under"
            " `node.kubernetes.io`/`kubelet.kubernetes.io` and the kubelet's well-known ones, which the"
            " kubelet refuses"
        ),
    ),
    Key(
        key="nodeGroup.taints",
        type="list of `{key, value, effect}`, effect `NO_SCHEDULE`, `NO_EXECUTE` or `PREFER_NO_SCHEDULE`, at most 50",
        default="`[]`",
        meaning=(
            "taints on the group's nodes; change in place; keys of at most 63 characters (EKS). At least one group"
            " of a cluster must repel nothing: istiod, the gateways and the load balancer controller tolerate no taint"
        ),
    ),
    Key(
        key="nodeGroup.protect",
        type="boolean",
        default="the cluster's `protect`",
        meaning="Pulumi's `protect` for this node group only, e.g. `false` to remove one group of a protected cluster",
    ),
    Key(
        key="nodeGroups",
        type="list of 1–30 node groups, each `{name, ...}` with the fields of `nodeGroup`",
        default="unset: the one group of `nodeGroup`",
        meaning=(
            "named managed node groups; `name` is 1–20 of `a-z0-9-`, unique; the group named `default` is the "
            "one `nodeGroup` describes (same resource, `<cluster>-nodes`), others are `<cluster>-nodes-<name>`. "
            "Set `nodeGroup` or `nodeGroups`, not both. Accelerated types get their drivers' AMI "
            "(`AL2023_x86_64_NVIDIA`, `AL2023_ARM_64_NVIDIA`, `AL2023_x86_64_NEURON`); `g4ad`, `f1`, `f2`, "
            "`dl1`, `dl2q`, `vt1`, `p2` and groups mixing kinds are refused (see "
            "[EKS in production](../operations/eks-in-production.md#node-groups))"
        ),
    ),
    Key(
        key="role",
        type="`primary` or `remote`",
        default="`primary`",
        meaning="a remote runs no istiod; it is served by its primary's",
    ),
    Key(
        key="primary",
        type="cluster name",
        default="required for a remote, forbidden otherwise",
        meaning="the primary (itself `role: primary`) that serves this remote",
    ),
    Key(
        key="eastWestStaticIps",
        type="boolean",
        default="`false`",
        meaning=(
            "one Elastic IP per public subnet on the east-west NLB, for allow-lists; a primary with "
            "remotes does not need them (see Primary-remote; stacks deployed by earlier releases had "
            "them there by default)"
        ),
    ),
)

OUTPUTS = (
    Output(
        key="clusters.<name>.region",
        meaning="the cluster's AWS region",
    ),
    Output(
        key="clusters.<name>.network",
        meaning="its Istio network name",
    ),
    Output(
        key="clusters.<name>.vpcId",
        meaning="its VPC",
    ),
    Output(
        key="clusters.<name>.endpoint",
        meaning="the EKS API endpoint",
    ),
    Output(
        key="clusters.<name>.kubeconfig",
        meaning="a kubeconfig using `aws eks get-token` (secret)",
    ),
    Output(
        key="clusters.<name>.eastWestAddress",
        meaning="DNS name of the east-west gateway's NLB (null where the model has no gateway)",
    ),
    Output(
        key="clusters.<name>.availabilityZones",
        meaning=(
            "the zones of its subnets; read back by every run, so a change of a deployed cluster's zones is refused"
            " before anything is created"
        ),
    ),
    Output(
        key="clusters.<name>.nodeGroupAmiTypes",
        meaning="each node group's AMI type (`\"\"`: EKS's default); read back by every run, so a group keeps its own",
    ),
    Output(
        key="clusters.<name>.nodeGroupLaunchTemplates",
        meaning=(
            "whether each node group has the program's launch template; read back by every run, so a deployed group "
            "keeps what it has (adding or removing one replaces the group)"
        ),
    ),
    Output(
        key="clusters.<name>.nodeGroupReleaseVersions",
        meaning='the AMI release each node group is pinned to (`""`: none, EKS\'s latest when created or upgraded)',
    ),
    Output(
        key="clusters.<name>.secretsKmsKeyArn",
        meaning="the KMS key its Secrets are encrypted with (null without one); read back, so it is kept for good",
    ),
    Output(
        key="clusters.<name>.role",
        meaning="`primary` or `remote`",
    ),
    Output(
        key="clusters.<name>.eastWestStaticIps",
        meaning="the east-west NLB's Elastic IPs (empty without `eastWestStaticIps`)",
    ),
    Output(
        key="clusters.<name>.istiodDeployments",
        meaning=("the istiod Deployments of the installed revisions (`istiod`, `istiod-1-31-0`), for `verify`"),
    ),
    Output(
        key="clusters.<name>.sampleVersion",
        meaning="the helloworld version of this cluster (with `deploySamples`)",
    ),
    Output(
        key="clusters.<name>.localityLoadBalancing",
        meaning="whether callers stay local first (`trafficPolicy.localityLoadBalancing`), for `verify`",
    ),
    Output(
        key="rootCertPem",
        meaning="the trust bundle: every root the clusters trust (one; two during a rotation), public",
    ),
    Output(
        key="signingRootCertPem",
        meaning="the root that signs the intermediates (`pki.rootGeneration`), public",
    ),
    Output(
        key="clusterCreators",
        meaning=(
            'per cluster, the IAM principal EKS made admin when it created it (`""` if unknown); read '
            "back by every run, see Team access"
        ),
    ),
    Output(
        key="addonVersions",
        meaning=(
            "per cluster, each managed add-on's version and the `kubernetesVersion` it was chosen for; "
            "read back by every run, see Upgrading Kubernetes"
        ),
    ),
    Output(
        key="vpcCidrs",
        meaning="per cluster, its VPC's range; read back by every run, so a deployed range never moves",
    ),
    Output(
        key="vpcIpamPools",
        meaning=(
            "per cluster whose VPC took its range from an IPAM pool, that pool; read back by every run, "
            "so the VPC keeps it"
        ),
    ),
    Output(
        key="sameNetworkPairs",
        meaning=(
            "each pair of clusters on one Istio network, requester first; read back by every run, so "
            "reordering clusters never turns a peering around"
        ),
    ),
    Output(
        key="mtls",
        meaning="the mesh-wide mTLS mode; read back by every run, so an unset `mtls` keeps it",
    ),
    Output(
        key="readerTokens",
        meaning=(
            "per cluster, its reader token's `generation` and `createdAt`; read back by every run, for the"
            " token-age warning"
        ),
    ),
    Output(
        key="metricsEndpoints",
        meaning=(
            "per region, the Prometheus endpoint of its workspace (with `metrics: amp`; empty otherwise), for"
            " Grafana and queries"
        ),
    ),
)
