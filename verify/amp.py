"""The metrics checks of `python -m verify` (with `metrics: amp`): per cluster, whether its managed
collector scrapes it and how the cross-cluster requests of the last hour fared, read from the
region's Amazon Managed Service for Prometheus workspace through its Prometheus query API.

Queries are instant queries, `GET <workspace endpoint>api/v1/query?query=…`, signed with SigV4 for
service `aps` in the workspace's region (AMP user guide, AMP-onboard-query-APIs.html and
AMP-compatible-APIs.html; the answer is Prometheus's HTTP API JSON, prometheus.io/docs/prometheus/
latest/querying/api/). The identity needs `aps:QueryMetrics` on the workspace.

Credentials are those the kubeconfigs use: `aws configure export-credentials --format process` with
the kubeconfig's `--profile` and its AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE (AWS CLI
reference, configure/export-credentials: the `credential_process` JSON, `AccessKeyId`,
`SecretAccessKey`, `SessionToken`), so the AWS CLI resolves them as it does for `aws eks get-token`
(environment variables first, then the profile); where the kubeconfig assumes a role
(`--role-arn`), `aws sts assume-role` of it (AWS CLI reference, sts/assume-role: `Credentials`).
The region is the kubeconfig's `--region`.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from components.plan.alert_rules import ERROR_RATIO
from verify.checks import ClusterTarget, Result
from verify.sigv4 import Credentials, canonical_query, sign

SERVICE = "aps"
# Counted back from now: long enough to hold the samples of an earlier `verify` or drill.
WINDOW = "1h"
SCRAPED, REQUESTS = "metrics scraped", "metrics requests"


class AmpError(Exception):
    """A query AMP did not answer, for `cause`: credentials (none, or expired), signature (AMP
    refused it), access (the identity lacks aps:QueryMetrics), workspace (no such workspace),
    network (no connection), query (AMP refused the PromQL) or unavailable (AMP failed)."""

    def __init__(self, message: str, cause: str):
        super().__init__(message)
        self.cause = cause


@dataclass(frozen=True)
class AwsIdentity:
    """Where a cluster's kubeconfig gets its AWS credentials, and the cluster's region and EKS name."""

    region: str
    eks_name: str
    profile: str | None = None
    # AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE of the kubeconfig's exec.
    env: tuple[tuple[str, str], ...] = ()
    # The role the kubeconfig assumes (`--role-arn`), if any.
    role_arn: str | None = None


def _arg(args: list, flag: str) -> str | None:
    return str(args[args.index(flag) + 1]) if flag in args[:-1] else None


def identity_of(kubeconfig: dict) -> AwsIdentity | None:
    """From an `aws eks get-token` kubeconfig (components/aws/cluster.py build_kubeconfig); None for
    another kind."""
    try:
        (user,) = kubeconfig["users"]
        execution = user["user"]["exec"]
        args = list(execution["args"])
        env = tuple((str(e["name"]), str(e["value"])) for e in execution.get("env") or ())
    except (KeyError, TypeError, ValueError):
        return None
    region, eks_name = _arg(args, "--region"), _arg(args, "--cluster-name")
    if not region or not eks_name:
        return None
    return AwsIdentity(region, eks_name, _arg(args, "--profile"), env, _arg(args, "--role-arn"))


def _aws_json(identity: AwsIdentity, args: list[str]) -> dict:
    """The JSON the AWS CLI prints for `args`, run with the kubeconfig's profile and files."""
    if shutil.which("aws") is None:
        raise AmpError("the AWS CLI is not on PATH (the kubeconfigs need it too); install it", "credentials")
    command = ["aws", *args, *(["--profile", identity.profile] if identity.profile else [])]
    shown = " ".join(command)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=60, env={**os.environ, **dict(identity.env)}
        )
    except subprocess.TimeoutExpired:
        raise AmpError(f"`{shown}` took over 60 s (an interactive login?)", "credentials") from None
    if done.returncode != 0:
        # stderr only: what it prints on stdout may be credentials.
        first = done.stderr.strip().splitlines()[:1] or [f"exit status {done.returncode}"]
        raise AmpError(f"`{shown}` failed: {first[0][:300]}", "credentials")
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise AmpError(f"`{shown}` printed no credentials", "credentials")
    return answer


