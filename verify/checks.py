"""What `verify` checks and how it judges the answers; no I/O here beyond the `ClusterApi` it is given.

For each cluster, as its role and model call for: istiod is ready (on a remote, its local injector), the east-west
gateway is ready and has an external address (clusters that have one), istiod has a remote secret
for every other cluster (primaries), and requests from the cluster's `sleep` pod to `helloworld`
all succeed and reach the version of every cluster in the mesh (with local-first routing: all
succeed, and the share answered locally is shown; `drill.py` proves the failover).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

ISTIO_NAMESPACE = "istio-system"
SAMPLE_NAMESPACE = "sample"
_ANSWER = re.compile(r"^Hello version: (?P<version>[^,]+), instance: ")
NOT_DEPLOYED = "samples not deployed: set `pulumi config set istio-eks-mesh:deploySamples true` and run `pulumi up`"


class Unreachable(Exception):
    """The cluster's API server did not answer, for `cause`: "dns" (its name does not resolve),
    "credentials" (`aws eks get-token` made no token), "access" (the API server refused the
    identity) or "network" (no connection: apiAccessCidrs, a proxy, a firewall)."""

    def __init__(self, message: str, cause: str = "network"):
        super().__init__(message)
        self.cause = cause


# What to check first, per cause.
UNREACHABLE_HINTS = {
    "dns": "check the endpoint's name and this machine's DNS",
    "credentials": "is the AWS CLI installed, and logged in as the stack's profile?",
    "access": "does this identity have an access entry (clusterAdmins)?",
    "network": "is this machine's address in apiAccessCidrs?",
}


def unreachable_detail(endpoint: str, err: Unreachable) -> str:
    hint = UNREACHABLE_HINTS.get(err.cause, UNREACHABLE_HINTS["network"])
    return f"cannot reach {endpoint} ({err.cause}): {err}; {hint}"


class TimedOut(Exception):
    """A call into the cluster took longer than allowed."""


class ClusterApi(Protocol):
    def deployment_status(self, namespace: str, name: str) -> tuple[int, int] | None:
        """(ready replicas, desired replicas), or None if there is no such Deployment."""

    def service_addresses(self, namespace: str, name: str) -> list[str] | None:
        """The Service's load balancer hostnames/IPs, or None if there is no such Service."""

    def remote_secret_clusters(self) -> list[str]:
        """Cluster names of the remote secrets in istio-system."""

    def run_in_deployment(self, namespace: str, app: str, command: list[str], timeout: int) -> str:
        """Runs `command` in a pod of the Deployment labelled app=<app>; returns its stdout."""

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> bool:
        """Sets the Deployment's replicas (`--drill` only); False if there is no such Deployment."""


@dataclass(frozen=True)
class ClusterTarget:
    name: str
    kubeconfig: dict
    endpoint: str
    sample_version: str | None
    # `remote` clusters run only a local istiod that injects and validates, and hold no remote secrets.
    role: str = "primary"
    # Clusters on their primary's network, or in a one-network mesh, have no east-west gateway.
    has_gateway: bool = True
    # One per installed Istio revision (`istiod`, `istiod-1-31-0`).
    istiods: tuple[str, ...] = ("istiod",)
    # The mesh keeps callers local (`trafficPolicy.localityLoadBalancing`): a healthy cluster
    # answers from its own version, so other versions need not answer.
    local_first: bool = False


@dataclass(frozen=True)
class Result:
    cluster: str
    check: str
    passed: bool
    detail: str


# Checks beyond these (the trust check, verify/trust.py), run with each cluster's API.
ExtraChecks = Callable[[ClusterTarget, ClusterApi], list[Result]]


def parse_versions(output: str) -> Counter:
    """Counts answers by version; lines that are not a helloworld answer count as `failed`."""
    counts: Counter = Counter()
    for line in output.splitlines():
        if not line.strip():
            continue
        match = _ANSWER.match(line.strip())
        counts[match.group("version") if match else "failed"] += 1
    return counts


def local_share(source: str, counts: Counter, expected: dict[str, str]) -> str:
    total = sum(counts.values())
    local = counts.get(expected.get(source, ""), 0)
    return f"local {100 * local // total}%" if total else "local -"


def judge_traffic(source: str, counts: Counter, expected: dict[str, str], local_first: bool = False) -> Result:
    """Passes if every request succeeded and every cluster's version answered at least once; with
    local-first routing, if every request succeeded (the drill proves the other clusters answer)."""
    shown = ", ".join(f"{v}: {n}" for v, n in sorted(counts.items())) or "no answers"
    if source in expected:
        shown += f"; {local_share(source, counts, expected)}"
    problems = []
    missing = [f"{cluster} ({version})" for cluster, version in expected.items() if counts.get(version, 0) == 0]
    if missing and not local_first:
        problems.append(f"never reached {', '.join(missing)}")
    if counts.get("failed"):
        problems.append(f"{counts['failed']} of {sum(counts.values())} requests failed")
    return Result(source, "traffic", not problems, "; ".join([shown, *problems]))


