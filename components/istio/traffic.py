"""Mesh-wide traffic defaults (`trafficPolicy`), set on every primary, whose istiod configures the
proxies of its own cluster and of its remotes; a remote's local injector gets the proxy defaults.

- DNS proxying: `ISTIO_META_DNS_CAPTURE` in the mesh's proxy defaults. The sidecar answers DNS for
  every service its istiod knows, so a name that exists only in another cluster resolves (to that
  cluster's ClusterIP, which the sidecar then routes; istio pilot/pkg/model/service.go
  `getAllAddressesForProxy`). Address auto-allocation concerns ServiceEntries only and is on by
  default in istiod since 1.25 (`PILOT_ENABLE_IP_AUTOALLOCATE`), so nothing is set for it.
- Locality load balancing: enabled in Istio's default mesh config, but Envoy only moves down to
  other localities when the destination's DestinationRule has `outlierDetection`
  (pilot/pkg/networking/core/cluster_traffic_policy.go). So each primary gets a DestinationRule
  for `*.local` in the root namespace (istio-system), exported everywhere: the rule Istio uses for
  a service that has none of its own. An explicit failover order between regions goes in
  `meshConfig.localityLbSetting` (components/plan/istio_values.py, with the DNS setting), which
  every DestinationRule without its own setting inherits.
- A user DestinationRule for a host (in the caller's or the service's namespace) replaces the
  mesh-wide one entirely, Istio does not merge them: it must carry its own `outlierDetection` to
  keep failing over (see `traffic_policy`, which the samples' rule uses).

With both options off nothing here is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.model.spec import DNS_LABEL, ISTIO_NAMESPACE, MeshSpec, TrafficSpec

ROOT_NAMESPACE = ISTIO_NAMESPACE
MESH_RULE = "mesh-locality-failover"
# Ejection settings for locality failover. 100% may be ejected, so a whole locality can fail over;
# Envoy's default (10%) would keep sending to a broken zone. Mesh-wide, only gateway errors (502,
# 503, 504: the endpoint is gone or overloaded) count: an application's own 500s must not eject
# the only replica of a service for everyone. Envoy counts any five consecutive 5xx by default,
# enforced at 100 %, and Istio turns that off only when `consecutive5xxErrors` is given: 0 does
# (pilot/pkg/networking/core/cluster_traffic_policy.go, applyOutlierDetection).
OUTLIER_DETECTION = {
    "consecutive5xxErrors": 0,
    "consecutiveGatewayErrors": 5,
    "interval": "10s",
    "baseEjectionTime": "30s",
    "maxEjectionPercent": 100,
}
# Labels Istio puts on every endpoint (pilot/pkg/serviceregistry/util/label AugmentLabels).
CLUSTER_LABEL = "topology.istio.io/cluster"
NETWORK_LABEL = "topology.istio.io/network"


def traffic_policy(traffic: TrafficSpec) -> dict[str, Any]:
    """What a DestinationRule needs for locality failover; empty when it is off."""
    return {"outlierDetection": dict(OUTLIER_DETECTION)} if traffic.locality_load_balancing else {}


def mesh_rule_spec(traffic: TrafficSpec) -> dict[str, Any]:
    return {"host": "*.local", "exportTo": ["*"], "trafficPolicy": traffic_policy(traffic)}


def sample_rule_spec(spec: MeshSpec, host: str) -> dict[str, Any]:
    """A DestinationRule for a service deployed in every cluster: the mesh-wide policy (a rule for
    the host replaces the mesh-wide one) and a subset per cluster and per network, for routing a
    share of traffic to one cluster."""
    subsets = [{"name": f"cluster-{c.name}", "labels": {CLUSTER_LABEL: c.name}} for c in spec.clusters]
    networks = list(dict.fromkeys(c.network for c in spec.clusters))
    # Subset names are DNS labels; a network name may hold characters a label may not.
    subsets += [
        {"name": f"network-{n}", "labels": {NETWORK_LABEL: n}}
        for n in networks
        if DNS_LABEL.fullmatch(f"network-{n}") and len(n) <= 55
    ]
    rule: dict[str, Any] = {"host": host, "subsets": subsets}
    if policy := traffic_policy(spec.traffic):
        rule["trafficPolicy"] = policy
    return rule


@dataclass
class MeshTrafficArgs:
    traffic: TrafficSpec
    # The primary's injector (its default istiod, or the tag object made after it): the rule needs
    # the CRD (from base, which istiod waits for) and passes istiod's validating webhook.
    istiod: pulumi.Resource


class MeshTraffic(pulumi.ComponentResource):
    """The mesh-wide DestinationRule in one primary (only made while locality load balancing is on)."""

    def __init__(self, name: str, args: MeshTrafficArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:traffic:MeshTraffic", name, None, opts)
        k8s.apiextensions.CustomResource(
            f"{name}-locality-failover",
            api_version="networking.istio.io/v1",
            kind="DestinationRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=MESH_RULE, namespace=ROOT_NAMESPACE),
            spec=mesh_rule_spec(args.traffic),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.istiod]),
        )
        self.register_outputs({})
