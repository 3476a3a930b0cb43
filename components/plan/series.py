"""How many series a cluster's managed collector sends to AMP (`metrics: amp`), estimated from the
series each job of the scrape configuration keeps (components/plan/scrape_config.py) and the pods
the mesh itself runs, for the cost in `python -m check` (components/plan/cost.py). An estimate,
not a measurement: count a running cluster's with `count by (cluster, job) ({__name__=~".+"})`.

Per target, a kept metric makes one series per label set it reports (the job adds `cluster`,
`network`, `namespace` and `pod`, one value each per target):
- istiod (per pod, `ISTIOD_SERIES`): label sets read from Istio's source (istio/istio
  release-1.31); plus one `istiod_remote_cluster_sync_status` per cluster it watches; two pods
  (the program's minimum) per revision.
- a sidecar: per label set it reports (peer workload, response code, reporter, ...),
  `istio_requests_total` and 20 buckets of `istio_request_duration_milliseconds` (Envoy's default
  histogram bounds, 0.5 ms to 3,600,000 ms, 19 and +Inf; a public Istio stats doc lists them); the
  mesh's own: the samples (helloworld and curl, `deploySamples`), which `verify` makes call every
  cluster, so each reports one label set per cluster.
- an east-west gateway pod: the four `istio_tcp_*` per destination service it passes (TLS
  pass-through: no source workload): helloworld with the samples, istiod for a primary serving remotes.
- the API server: EKS runs "at least two API server instances" (docs.aws.amazon.com/eks/latest/
  userguide/eks-architecture.html), each a target. `apiserver_request_total` has a series per verb,
  group, version, resource, scope and response code seen: `apiserver_request_duration_seconds_bucket`
  has "~10k time series in a typical cluster" (poseidon/typhoon#596) over its 40 buckets
  (kubernetes/kubernetes#105346), about 250 label sets without the code; with about two codes each,
  `APISERVER_REQUEST_SERIES` = 500 per instance. The largest item, and the least certain.
- `up`: one per target.
Your own sidecars are not in the estimate: each adds `SIDECAR_SERIES_PER_LABEL_SET` per label set.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.plan.istio_values import MIN_REPLICAS
from components.plan.mesh_plan import MeshPlan
from components.plan.scrape_config import KEPT_METRICS, SCRAPE_INTERVAL

# Per istiod pod, each kept metric's series (istio/istio release-1.31).
ISTIOD_SERIES = {
    # One per xDS type pushed to sidecars: cds, eds, lds, rds, and nds with DNS proxying
    # (pkg/model/xds.go GetMetricType); the *_senderr types appear at the first send error.
    "pilot_xds_pushes": 5,
    # A counter's series appears at its first increment: none on a healthy mesh.
    "pilot_total_xds_rejects": 0,
    # One per proxy version connected (pilot/pkg/xds/monitoring.go recordXDSClients).
    "pilot_xds": 1,
    # Bounds .1, .5, 1, 3, 5, 10, 20, 30 and +Inf (pilot/pkg/xds/monitoring.go proxiesConvergeDelay).
    "pilot_proxy_convergence_time_bucket": 9,
    "pilot_services": 1,
    "remote_cluster_sync_timeouts_total": 0,
    # cluster_type local and remote (pkg/kube/multicluster/secretcontroller.go).
    "istiod_managed_clusters": 2,
    # One per cluster watched: counted from the topology.
    "istiod_remote_cluster_sync_status": 0,
    "citadel_server_root_cert_expiry_timestamp": 1,
    "citadel_server_cert_chain_expiry_timestamp": 1,
    "up": 1,
}
HISTOGRAM_BUCKETS = 20
SIDECAR_SERIES_PER_LABEL_SET = 1 + HISTOGRAM_BUCKETS
TCP_METRICS = sum(1 for m in KEPT_METRICS["eastwest-gateway"] if m.startswith("istio_tcp_"))
API_SERVERS = 2
APISERVER_REQUEST_SERIES = 500
# helloworld and curl, one pod each per cluster (components/istio/samples.py).
SAMPLE_PODS = 2


@dataclass(frozen=True)
class ClusterSeries:
    istiod: int
    gateway: int
    samples: int
    apiserver: int

    @property
    def total(self) -> int:
        return self.istiod + self.gateway + self.samples + self.apiserver


def scrape_interval_seconds() -> int:
    return int(SCRAPE_INTERVAL.removesuffix("s"))


def samples_per_month(series: int, hours: int) -> int:
    """Samples a month of `hours` makes of `series` scraped every `SCRAPE_INTERVAL`."""
    return series * hours * 3600 // scrape_interval_seconds()


def cluster_series(plan: MeshPlan, name: str) -> ClusterSeries:
    spec, t = plan.spec, plan[name].topology
    clusters = len(spec.clusters)
    # Each revision side by side (`istioRevisions`) runs its own istiod pods, all labelled app=istiod.
    pods = MIN_REPLICAS * len(spec.revisions.revisions)
    istiod = pods * (sum(ISTIOD_SERIES.values()) + len(t.discovers))
    gateway = 0
    if t.east_west_gateway:
        destinations = int(spec.deploy_samples) + int(bool(t.remotes))
        gateway = MIN_REPLICAS * (TCP_METRICS * destinations + 1)
    samples = SAMPLE_PODS * (SIDECAR_SERIES_PER_LABEL_SET * clusters + 1) if spec.deploy_samples else 0
    return ClusterSeries(istiod, gateway, samples, API_SERVERS * (APISERVER_REQUEST_SERIES + 1))