def judge_remote_secrets(cluster: str, found: list[str], everyone: list[str]) -> Result:
    expected = sorted(set(everyone) - {cluster})
    missing = sorted(set(expected) - set(found))
    if missing:
        return Result(cluster, "remote secrets", False, f"missing for {', '.join(missing)}")
    return Result(
        cluster, "remote secrets", True, f"{len(expected)} peer(s): {', '.join(expected)}" if expected else "no peers"
    )


def _ready(api: ClusterApi, cluster: str, check: str, namespace: str, name: str) -> Result:
    status = api.deployment_status(namespace, name)
    if status is None:
        return Result(cluster, check, False, f"deployment {namespace}/{name} not found")
    ready, desired = status
    return Result(cluster, check, ready >= 1 and ready >= desired, f"{ready}/{desired} ready")


def check_cluster(
    target: ClusterTarget,
    api: ClusterApi,
    everyone: dict[str, str | None],
    requests: int,
    timeout: int,
    more: ExtraChecks | None = None,
) -> list[Result]:
    """Every check for one cluster; never raises for a failing cluster, it reports it."""
    name = target.name
    primary = target.role != "remote"
    try:
        # Every cluster runs istiod: a remote's only injects sidecars and validates config.
        results = [_ready(api, name, istiod, ISTIO_NAMESPACE, istiod) for istiod in target.istiods]
        if target.has_gateway:
            results.append(_ready(api, name, "east-west gateway", ISTIO_NAMESPACE, "istio-eastwestgateway"))
            addresses = api.service_addresses(ISTIO_NAMESPACE, "istio-eastwestgateway")
            if addresses is None:
                detail = "service istio-system/istio-eastwestgateway not found"
            else:
                detail = ", ".join(addresses) if addresses else "no external address yet (NLB pending?)"
            results.append(Result(name, "gateway address", bool(addresses), detail))
        if primary:
            results.append(judge_remote_secrets(name, api.remote_secret_clusters(), list(everyone)))
        if more is not None:
            results.extend(more(target, api))
        results.append(_traffic(target, api, everyone, requests, timeout))
        return results
    except Unreachable as err:
        return [Result(name, "api server", False, unreachable_detail(target.endpoint, err))]
    except TimedOut as err:
        return [Result(name, "api server", False, f"timed out: {err}")]


def _traffic(
    target: ClusterTarget, api: ClusterApi, everyone: dict[str, str | None], requests: int, timeout: int
) -> Result:
    if target.sample_version is None or any(v is None for v in everyone.values()):
        return Result(target.name, "traffic", False, NOT_DEPLOYED)
    if api.deployment_status(SAMPLE_NAMESPACE, "sleep") is None:
        return Result(target.name, "traffic", False, NOT_DEPLOYED)
    try:
        output = call_helloworld(api, requests, timeout)
    except TimedOut:
        return Result(target.name, "traffic", False, f"{requests} requests took longer than {timeout}s")
    return judge_traffic(
        target.name, parse_versions(output), {c: v for c, v in everyone.items() if v}, target.local_first
    )


def call_helloworld(api: ClusterApi, requests: int, timeout: int) -> str:
    """`requests` calls from the cluster's sleep pod to helloworld; one answer (or FAILED) a line."""
    # -f: an HTTP error (e.g. Envoy's 503, whose body has no newline) prints nothing and counts as
    # FAILED on a line of its own.
    loop = (
        f"for i in $(seq {requests}); do curl -sf --max-time 5 http://helloworld.{SAMPLE_NAMESPACE}:5000/hello"
        " || echo FAILED; done"
    )
    return api.run_in_deployment(SAMPLE_NAMESPACE, "sleep", ["sh", "-c", loop], timeout)


def default_requests(cluster_count: int) -> int:
    """Enough requests that a healthy mesh almost surely reaches every version: with k equally
    likely versions and 10·k requests, the chance one never answers is k·(1−1/k)^(10k) < 0.001."""
    return 10 * max(cluster_count, 1)


def verify_mesh(
    targets: list[ClusterTarget],
    connect: Callable[[ClusterTarget], ClusterApi],
    requests: int | None = None,
    timeout: int = 120,
    progress: Callable[[str], None] = lambda _: None,
    more: ExtraChecks | None = None,
) -> list[Result]:
    everyone = {t.name: t.sample_version for t in targets}
    requests = requests or default_requests(len(targets))
    results: list[Result] = []
    for index, target in enumerate(targets, 1):
        progress(f"[{index}/{len(targets)}] {target.name}: checking istiod, gateway, remote secrets, traffic ...")
        try:
            api = connect(target)
        except Unreachable as err:
            results.append(Result(target.name, "api server", False, unreachable_detail(target.endpoint, err)))
            continue
        cluster_results = check_cluster(target, api, everyone, requests, timeout, more)
        for r in cluster_results:
            progress(f"    {'ok  ' if r.passed else 'FAIL'} {r.check}: {r.detail}")
        results.extend(cluster_results)
    return results
