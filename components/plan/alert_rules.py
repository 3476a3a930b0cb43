"""The alerts every metrics workspace gets (`metrics: amp`), as a Prometheus rules file for an AMP
rule group namespace: what breaks a multi-cluster mesh, each read from a metric the collectors keep
(components/plan/scrape_config.py) and each with a runbook line in docs/operations/metrics.md.

Metric names and labels from Istio's source (github.com/istio/istio, branch release-1.31):
`istiod_remote_cluster_sync_status` (status synced/syncing/timeout/closed, the remote in its `cluster`
label, which the collector's own `cluster` label moves to `exported_cluster`) and
`remote_cluster_sync_timeouts_total` in pkg/kube/multicluster/{secretcontroller,cluster}.go;
`pilot_xds_pushes` (type `cds_senderr`, `eds_senderr`, `lds_senderr`, `rds_senderr`) in
pilot/pkg/xds/monitoring.go; `pilot_total_xds_rejects` in pkg/xds/monitoring.go;
`citadel_server_cert_chain_expiry_timestamp` (unix seconds) in security/pkg/server/ca/monitoring.go, the
expiry of the CA certificate istiod signs with when it has a chain (server.go), i.e. the plugged-in intermediate.
The proxies' `istio_requests_total` and `istio_tcp_connections_closed_total` labels `reporter`,
`source_cluster`, `destination_cluster`, `destination_service`, `response_code` and `response_flags`:
istio.io/latest/docs/reference/config/metrics/ ("Labels"). `response_flags` holds Envoy's response
flags (comma-separated, `-` for none): `UH` no healthy upstream host in the upstream cluster, `UF`
upstream connection failure, `URX` retry limit or, for TCP, connect attempts exhausted
(envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage, "Response flags").

Unhealthy upstreams are read from these flags, not from Envoy's own cluster statistics
(`envoy_cluster_outlier_detection_ejections_active`, `envoy_cluster_membership_healthy`): Istio's
proxies export only the `cluster_manager`, `listener_manager`, `server`, `cluster.xds-grpc` and
`wasm` Envoy statistics unless `proxyStatsMatcher` adds more (pkg/bootstrap/config.go@1.30.3,
`requiredEnvoyStatsMatcherInclusionPrefixes`), and adding them costs series per proxy and outbound
cluster. Seen from a caller, a service whose endpoints in another network sit behind that network's
east-west gateway (one address per network) fails with these flags when the gateway or what it
reaches is unhealthy; seen from a gateway, its pass-through connections that found no healthy local
endpoint close with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

GROUP = "istio-eks-mesh"
# Days before an intermediate's expiry the alert fires: time to renew it (docs/concepts/trust.md).
EXPIRY_WARNING_DAYS = 30
# The share of cross-cluster requests failing with a 5xx that is not noise.
ERROR_RATIO = 0.05
# The share of a caller's requests failing for want of a healthy upstream that is not noise.
UNHEALTHY_RATIO = 0.01
# The share of a region's requests answered in other regions that means locality failover, where
# locality load balancing keeps a healthy region's callers at home.
FAILOVER_RATIO = 0.1
# Envoy's response flags of an upstream that is down or unreachable (see above).
_UNHEALTHY_FLAGS = 'response_flags=~".*(UH|UF|URX).*"'
_BY_SERVICE = "sum by (source_cluster, destination_service)"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    duration: str
    summary: str


_BY_PAIR = "sum by (source_cluster, destination_cluster)"
# Per pair of clusters, as the callers' sidecars see it: a pair of two clusters went through the
# east-west gateways (or a peering), so their failures show here, where the pass-through gateway has none.
_ERRORS = (
    f'{_BY_PAIR} (rate(istio_requests_total{{reporter="source",response_code=~"5.."}}[10m]))'
    f' / {_BY_PAIR} (rate(istio_requests_total{{reporter="source"}}[10m])) > {ERROR_RATIO}'
)


ALERTS = (
    Alert(
        "IstioRemoteClusterNotSynced",
        'max by (cluster, exported_cluster) (istiod_remote_cluster_sync_status{status=~"syncing|timeout"}) == 1',
        "15m",
        "istiod in {{ $labels.cluster }} has not synced remote cluster {{ $labels.exported_cluster }}",
    ),
    Alert(
        "IstioRemoteClusterSyncTimeouts",
        "increase(remote_cluster_sync_timeouts_total[15m]) > 0",
        "0m",
        "istiod in {{ $labels.cluster }} became ready without a remote cluster (PILOT_REMOTE_CLUSTER_TIMEOUT)",
    ),
    Alert(
        "IstioXdsPushErrors",
        'sum by (cluster, type) (increase(pilot_xds_pushes{type=~".+_senderr"}[10m])) > 0',
        "10m",
        "istiod in {{ $labels.cluster }} fails to send {{ $labels.type }} to proxies",
    ),
    Alert(
        "IstioConfigRejected",
        "sum by (cluster) (increase(pilot_total_xds_rejects[10m])) > 0",
        "10m",
        "proxies served by istiod in {{ $labels.cluster }} reject its configuration",
    ),
    Alert(
        "IstioIntermediateExpiresSoon",
        f"min by (cluster) (citadel_server_cert_chain_expiry_timestamp) - time() < {EXPIRY_WARNING_DAYS} * 86400",
        "1h",
        f"the intermediate CA of {{{{ $labels.cluster }}}} expires within {EXPIRY_WARNING_DAYS} days",
    ),
    Alert(
        "MeshRequestErrors",
        _ERRORS,
        "10m",
        "over 5 % of requests from {{ $labels.source_cluster }} to {{ $labels.destination_cluster }} fail with 5xx",
    ),
    Alert(
        "MeshUpstreamUnhealthy",
        f'{_BY_SERVICE} (rate(istio_requests_total{{reporter="source",{_UNHEALTHY_FLAGS}}}[10m]))'
        f' / {_BY_SERVICE} (rate(istio_requests_total{{reporter="source"}}[10m])) > {UNHEALTHY_RATIO}',
        "10m",
        "callers in {{ $labels.source_cluster }} find no healthy upstream for {{ $labels.destination_service }}"
        " (Envoy flags UH/UF/URX)",
    ),
    Alert(
        "EastWestGatewayUpstreamUnhealthy",
        "sum by (cluster) (increase(istio_tcp_connections_closed_total"
        f'{{job="eastwest-gateway",{_UNHEALTHY_FLAGS}}}[10m])) > 0',
        "10m",
        "the east-west gateway of {{ $labels.cluster }} finds no healthy endpoint for connections from other networks",
    ),
    Alert(
        "IstioTargetDown",
        'up{job=~"istiod|eastwest-gateway"} == 0',
        "10m",
        "the collector cannot scrape {{ $labels.job }} {{ $labels.pod }} in {{ $labels.cluster }}",
    ),
)


def failover_alert(region: str, clusters: Sequence[str]) -> Alert:
    """Requests of the region's callers answered in another region. A workspace holds only its
    region's clusters' series (a collector writes to its own region's workspace), but may be
    shared with other meshes: hence the callers named too. Cluster names are DNS labels, no regex
    metacharacters but `-`, which is literal outside brackets."""
    names = "|".join(clusters)
    requests = f'istio_requests_total{{reporter="source",source_cluster=~"{names}"'
    return Alert(
        "MeshLocalityFailover",
        f'sum by (source_cluster) (rate({requests},destination_cluster!~"{names}|unknown"}}[10m]))'
        f" / sum by (source_cluster) (rate({requests}}}[10m])) > {FAILOVER_RATIO}",
        "10m",
        f"over {FAILOVER_RATIO:.0%} of the requests from {{{{ $labels.source_cluster }}}} leave {region}:"
        " locality failover is in effect",
    )


def alerts(region: str = "", clusters: Sequence[str] = (), locality_first: bool = False) -> tuple[Alert, ...]:
    """The alerts of a region's workspace; locality failover only where callers stay local first
    (`trafficPolicy.localityLoadBalancing`), where requests leaving the region mean failover."""
    return ALERTS + ((failover_alert(region, clusters),) if locality_first and clusters else ())


def rules_document(region: str = "", clusters: Sequence[str] = (), locality_first: bool = False) -> str:
    """The rules file of the namespace (Prometheus's rule file format, which AMP takes as is)."""
    rules = [
        {
            "alert": a.name,
            "expr": a.expr,
            "for": a.duration,
            "labels": {"severity": "warning"},
            "annotations": {"summary": a.summary, "runbook": f"docs/operations/metrics.md#{a.name.lower()}"},
        }
        for a in alerts(region, clusters, locality_first)
    ]
    return yaml.safe_dump({"groups": [{"name": GROUP, "rules": rules}]}, sort_keys=False, width=200)
