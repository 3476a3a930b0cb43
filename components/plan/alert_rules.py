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
The proxies' `istio_requests_total` labels `reporter`, `source_cluster`, `destination_cluster`,
`response_code`: istio.io/latest/docs/reference/config/metrics/.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

GROUP = "istio-eks-mesh"
# Days before an intermediate's expiry the alert fires: time to renew it (docs/concepts/trust.md).
EXPIRY_WARNING_DAYS = 30
# The share of cross-cluster requests failing with a 5xx that is not noise.
ERROR_RATIO = 0.05


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
        "IstioTargetDown",
        'up{job=~"istiod|eastwest-gateway"} == 0',
        "10m",
        "the collector cannot scrape {{ $labels.job }} {{ $labels.pod }} in {{ $labels.cluster }}",
    ),
)


def rules_document() -> str:
    """The rules file of the namespace (Prometheus's rule file format, which AMP takes as is)."""
    rules = [
        {
            "alert": a.name,
            "expr": a.expr,
            "for": a.duration,
            "labels": {"severity": "warning"},
            "annotations": {"summary": a.summary, "runbook": f"docs/operations/metrics.md#{a.name.lower()}"},
        }
        for a in ALERTS
    ]
    return yaml.safe_dump({"groups": [{"name": GROUP, "rules": rules}]}, sort_keys=False, width=200)
