"""The Helm values of every Istio release (charts `base`, `istiod`, `gateway`), per cluster and
revision: pure data from the spec, which `components/istio` turns into releases.

Each chart's values have two parts:
- the wiring: identity, topology, addresses, revisions, the mesh's traffic settings and sources.
  `istioValues` may not override any of it: `GUARDED` is every path the wiring writes, in every
  role, so a key added here is guarded by construction; `OVERRIDES` adds the few keys the program
  does not write but through which a chart would override what it writes;
- the defaults (high availability), which `istioValues` may change.

Values the program only knows at deploy time (the CA checksum, the primary's NLB name, source
ranges, Elastic IPs) come in as opaque leaves (`ReleaseInputs`). Chart keys: the charts'
values.yaml (1.30, 1.31), checked by the render tier of the tests.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.model import drain
from components.model.revisions import IstioRevision, RevisionPlan
from components.model.spec import (
    CROSS_NETWORK_PORT,
    ISTIO_NAMESPACE,
    ISTIOD_PORT,
    ArtifactSources,
    ClusterSpec,
    ClusterTopology,
    NodeGroupSpec,
    TrafficSpec,
)
from components.plan.topology import plan_topology

NAMESPACE = ISTIO_NAMESPACE
CA_CHECKSUM_ANNOTATION = "istio-eks-mesh/ca-checksum"
ZONE_KEY = "topology.kubernetes.io/zone"
# At least two pods, so a drain or a rollout never leaves none; the charts' PDB renders only then.
MIN_REPLICAS = 2
# The gateway chart labels pods `istio: <release name without the istio- prefix>`.
EAST_WEST_SELECTOR = {"istio": "eastwestgateway"}
NETWORK_LABEL = "topology.istio.io/network"
EIP_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-eip-allocations"
SCHEME_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-scheme"
SUBNETS_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-subnets"
HEALTH_CHECK_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-healthcheck-"
# Envoy's readiness endpoint on every proxy, gateways included: 200 once the pod has its
# configuration, on the pod's IP (istio tools/packaging/common/envoy_bootstrap.json; the gateway
# injection template's readiness probe).
STATUS_PORT, READY_PATH = 15021, "/healthz/ready"
NLB_ANNOTATIONS = {
    # Handled by the AWS Load Balancer Controller, not the legacy in-tree cloud provider.
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    # Targets are pod IPs: no extra hop through a NodePort.
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    SCHEME_ANNOTATION: "internet-facing",
    # Each zone's gateway pods serve traffic arriving in any zone.
    "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
    # Every target group checks the pod's readiness, not its own port: the controller's default
    # (a TCP connect to the traffic port) fails wherever Envoy has no listener yet, and istio-system's
    # readiness gate then keeps each new gateway pod unready, stalling every rollout after the first.
    f"{HEALTH_CHECK_ANNOTATION}port": str(STATUS_PORT),
    f"{HEALTH_CHECK_ANNOTATION}protocol": "http",
    f"{HEALTH_CHECK_ANNOTATION}path": READY_PATH,
}
# The Service port of each port the topology says the gateway serves (the chart wants numeric
# targetPorts; the names are those `networkGateway` would give them).
SERVICE_PORTS = {
    CROSS_NETWORK_PORT: {
        "name": "tls",
        "port": CROSS_NETWORK_PORT,
        "targetPort": CROSS_NETWORK_PORT,
        "protocol": "TCP",
    },
    ISTIOD_PORT: {"name": "tls-istiod", "port": ISTIOD_PORT, "targetPort": ISTIOD_PORT, "protocol": "TCP"},
}


def merge_values(ours: Mapping[str, Any], theirs: Mapping[str, Any], *, copy_theirs: bool = True) -> dict[str, Any]:
    """Deep-merges `theirs` over `ours` (mappings merge, everything else is replaced).

    Deploy-time leaves cannot be deep-copied: only plain `theirs` (the user's values) are."""
    merged = dict(ours)
    for key, value in theirs.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value, copy_theirs=copy_theirs)
        else:
            merged[key] = copy.deepcopy(value) if copy_theirs else value
    return merged


# Values a user's `istioValues` replace whole rather than merge into: a container's resources are
# one unit (a request of theirs above a limit of ours would be refused by Kubernetes).
REPLACED_WHOLE = ("resources",)