def cli_credentials(identity: AwsIdentity) -> Credentials:
    """The credentials `aws eks get-token` signs with for this kubeconfig: its `--role-arn` assumed
    (as get-token does, AWS CLI reference eks/get-token), else the profile's own."""
    if identity.role_arn:
        args = ["sts", "assume-role", "--role-arn", identity.role_arn, "--role-session-name", "istio-eks-mesh-verify"]
        found = _aws_json(identity, [*args, "--output", "json"]).get("Credentials")
    else:
        found = _aws_json(identity, ["configure", "export-credentials", "--format", "process"])
    try:
        return Credentials(found["AccessKeyId"], found["SecretAccessKey"], found.get("SessionToken"))
    except (KeyError, TypeError):
        raise AmpError("the AWS CLI printed no credentials", "credentials") from None


class PrometheusApi(Protocol):
    def query(self, promql: str) -> list[dict]:
        """The instant vector `promql` evaluates to: [{"metric": {...}, "value": [time, "text"]}]."""


def _aws_message(body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return body.decode(errors="replace").strip()[:300] or "no message"
    if isinstance(answer, dict):
        return str(answer.get("message") or answer.get("Message") or answer.get("error") or answer)[:300]
    return str(answer)[:300]


def classify(status: int, error_type: str, body: bytes, endpoint: str) -> AmpError:
    """An AMP error answer as a cause. AWS names the error in `x-amzn-ErrorType` (restJson1, the
    protocol of AMP's API: smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html), the Prometheus
    API in its JSON `errorType`."""
    message, kind = _aws_message(body), error_type.split(":", 1)[0]
    if status in (401, 403):
        lowered = message.lower()
        if kind == "InvalidSignatureException" or "signature" in lowered:
            return AmpError(f"AMP refused the signature: {message}", "signature")
        if kind in ("ExpiredTokenException", "UnrecognizedClientException") or "security token" in lowered:
            return AmpError(f"AMP refused the credentials: {message}", "credentials")
        return AmpError(f"AMP refused the query: {message}", "access")
    if status == 404:
        return AmpError(f"no workspace at {endpoint} (HTTP 404: {message})", "workspace")
    if status in (400, 422):
        return AmpError(f"AMP refused the query: {message}", "query")
    return AmpError(f"AMP answered HTTP {status}: {message}", "unavailable")


class AmpClient:
    """Instant queries against one workspace, signed with `credentials`."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        credentials: Credentials,
        timeout: int = 30,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ):
        self.url = endpoint.rstrip("/") + "/api/v1/query"
        self.endpoint, self.region, self.credentials = endpoint, region, credentials
        self.timeout, self.clock = timeout, clock

    def query(self, promql: str) -> list[dict]:
        params = [("query", promql)]
        headers = sign("GET", self.url, params, {}, self.credentials, self.region, SERVICE, self.clock())
        # Sent encoded exactly as signed (%20, not urlencode's +), so AWS reads back the same query.
        request = urllib.request.Request(f"{self.url}?{canonical_query(params)}", headers=headers, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as err:
            raise classify(err.code, err.headers.get("x-amzn-ErrorType", ""), err.read(), self.endpoint) from None
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            reason = getattr(err, "reason", err)
            host = urlsplit(self.url).netloc
            raise AmpError(f"cannot connect to {host}: {reason}", "network") from None
        try:
            answer = json.loads(body)
            if answer["status"] != "success":
                raise AmpError(f"AMP refused the query: {answer.get('error', answer)}", "query")
            result = answer["data"]["result"]
            if not isinstance(result, list) or not all(
                isinstance(r, dict) and isinstance(r.get("metric"), dict) for r in result
            ):
                raise TypeError(result)
            return result
        except (ValueError, KeyError, TypeError):
            raise AmpError(
                f"AMP answered something that is not Prometheus JSON: {body[:100]!r}", "unavailable"
            ) from None


# What to check first, per cause.
AMP_HINTS = {
    "credentials": "log in as the stack's profile (aws sso login, or the environment's keys) and run verify again",
    "signature": "is this machine's clock right, and are the credentials whole (temporary ones need their token)?",
    "access": "allow aps:QueryMetrics on the workspace to this identity (IAM policy)",
    "workspace": "run pulumi up, or correct metricsWorkspaces: the output names a workspace that does not exist",
    "network": "can this machine reach aps-workspaces.<region>.amazonaws.com on 443 (proxy, firewall)?",
    "query": "a bug of verify: report it with this line",
    "unavailable": "AMP failed: run verify again in a few minutes",
}


def amp_detail(region: str, err: AmpError) -> str:
    return f"AMP {region} ({err.cause}): {err}; {AMP_HINTS.get(err.cause, AMP_HINTS['unavailable'])}"


def expected_jobs(target: ClusterTarget) -> list[str]:
    """The scrape jobs (components/plan/scrape_config.py) that have targets in this cluster: istiod
    and the API server everywhere, the east-west gateway where there is one, the proxies where the
    samples (sidecars) run."""
    jobs = ["istiod", "kubernetes-apiservers"]
    jobs += ["eastwest-gateway"] if target.has_gateway else []
    jobs += ["istio-proxies"] if target.sample_version is not None else []
    return jobs


def _quote(value: str) -> str:
    return json.dumps(value)  # a PromQL string literal: double quotes, backslash escapes


def judge_scraped(target: ClusterTarget, identity: AwsIdentity, series: list[dict]) -> Result:
    """`up` of the cluster's targets: none at all is a collector that does not scrape the cluster."""
    name = target.name
    if not series:
        return Result(
            name,
            SCRAPED,
            False,
            f"not scraped: the workspace has no series with cluster={_quote(name)}; look at the collector"
            f" (aws amp list-scrapers --region {identity.region}: the one with alias {identity.eks_name}, its status"
            f" and statusReason), its security group {name}-metrics-collector-sg (443, 15014, 15020 to the"
            f" cluster security group) and the access entry AMP made for its role"
            f" (aws eks list-access-entries --cluster-name {identity.eks_name} --region {identity.region})",
        )
    jobs: dict[str, list[int]] = {}
    for s in series:
        counts = jobs.setdefault(str(s.get("metric", {}).get("job", "?")), [0, 0])
        counts[0] += _value(s) == 1
        counts[1] += 1
    shown = ", ".join(f"{job} {up}/{total} up" for job, (up, total) in sorted(jobs.items()))
    problems = [f"no {job} targets" for job in expected_jobs(target) if job not in jobs]
    if any(up < total for up, total in jobs.values()):
        problems.append(
            "targets down: the collector finds them but cannot scrape them (the pod is not ready, or the cluster"
            " security group lost its rule from the collector)"
        )
    return Result(name, SCRAPED, not problems, "; ".join([shown, *problems]))


def _value(series: dict) -> float:
    try:
        return float(series["value"][1])
    except (KeyError, IndexError, TypeError, ValueError):
        return float("nan")


def requests_query(cluster: str) -> str:
    # The callers' own sidecars report (reporter="source"): they see a failure on the east-west
    # path, which the TLS pass-through gateway cannot.
    return (
        "sum by (destination_cluster, response_code) (increase(istio_requests_total"
        f'{{reporter="source",source_cluster={_quote(cluster)}}}[{WINDOW}]))'
    )


def judge_requests(target: ClusterTarget, series: list[dict], peers: int) -> Result:
    """The success of the requests the cluster's callers sent to other clusters in the last hour."""
    name, per_peer = target.name, {}
    local = 0.0
    for s in series:
        labels, value = s.get("metric", {}), _value(s)
        if value != value:  # NaN: a malformed sample counts as nothing
            continue
        destination = labels.get("destination_cluster", "unknown")
        if destination == name:
            local += value
            continue
        total, failed = per_peer.get(destination, (0.0, 0.0))
        per_peer[destination] = (total + value, failed + value * str(labels.get("response_code", "")).startswith("5"))
    sent = local + sum(total for total, _ in per_peer.values())
    if round(sent) == 0:
        why = "samples not deployed (deploySamples)" if target.sample_version is None else "none"
        return Result(
            name,
            REQUESTS,
            False,
            f"no sample traffic yet: no request from {name} in the last {WINDOW} ({why}); the collector scrapes"
            " every 60 s: run verify again in two minutes, the traffic check's requests show by then",
        )
    if not per_peer:
        if peers == 0 or target.local_first:
            why = "one cluster" if peers == 0 else "localityLoadBalancing keeps callers local; --drill failover"
            return Result(name, REQUESTS, True, f"{round(sent)} requests, all inside {name} ({why})")
        return Result(
            name,
            REQUESTS,
            False,
            f"none of {round(sent)} requests from {name} left it in the last {WINDOW}: see the traffic check",
        )
    parts, problems = [], []
    for destination, (total, failed) in sorted(per_peer.items()):
        share = 1 - failed / total if total else 1.0
        parts.append(f"to {destination}: {100 * share:.1f}% of {round(total)} succeeded")
        if failed / total > ERROR_RATIO:
            problems.append(f"over {ERROR_RATIO:.0%} of the requests to {destination} failed with a 5xx")
    return Result(name, REQUESTS, not problems, "; ".join(parts + problems))


def check_cluster_metrics(target: ClusterTarget, identity: AwsIdentity, api: PrometheusApi, peers: int) -> list[Result]:
    try:
        scraped = judge_scraped(target, identity, api.query(f"up{{cluster={_quote(target.name)}}}"))
        if scraped.detail.startswith("not scraped"):
            return [scraped, Result(target.name, REQUESTS, False, f"no series of {target.name}: see {SCRAPED}")]
        return [scraped, judge_requests(target, api.query(requests_query(target.name)), peers)]
    except AmpError as err:
        return [Result(target.name, SCRAPED, False, amp_detail(identity.region, err))]


Connect = Callable[[AwsIdentity, str], PrometheusApi]


def check_metrics(
    targets: list[ClusterTarget],
    endpoints: Mapping[str, str],
    connect: Connect,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Result]:
    """Every cluster's metrics checks against its region's workspace."""
    results: list[Result] = []
    for target in targets:
        identity = identity_of(target.kubeconfig)
        progress(f"{target.name}: checking its metrics in AMP ...")
        if identity is None:
            detail = "its kubeconfig does not run aws eks get-token: cannot tell its region and credentials"
            results.append(Result(target.name, SCRAPED, False, detail))
            continue
        endpoint = endpoints.get(identity.region)
        if endpoint is None:
            detail = f"metricsEndpoints has no workspace for {identity.region}: run pulumi up"
            results.append(Result(target.name, SCRAPED, False, detail))
            continue
        try:
            api = connect(identity, endpoint)
        except AmpError as err:
            results.append(Result(target.name, SCRAPED, False, amp_detail(identity.region, err)))
            continue
        results.extend(check_cluster_metrics(target, identity, api, len(targets) - 1))
    return results


def cli_connect(credentials: Callable[[AwsIdentity], Credentials] = cli_credentials, timeout: int = 30) -> Connect:
    """Clients for real workspaces; the credentials looked up once per profile and files."""
    cache: dict[tuple, Credentials | AmpError] = {}

    def connect(identity: AwsIdentity, endpoint: str) -> PrometheusApi:
        key = (identity.profile, identity.env, identity.role_arn)
        if key not in cache:
            try:
                cache[key] = credentials(identity)
            except AmpError as err:
                cache[key] = err
        found = cache[key]
        if isinstance(found, AmpError):
            raise found
        return AmpClient(endpoint, identity.region, found, timeout)

    return connect
