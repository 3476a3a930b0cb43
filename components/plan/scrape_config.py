"""The scrape configuration of a cluster's managed collector (components/aws/metrics.py): Prometheus
YAML, of the subset AWS's collectors accept (global, scrape_config, relabel_config,
metric_relabel_configs, kubernetes_sd_config only; an interval of 30 s or more; the only name they
resolve is `kubernetes.default.svc`, so targets are pod IPs; docs.aws.amazon.com/prometheus/latest/
userguide/AMP-collector-how-to.html, "Scraper configuration").

Jobs:
- `istiod`: its monitoring port 15014, `/metrics` (the istiod chart's `--monitoringAddr=:15014`,
  containerPort 15014: manifests/charts/istio-control/istio-discovery/templates/deployment.yaml).
- `istio-proxies`: every sidecar's merged metrics, 15020 `/stats/prometheus` (Istio's metrics merging,
  on by default with `meshConfig.enablePrometheusMerge`: istio.io/latest/docs/ops/integrations/prometheus/),
  found on the `istio-proxy` container, whose declared port 15090 `http-envoy-prom` (the injection
  template) gives one target per pod; the east-west gateways excluded.
- `eastwest-gateway`: the same on the pods labelled `istio: eastwestgateway` (the gateway chart's pod
  annotations `prometheus.io/port: "15020"`, `/stats/prometheus`: gateway/values.yaml).
- `kubernetes-apiservers`: the API server behind the `default/kubernetes` Service, over HTTPS with the
  collector's token (AWS's sample configuration, same page).

Every series gets `cluster` (the mesh's cluster name) and `network` (its Istio network), so one
workspace holds a region's clusters apart and a multicluster Kiali or Grafana tells them by label.

Cost: every series is billed per sample ingested; 60 s halves the samples of AWS's 30 s sample and
stays below Istio's dashboards' default range of 5 minutes; each job keeps only the metrics the
docs' dashboards and alerts use (docs/operations/metrics.md), since an Envoy proxy exports thousands
of series.
"""

from __future__ import annotations

import yaml

from components.plan.istio_values import EAST_WEST_SELECTOR

SCRAPE_INTERVAL = "60s"
# What the collector authenticates to the API server with (the only form AWS accepts).
TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"
ISTIOD_PORT = 15014
MERGED_METRICS_PORT = 15020
MERGED_METRICS_PATH = "/stats/prometheus"
# The label the program gives its east-west gateway pods.
EAST_WEST_LABEL = EAST_WEST_SELECTOR["istio"]

# Names from Istio's source (github.com/istio/istio, branch release-1.31): pilot/pkg/xds/monitoring.go,
# pkg/xds/monitoring.go, pkg/kube/multicluster/secretcontroller.go, security/pkg/server/ca/monitoring.go, exported
# as named (pkg/monitoring/monitoring.go: `WithoutCounterSuffixes`, `WithoutUnits`);
# the proxies' standard metrics: istio.io/latest/docs/reference/config/metrics/.
KEPT_METRICS = {
    "istiod": (
        "pilot_xds_pushes",
        "pilot_total_xds_rejects",
        "pilot_xds",
        "pilot_proxy_convergence_time_bucket",
        "pilot_services",
        "remote_cluster_sync_timeouts_total",
        "istiod_managed_clusters",
        "istiod_remote_cluster_sync_status",
        "citadel_server_root_cert_expiry_timestamp",
        "citadel_server_cert_chain_expiry_timestamp",
        "up",
    ),
    "istio-proxies": (
        "istio_requests_total",
        "istio_request_duration_milliseconds_bucket",
        "istio_tcp_connections_opened_total",
        "istio_tcp_connections_closed_total",
        "istio_tcp_sent_bytes_total",
        "istio_tcp_received_bytes_total",
        "up",
    ),
    "eastwest-gateway": (
        "istio_tcp_connections_opened_total",
        "istio_tcp_connections_closed_total",
        "istio_tcp_sent_bytes_total",
        "istio_tcp_received_bytes_total",
        "up",
    ),
    "kubernetes-apiservers": ("apiserver_request_total", "up"),
}


def _pod_ip_port(port: int) -> dict:
    return {"source_labels": ["__meta_kubernetes_pod_ip"], "target_label": "__address__", "replacement": f"$1:{port}"}


def _keep(labels: list[str], regex: str) -> dict:
    return {"action": "keep", "source_labels": labels, "regex": regex}


def _drop(labels: list[str], regex: str) -> dict:
    return {"action": "drop", "source_labels": labels, "regex": regex}


def _pod_job(name: str, select: list[dict], port: int, path: str, cluster: str, network: str) -> dict:
    return {
        "job_name": name,
        "metrics_path": path,
        "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            *select,
            _pod_ip_port(port),
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            *_mesh_labels(cluster, network),
        ],
        "metric_relabel_configs": [_kept(name)],
    }


def _mesh_labels(cluster: str, network: str) -> list[dict]:
    return [
        {"target_label": "cluster", "replacement": cluster, "action": "replace"},
        {"target_label": "network", "replacement": network, "action": "replace"},
    ]


def _kept(job: str) -> dict:
    return _keep(["__name__"], "|".join(KEPT_METRICS[job]))


def scrape_configuration(cluster: str, network: str) -> str:
    """The collector's YAML for one cluster of the mesh."""
    proxy = [
        _keep(
            ["__meta_kubernetes_pod_container_name", "__meta_kubernetes_pod_container_port_name"],
            "istio-proxy;http-envoy-prom",
        )
    ]
    jobs = [
        _pod_job(
            "istiod",
            [
                _keep(["__meta_kubernetes_pod_label_app"], "istiod"),
                _keep(["__meta_kubernetes_pod_container_port_number"], str(ISTIOD_PORT)),
            ],
            ISTIOD_PORT,
            "/metrics",
            cluster,
            network,
        ),
        _pod_job(
            "istio-proxies",
            [*proxy, _drop(["__meta_kubernetes_pod_label_istio"], EAST_WEST_LABEL)],
            MERGED_METRICS_PORT,
            MERGED_METRICS_PATH,
            cluster,
            network,
        ),
        _pod_job(
            "eastwest-gateway",
            [*proxy, _keep(["__meta_kubernetes_pod_label_istio"], EAST_WEST_LABEL)],
            MERGED_METRICS_PORT,
            MERGED_METRICS_PATH,
            cluster,
            network,
        ),
        {
            "job_name": "kubernetes-apiservers",
            "scheme": "https",
            "authorization": {"type": "Bearer", "credentials_file": TOKEN_FILE},
            "kubernetes_sd_configs": [{"role": "endpoints"}],
            "relabel_configs": [
                _keep(
                    [
                        "__meta_kubernetes_namespace",
                        "__meta_kubernetes_service_name",
                        "__meta_kubernetes_endpoint_port_name",
                    ],
                    "default;kubernetes;https",
                ),
                *_mesh_labels(cluster, network),
            ],
            "metric_relabel_configs": [_kept("kubernetes-apiservers")],
        },
    ]
    document = {"global": {"scrape_interval": SCRAPE_INTERVAL}, "scrape_configs": jobs}
    return yaml.safe_dump(document, sort_keys=False)