def merge_user_values(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    """`istioValues.<chart>` over the program's values."""
    kept = {k: v for k, v in ours.items() if not (k in REPLACED_WHOLE and k in theirs)}
    return merge_values(kept, theirs)


def _wired(defaults: Mapping[str, Any], wiring: Mapping[str, Any]) -> dict[str, Any]:
    return merge_values(defaults, wiring, copy_theirs=False)


@dataclass(frozen=True)
class ReleaseInputs:
    """What one cluster's Istio values depend on. The last fields are only known at deploy time
    (Pulumi Outputs there), and are passed through untouched."""

    mesh_id: str
    cluster: ClusterSpec
    topology: ClusterTopology
    plan: RevisionPlan
    traffic: TrafficSpec
    sources: ArtifactSources
    # The checksum of the cluster's `cacerts`: a new intermediate or trust bundle rolls istiod.
    ca_checksum: Any = ""
    # A remote: the DNS name of its primary's east-west NLB.
    primary_address: Any = None
    # The east-west NLB's source ranges.
    allowed_cidrs: Any = ()
    # `eastWestStaticIps`: the allocation IDs and their subnets, comma-joined, in zone order.
    eip_allocations: Any = None
    eip_subnets: Any = None
    # Private mode: an internal NLB, in the private subnets (their `kubernetes.io/role/internal-elb`).
    internal: bool = False


def injection_path(cluster: ClusterSpec, is_remote: bool) -> str:
    """The path the injection webhooks call: a remote's names its cluster and network."""
    return f"/inject/cluster/{cluster.name}/net/{cluster.network}" if is_remote else "/inject"


# --- base -----------------------------------------------------------------------------------------


def base_values(inputs: ReleaseInputs) -> dict[str, Any]:
    """The remote profile on a remote; the default validator (`istiod-default-validator`) calls the
    revision `default` points at (by default the unrevisioned `istiod`, which a stack without one lacks)."""
    values = _hub(inputs.sources)
    if inputs.topology.is_remote:
        values["profile"] = "remote"
    if not inputs.plan.default.unrevisioned:
        values["defaultRevision"] = inputs.plan.default.name
    return values


# --- istiod ---------------------------------------------------------------------------------------


def istiod_values(inputs: ReleaseInputs, revision: IstioRevision) -> dict[str, Any]:
    """One revision's istiod: its defaults with its wiring over them."""
    topology = inputs.topology
    defaults = istiod_defaults(revision, len(topology.discovers), injector_only=topology.is_remote)
    return _wired(defaults, istiod_wiring(inputs, revision))


# istiod's size: the chart's request for a small install (istiod values.yaml: 500m, 2048Mi) plus,
# per remote cluster it watches, what Istio measured (istio.io docs, ops/deployment/performance-and-
# scalability, multicluster: about 180 MB and 1 % of a core each, at 300 services and 4,000
# endpoints per cluster). Every replica caches all of it, so it grows up, not out. Memory is
# limited at twice the request (a leak or a burst of clusters is contained); CPU is not, as in the
# chart: a CPU limit throttles pushes to every proxy of the mesh at once.
ISTIOD_CPU_MILLICORES, ISTIOD_CPU_MILLICORES_PER_CLUSTER = 500, 10
ISTIOD_MEMORY_MIB, ISTIOD_MEMORY_MIB_PER_CLUSTER = 2048, 180


# A remote's local istiod serves no xDS: its proxies take their configuration from the primary, so
# none of the per-proxy push state the chart's 2048Mi is for. It injects sidecars (one webhook call
# per pod created), signs workload certificates (one CSR per pod a day) and watches its own
# cluster. Istio's demo profile runs a whole istiod, xDS included, on 10m and 100Mi (istiod chart
# files/profile-demo.yaml, 1.31); five times that memory, and ten times the CPU, leave the
# injector room for a large cluster's informer caches and a burst of pod creations.
INJECTOR_CPU_MILLICORES, INJECTOR_MEMORY_MIB = 100, 512


def istiod_resources(watched_clusters: int, injector_only: bool = False) -> dict[str, Any]:
    if injector_only:
        cpu, memory = INJECTOR_CPU_MILLICORES, INJECTOR_MEMORY_MIB
    else:
        cpu = ISTIOD_CPU_MILLICORES + ISTIOD_CPU_MILLICORES_PER_CLUSTER * watched_clusters
        memory = ISTIOD_MEMORY_MIB + ISTIOD_MEMORY_MIB_PER_CLUSTER * watched_clusters
    return {"requests": {"cpu": f"{cpu}m", "memory": f"{memory}Mi"}, "limits": {"memory": f"{2 * memory}Mi"}}


def istiod_defaults(revision: IstioRevision, watched_clusters: int = 0, injector_only: bool = False) -> dict[str, Any]:
    # replicaCount counts only when a user turns autoscaling off; the chart's PDB (minAvailable 1,
    # on by default) renders once the minimum exceeds one.
    return {
        "autoscaleMin": MIN_REPLICAS,
        "replicaCount": MIN_REPLICAS,
        "topologySpreadConstraints": [_zone_spread({"app": "istiod", "istio.io/rev": revision.label})],
        "resources": istiod_resources(watched_clusters, injector_only),
    }


def istiod_wiring(inputs: ReleaseInputs, revision: IstioRevision) -> dict[str, Any]:
    topology = inputs.topology
    identity = {
        "meshID": inputs.mesh_id,
        "multiCluster": {"clusterName": inputs.cluster.name},
        "network": inputs.cluster.network,
    }
    if topology.is_remote:
        values = _remote_istiod(inputs, identity)
    else:
        values = {
            "global": identity,
            # Mesh-wide traffic defaults; this istiod also configures its remotes' proxies.
            **_mesh_config(inputs.traffic, serves_xds=True),
            # Every revision's istiod Service is served by this cluster's pods only. istiod keeps
            # only its own discovery address cluster-local by itself; without this, a route to
            # another revision's istiod through the east-west gateway would also reach the
            # same-named local injectors of the remotes it discovers. Only these hosts: a
            # namespace wildcard would cut an ingress gateway's or a user's Service in istio-system
            # off from the other clusters. A revision added or removed rewrites the mesh
            # ConfigMap, which istiod reloads; no pod rolls.
        }
        hosts = sorted(f"{r.release}.{NAMESPACE}.svc.cluster.local" for r in inputs.plan.revisions)
        values = merge_values(
            values, {"meshConfig": {"serviceSettings": [{"settings": {"clusterLocal": True}, "hosts": hosts}]}}
        )
        # No EXTERNAL_ISTIOD on a primary with remotes: istiod serves a remote's proxies without it
        # (discovery needs only the remote secret). All it adds is leading the remote's
        # istio-system when that is annotated `topology.istio.io/controlPlaneClusters` with this
        # cluster: the namespace controller writing the remote's `istio-ca-root-cert` ConfigMaps and
        # a webhook patcher writing the remote's injector `caBundle`, through the reader token
        # (pilot/pkg/serviceregistry/kube/controller/multicluster.go, `checkShouldLead`; Istio's
        # tests set it for istiod-less remotes only, pkg/test/framework/components/istio/kube.go,
        # 1.30.3). Here the remote's local istiod does both for its own cluster (it is its own
        # config cluster; pilot/pkg/bootstrap/sidecarinjector.go), so the primary would be a
        # second writer of the same objects.
    # A new intermediate or trust bundle changes this annotation and so rolls istiod: it reloads a
    # new intermediate by itself, but ignores a changed root bundle until it restarts. A remote's
    # local istiod signs with `cacerts` too.
    values["podAnnotations"] = {CA_CHECKSUM_ANNOTATION: inputs.ca_checksum}
    values = merge_values(values, _revision(inputs, revision))
    return merge_values(values, _hub(inputs.sources))


def _remote_istiod(inputs: ReleaseInputs, identity: dict[str, Any]) -> dict[str, Any]:
    """A remote with a local istiod that injects sidecars and validates Istio config inside the
    remote, while its proxies take xDS from the primary (the remote profile with
    `istiodRemote.enabledLocalInjectorIstiod`, Istio 1.27+).

    - `remotePilotAddress`, a hostname, renders `istiod-remote` as an ExternalName Service for it;
      the mesh config (`configMap`, which the remote profile turns off) then gives injected proxies
      `discoveryAddress: istiod-remote.istio-system.svc:15012`, a name istiod's serving
      certificate carries. No API server ever calls the primary: the webhooks point at the local
      `istiod` Service.
    - Proxies' CA address stays the local `istiod`: it signs workload certificates (and its own
      webhook certificate) with this cluster's intermediate from `cacerts`, so they chain to the
      mesh root, and the root it publishes in every namespace's `istio-ca-root-cert` is the mesh
      root, the same the primary writes there.
    - The injector needs its ConfigMap (`omitSidecarInjectorConfigMap: false`), as in Istio's own
      test of this mode. `global.configCluster` would change nothing: with the local injector the
      chart renders every object it guards anyway.
    """
    return {
        "profile": "remote",
        "configMap": True,
        "global": {
            **identity,
            "remotePilotAddress": inputs.primary_address,
            "omitSidecarInjectorConfigMap": False,
            # The chart's reader role would let the primary (or whoever holds the token) rewrite
            # this cluster's webhooks; IstioControlPlane binds the reader to a narrower one.
            "enableReaderRBAC": False,
        },
        "istiodRemote": {
            "enabledLocalInjectorIstiod": True,
            "injectionPath": injection_path(inputs.cluster, is_remote=True),
        },
        # Its injector needs the proxy defaults, not the load balancing settings.
        **_mesh_config(inputs.traffic, serves_xds=False),
    }


def _mesh_config(traffic: TrafficSpec, serves_xds: bool) -> dict[str, Any]:
    """The chart's `meshConfig` (merged by the chart over its own defaults): DNS proxying in the
    proxies' defaults, and an explicit failover order for an istiod that serves xDS."""
    mesh: dict[str, Any] = {}
    if traffic.dns_proxy:
        mesh["defaultConfig"] = {"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}
    if serves_xds and traffic.locality_load_balancing and traffic.failover:
        # Replaces Istio's default `{enabled: true}`, so `enabled` is repeated.
        mesh["localityLbSetting"] = {"enabled": True, "failover": [{"from": a, "to": b} for a, b in traffic.failover]}
    return {"meshConfig": mesh} if mesh else {}


def _revision(inputs: ReleaseInputs, revision: IstioRevision) -> dict[str, Any]:
    """What a revision adds to its istiod's values. Changing a deployed unrevisioned release's
    `revision` in place would rename its Deployment and the Service its proxies connect to, which
    is why such a release stays unrevisioned."""
    plan, topology = inputs.plan, inputs.topology
    values: dict[str, Any] = {}
    if revision.unrevisioned:
        if plan.default is not revision:
            # Its own webhooks serve `default`; the tag's object serves it now.
            values["global"] = {"operatorManageWebhooks": True}
        return values
    values["revision"] = revision.name
    if topology.is_remote:
        # The chart names the remote's xDS Service `istiod-<rev>-remote` but points the mesh config
        # at `istiod-remote`, which only an unrevisioned release renders.
        values["meshConfig"] = {
            "defaultConfig": {"discoveryAddress": f"{revision.remote_service}.{NAMESPACE}.svc:15012"}
        }
    if topology.exposes_istiod:
        # The remotes' proxies of this revision dial `istiod-<rev>-remote`: istiod's serving
        # certificate must name it (it names `istiod-<rev>` and `istiod-remote` by itself).
        values["env"] = {"ISTIOD_CUSTOM_HOST": f"{revision.remote_service}.{NAMESPACE}.svc"}
    return values


# --- gateway --------------------------------------------------------------------------------------


def gateway_values(inputs: ReleaseInputs) -> dict[str, Any]:
    """The east-west gateway: its defaults with its wiring over them."""
    return _wired(gateway_defaults(), gateway_wiring(inputs))


def gateway_defaults() -> dict[str, Any]:
    # The gateway chart renders its PDB only when `podDisruptionBudget` is set and the minimum exceeds one.
    return {
        "replicaCount": MIN_REPLICAS,
        "autoscaling": {"minReplicas": MIN_REPLICAS},
        "podDisruptionBudget": {"minAvailable": 1},
        "topologySpreadConstraints": [_zone_spread(EAST_WEST_SELECTOR)],
    }


def gateway_wiring(inputs: ReleaseInputs) -> dict[str, Any]:
    annotations: dict[str, Any] = dict(NLB_ANNOTATIONS)
    # The deregistration the pods' preStop delay covers (components/model/drain.py).
    annotations[drain.TARGET_GROUP_ATTRIBUTES_ANNOTATION] = drain.TARGET_GROUP_ATTRIBUTES
    if inputs.internal:
        annotations[SCHEME_ANNOTATION] = "internal"
    if inputs.eip_allocations is not None:
        # One allocation per subnet, so the subnets are pinned too.
        annotations[EIP_ANNOTATION] = inputs.eip_allocations
        annotations[SUBNETS_ANNOTATION] = inputs.eip_subnets
    values: dict[str, Any] = {
        # What `networkGateway` would set besides its four ports: the network label on the pods and
        # on the Service (istiod finds a network's gateway by it) and the network the pods serve.
        "labels": {NETWORK_LABEL: inputs.cluster.network},
        "env": {"ISTIO_META_REQUESTED_NETWORK_VIEW": inputs.cluster.network},
        "service": {
            "type": "LoadBalancer",
            "annotations": annotations,
            # The controller turns them into the NLB's security group rules, one per CIDR and port.
            "loadBalancerSourceRanges": inputs.allowed_cidrs,
            # Only the ports a Gateway server listens on, so every NLB listener has a server behind
            # it: the chart's `networkGateway` would always add 15021, 15443, 15012 and 15017.
            "ports": [dict(SERVICE_PORTS[port]) for port in inputs.topology.east_west_ports],
        },
        # Serve until the NLB has stopped sending, then drain (components/model/drain.py).
        **drain.gateway_drain_values(),
    }
    # Injection by the revision `default` points at: a move of the tag relabels the pods
    # (`istio.io/rev`), which rolls them onto it. An unrevisioned `default` needs no label.
    if not inputs.plan.default.unrevisioned:
        values["revision"] = inputs.plan.default.name
    return merge_values(values, _hub(inputs.sources))


def _hub(sources: ArtifactSources) -> dict[str, Any]:
    """Where every Istio image comes from. istiod's chart names its own image and, through the
    injector, every proxy's (sidecars, and the gateway pods, whose chart leaves `image: auto` for the
    injector). The base and gateway charts take a `global` block too (their `zzz_profile.yaml`
    merges it) but read no hub (base runs no pod); it is set there as well so that every release
    names the one source. The published 1.30.x charts default it to a retired registry."""
    return {"global": {"hub": sources.istio_hub}}


def _zone_spread(selector: Mapping[str, str]) -> dict[str, Any]:
    # ScheduleAnyway: a zone without room delays nothing, the scheduler only prefers the spread.
    return {
        "maxSkew": 1,
        "topologyKey": ZONE_KEY,
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": dict(selector)},
    }


# --- what `istioValues` may not override ----------------------------------------------------------

# Keys the program does not write through which a chart would still override what it writes.
OVERRIDES: dict[str, dict[tuple[str, ...], str]] = {
    "base": {},
    # istiod's own image hub wins over `global.hub` for istiod alone; `revisionTags` would make the
    # release claim the tag objects the program keeps apart.
    "istiod": {("hub",): "istioImageHub", ("revisionTags",): "istioRevisionTags"},
    "gateway": {
        # It replaces the Service's ports with four fixed ones, two of them never served.
        ("networkGateway",): "the ports each cluster's gateway serves",
        # The chart derives the pods' `app`/`istio` labels (the Gateways' selector) and the
        # Service's name from these.
        ("labels", "app"): "the east-west gateway's fixed name",
        ("labels", "istio"): "the east-west gateway's fixed name",
        ("name",): "the east-west gateway's fixed name",
    },
}
# Where each guarded value comes from, for the messages (the longest matching prefix wins); a
# source that is a config key is where the user changes it.
SOURCES: dict[str, dict[tuple[str, ...], str]] = {
    "base": {
        ("profile",): "each cluster's role",
        ("defaultRevision",): "istioRevisionTags.default",
        ("global", "hub"): "istioImageHub",
    },
    "istiod": {
        ("global", "meshID"): "meshId",
        ("global", "multiCluster", "clusterName"): "each cluster's name",
        ("global", "network"): "each cluster's network",
        ("global", "hub"): "istioImageHub",
        ("global", "remotePilotAddress"): "the primary of a remote",
        ("global", "omitSidecarInjectorConfigMap"): "a remote's local injector",
        ("global", "enableReaderRBAC"): "a remote's reader role (the program's own)",
        ("global", "operatorManageWebhooks"): "istioRevisionTags.default",
        ("configMap",): "a remote's local injector",
        ("istiodRemote", "enabledLocalInjectorIstiod"): "a remote's local injector",
        ("istiodRemote", "injectionPath"): "a remote's name and network",
        ("profile",): "each cluster's role",
        ("revision",): "istioRevisions",
        ("env", "ISTIOD_CUSTOM_HOST"): "a primary's remotes",
        ("meshConfig", "defaultConfig", "discoveryAddress"): "a remote's primary",
        ("meshConfig", "defaultConfig", "proxyMetadata", "ISTIO_META_DNS_CAPTURE"): "trafficPolicy.dnsProxy",
        ("meshConfig", "localityLbSetting"): "trafficPolicy.failover",
        ("meshConfig", "serviceSettings"): "the revisions' cluster-local istiod hosts",
        ("podAnnotations", CA_CHECKSUM_ANNOTATION): "the cluster's CA (it restarts istiod when the roots change)",
    },
    "gateway": {
        ("labels", NETWORK_LABEL): "each cluster's network",
        ("env", "ISTIO_META_REQUESTED_NETWORK_VIEW"): "each cluster's network",
        ("service",): "the east-west gateway's NLB",
        ("service", "loadBalancerSourceRanges"): "eastWestAllowedCidrs",
        ("service", "ports"): "the ports each cluster's gateway serves",
        ("service", "annotations", EIP_ANNOTATION): "eastWestStaticIps",
        ("service", "annotations", SUBNETS_ANNOTATION): "eastWestStaticIps",
        **{
            ("service", "annotations", f"{HEALTH_CHECK_ANNOTATION}{k}"): "the gateway's health checks"
            for k in ("port", "protocol", "path")
        },
        ("service", "annotations", drain.TARGET_GROUP_ATTRIBUTES_ANNOTATION): "the gateway's drain",
        ("lifecycle",): "the gateway's drain",
        ("terminationGracePeriodSeconds",): "the gateway's drain",
        ("revision",): "istioRevisionTags.default",
        ("global", "hub"): "istioImageHub",
    },
}


def leaf_paths(values: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every path to a value that is not a non-empty mapping (lists are leaves)."""
    paths = set()
    for key, value in values.items():
        here = (*prefix, key)
        paths |= leaf_paths(value, here) if isinstance(value, Mapping) and value else {here}
    return paths


def source_of(chart: str, path: tuple[str, ...]) -> str | None:
    sources = {**SOURCES[chart], **OVERRIDES[chart]}
    matches = [prefix for prefix in sources if path[: len(prefix)] == prefix]
    return sources[max(matches, key=len)] if matches else None


def _every_role() -> list[tuple[ReleaseInputs, tuple[IstioRevision, ...]]]:
    """One cluster of each role and shape, with every option that adds a value turned on: a
    primary with a remote on another network, that remote, and a primary without remotes; an
    unrevisioned release beside a revisioned `default`, and a revisioned one alone."""

    def cluster(name: str, network: str, primary: str | None = None) -> ClusterSpec:
        return ClusterSpec(
            name,
            "us-east-1",
            network,
            ipaddress.ip_network("10.0.0.0/16"),
            3,
            "1.35",
            NodeGroupSpec(),
            "single",
            f"{name}-x",
            role="remote" if primary else "primary",
            primary=primary,
        )

    clusters = (cluster("p", "n1"), cluster("r", "n2", primary="p"), cluster("q", "n3"))
    topology = plan_topology(clusters)
    old, new = IstioRevision("1.30.5", ""), IstioRevision("1.31.1", "1-31-1")
    plans = (RevisionPlan((old, new), {"default": new.version}), RevisionPlan((new,), {"default": new.version}))
    traffic = TrafficSpec(failover=(("us-east-1", "us-west-2"),))
    return [
        (
            ReleaseInputs(
                "m", c, topology[c.name], plan, traffic, ArtifactSources(), "sum", "nlb", ["198.51.100.0/24"], "a", "s"
            ),
            plan.revisions,
        )
        for c in clusters
        for plan in plans
    ]


def _guarded() -> dict[str, dict[tuple[str, ...], str]]:
    written: dict[str, set[tuple[str, ...]]] = {"base": set(), "istiod": set(), "gateway": set()}
    for inputs, revisions in _every_role():
        written["base"] |= leaf_paths(base_values(inputs))
        written["istiod"] |= {p for r in revisions for p in leaf_paths(istiod_wiring(inputs, r))}
        if inputs.topology.east_west_gateway:
            written["gateway"] |= leaf_paths(gateway_wiring(inputs))
    guarded = {
        chart: {path: source_of(chart, path) or "" for path in sorted(paths)} for chart, paths in written.items()
    }
    return {chart: {**paths, **OVERRIDES[chart]} for chart, paths in guarded.items()}


# chart -> path -> where its value comes from: every path the wiring writes, plus OVERRIDES.
GUARDED: dict[str, dict[tuple[str, ...], str]] = _guarded()
