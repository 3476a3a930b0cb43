"""Helpers shared by the test modules (no test module imports another, nor conftest).

Stack configs, the PKI readers and the rotation states, a loopback HTTP server, and the fake
clusters and fake Kubernetes API server that the verify tests talk to. Pytest fixtures stay in
conftest.py, which builds them from what is here.
"""

from __future__ import annotations

import datetime
import json
import random
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from components.plan.outputs import RECORDED
from tests.harness import Run, cached_run, resolve
from verify.checks import ClusterTarget, TimedOut, Unreachable

# --- stack configs -------------------------------------------------------------------------------

OPERATOR_CIDR = "203.0.113.0/24"
# An account whose VPC, NAT, Elastic IP and Transit Gateway quotas were raised: for tests of other limits.
RAISED = {
    "serviceQuotas": dict.fromkeys(
        (
            "vpcsPerRegion",
            "internetGatewaysPerRegion",
            "natGatewaysPerAz",
            "elasticIpsPerRegion",
            "transitGatewaysPerRegion",
            "peeringAttachmentsPerTransitGateway",
        ),
        10000,
    )
}


def mocks_with(**attributes):
    """A mock factory for `run_program`: the mocks with these attributes set (`caller_arn`,
    `last_outputs`, `unaddressed`: see tests/mocks.py)."""

    def factory():
        from tests.mocks import MeshMocks

        mocks = MeshMocks()
        for name, value in attributes.items():
            assert hasattr(mocks, name), name
            setattr(mocks, name, value)
        return mocks

    return factory


def recorded(run: Run) -> dict:
    """The outputs of `run` that the next run reads back (components/config/stack.py)."""
    exports = {key: resolve(run.exports[key])[0] for key in RECORDED}
    kept = (
        "region",
        "availabilityZones",
        "nodeGroupAmiTypes",
        "nodeGroupLaunchTemplates",
        "nodeGroupReleaseVersions",
        "secretsKmsKeyArn",
    )
    clusters = {name: {k: c[k] for k in kept if k in c} for name, c in exports["clusters"].items()}
    return {**exports, "clusters": clusters}


def mesh_config(count: int, **extra) -> dict:
    """`count` clusters alternating between two regions, the way a user would write them."""
    regions = ["us-east-1", "us-west-2"]
    clusters = [{"name": f"c{i}", "region": regions[i % 2]} for i in range(count)]
    return {"clusters": clusters, "apiAccessCidrs": [OPERATOR_CIDR], **extra}


# Reference models, shared by the URN snapshot and the lifecycle tests (one program run each).
PRIMARY_REMOTE = {
    "clusters": [
        {"name": "p", "region": "us-east-1", "network": "n1"},
        {"name": "r", "region": "us-west-2", "network": "n2", "role": "remote", "primary": "p"},
    ],
    "apiAccessCidrs": [OPERATOR_CIDR],
    "deploySamples": True,
}
MIXED = {
    "clusters": [
        {"name": "p1", "region": "us-east-1", "network": "n1"},
        {"name": "r1", "region": "us-east-1", "network": "n1", "role": "remote", "primary": "p1"},
        {"name": "p2", "region": "us-west-2", "network": "n2"},
    ],
    "apiAccessCidrs": [OPERATOR_CIDR],
}

# The values `components/istio/revisions.py` adds for high availability.
HA_KEYS = (
    "autoscaleMin",
    "replicaCount",
    "topologySpreadConstraints",
    "autoscaling",
    "podDisruptionBudget",
    "resources",
)


def without_ha(values: dict) -> dict:
    """Values without the HA defaults, for tests about something else."""
    return {k: v for k, v in values.items() if k not in HA_KEYS}


# --- PKI -----------------------------------------------------------------------------------------

SECRET = "kubernetes:core/v1:Secret"
# The moment every test runs at: the program's clock is pinned to it (tests/conftest.py), and the
# certificates the tests make are valid around it.
NOW = datetime.datetime(2026, 12, 7, 12, tzinfo=datetime.UTC)


def cacerts(run: Run) -> dict[str, dict[str, str]]:
    """Cluster name -> the four PEM files of its `cacerts` Secret."""
    found = {}
    for s in run.of_type(SECRET):
        if s.inputs["metadata"]["name"] == "cacerts":
            assert s.inputs["metadata"]["namespace"] == "istio-system"
            found[s.name.removesuffix("-istio-cacerts")] = s.inputs["stringData"]
    return found


def pem_certs(text: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(text.encode())


def make_cert(
    *,
    ca=True,
    days=3650,
    start=NOW - datetime.timedelta(days=1),
    key=None,
    sign_usage=True,
    common_name="Imported Root",
    path_length=None,
    issuer_name=None,
    signing_key=None,
    extension=None,
):
    """A root as a vault would hand it over; the keywords make it wrong in one way each."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Vault"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, sign_usage and ca, sign_usage and ca, False, False),
            critical=True,
        )
    )
    if extension is not None:
        builder = builder.add_extension(extension, critical=True)
    cert_pem = builder.sign(signing_key or key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert_pem, key_pem


# --- root rotation -------------------------------------------------------------------------------

# The four states of a rotation from root 1 to root 2: (rootGeneration, trustedRootGenerations).
STATES = {"start": (1, [1]), "trust both": (1, [1, 2]), "sign with 2": (2, [1, 2]), "drop 1": (2, [2])}
MULTI_PRIMARY = mesh_config(2)
IMPORTED = {1: make_cert(common_name="Vault Root 2025"), 2: make_cert(common_name="Vault Root 2026")}


def state_config(base: dict, state: str, imported: bool = False) -> dict:
    generation, trusted = STATES[state]
    config = (
        {**base, "pki": {"rootGeneration": generation, "trustedRootGenerations": trusted}}
        if state != "start"
        else dict(base)
    )
    if imported:
        if 1 in trusted:
            config["rootCa"] = {"certPem": IMPORTED[1][0], "keyPem": IMPORTED[1][1]}
        if 2 in trusted:
            config["rootCas"] = {"2": {"certPem": IMPORTED[2][0], "keyPem": IMPORTED[2][1]}}
    return config


def state_run(base: dict, state: str, imported: bool = False) -> Run:
    secret = {"secret_keys": ["rootCa", "rootCas"]} if imported else {}
    run = cached_run(state_config(base, state, imported), **secret)
    assert run.error is None, run.error
    return run


# --- loopback servers and fake clusters, for verify ----------------------------------------------


@contextmanager
def loopback_server(handler):
    """An HTTP server on 127.0.0.1 with `handler`, for as long as the block runs; yields its URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll: shutdown() waits for it, once per server and test.
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


OBJECTS = {
    "/apis/apps/v1/namespaces/istio-system/deployments/istiod/status": {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "istiod"},
        "spec": {"replicas": 2, "selector": {}, "template": {}},
        "status": {"readyReplicas": 1},
    },
    "/api/v1/namespaces/istio-system/services/istio-eastwestgateway": {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"name": "istio-eastwestgateway"},
        "status": {"loadBalancer": {"ingress": [{"hostname": "k8s-istiosys-abc.elb.us-east-1.amazonaws.com"}]}},
    },
}


# The sample Deployments (and istiod) of each fake cluster (a kubeconfig server `…/clusters/<name>`):
# name -> replicas, which the scale subresource sets and the status reports as all ready.
DEPLOYMENTS: dict[str, dict[str, int]] = {}
SCALED: list[tuple[str, str, int]] = []
_DEPLOYMENT = re.compile(
    r"^(?:/clusters/(?P<cluster>[^/]+))?/apis/apps/v1/namespaces/(?:sample|istio-system)/deployments/(?P<name>[^/]+)/(?P<sub>status|scale)$"
)


class FakeApiServer(BaseHTTPRequestHandler):
    """A Kubernetes API server as the official client sees it: `OBJECTS`, the remote secrets, and
    the Deployments of `DEPLOYMENTS` (scaling recorded in `SCALED`)."""

    token = "reader-token"

    def do_PATCH(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        match = _DEPLOYMENT.match(urlparse(self.path).path)
        deployments = DEPLOYMENTS.get(match["cluster"], {}) if match and match["sub"] == "scale" else {}
        if match is None or match["name"] not in deployments:
            return self._send(404, {"kind": "Status", "code": 404, "reason": "NotFound"})
        deployments[match["name"]] = body["spec"]["replicas"]
        SCALED.append((match["cluster"], match["name"], body["spec"]["replicas"]))
        return self._send(
            200, {"kind": "Scale", "apiVersion": "autoscaling/v1", "spec": {"replicas": body["spec"]["replicas"]}}
        )

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(401, {"kind": "Status", "code": 401, "reason": "Unauthorized"})
        match = _DEPLOYMENT.match(url.path)
        if match and match["sub"] == "status" and match["name"] in DEPLOYMENTS.get(match["cluster"], {}):
            replicas = DEPLOYMENTS[match["cluster"]][match["name"]]
            return self._send(
                200,
                {
                    "kind": "Deployment",
                    "apiVersion": "apps/v1",
                    "metadata": {"name": match["name"]},
                    "spec": {"replicas": replicas, "selector": {}, "template": {}},
                    "status": {"readyReplicas": replicas},
                },
            )
        if url.path == "/api/v1/namespaces/istio-system/secrets":
            assert parse_qs(url.query)["labelSelector"] == ["istio/multiCluster=true"]
            secrets = [
                {
                    "metadata": {
                        "name": "istio-remote-secret-west",
                        "annotations": {"networking.istio.io/cluster": "west"},
                    }
                },
                {"metadata": {"name": "istio-remote-secret-north"}},
            ]
            return self._send(200, {"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": secrets})
        if url.path in OBJECTS:
            return self._send(200, OBJECTS[url.path])
        return self._send(404, {"kind": "Status", "code": 404, "reason": "NotFound"})

    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def kube_target(server: str, token: str = "reader-token", name: str = "east", **fields) -> ClusterTarget:
    """A verify target whose kubeconfig points at `server` (a `FakeApiServer`) with `token`."""
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "east", "cluster": {"server": server}}],
        "contexts": [{"name": "east", "context": {"cluster": "east", "user": "east"}}],
        "current-context": "east",
        "users": [{"name": "east", "user": {"token": token}}],
    }
    return ClusterTarget(
        **{"name": name, "kubeconfig": kubeconfig, "endpoint": server, "sample_version": "v1", **fields}
    )


class FakeCluster:
    """Answers like a cluster of a mesh. Only the objects a real cluster of its role has exist;
    helloworld answers come from `reaches`, picked at random as a load balancer would."""

    def __init__(
        self,
        name,
        peers,
        reaches,
        *,
        role="primary",
        gateway=True,
        address="nlb.example",
        unreachable=False,
        slow=False,
    ):
        self.name, self.peers, self.reaches = name, peers, reaches
        self.address, self.unreachable, self.slow = address, unreachable, slow
        # Every cluster runs istiod; a remote's only injects and validates.
        self.deployments = {("sample", "sleep"): (1, 1), ("istio-system", "istiod"): (1, 1)}
        if gateway:
            self.deployments[("istio-system", "istio-eastwestgateway")] = (1, 1)
        self.random = random.Random(name)

    def deployment_status(self, namespace, name):
        if self.unreachable:
            raise Unreachable("connect timeout")
        return self.deployments.get((namespace, name))

    def service_addresses(self, namespace, name):
        if ("istio-system", "istio-eastwestgateway") not in self.deployments:
            return None
        return [self.address] if self.address else []

    def remote_secret_clusters(self):
        return list(self.peers)

    def run_in_deployment(self, namespace, app, command, timeout):
        assert (namespace, app) == ("sample", "sleep") and "helloworld.sample:5000/hello" in command[-1]
        if self.slow:
            raise TimedOut("still running")
        count = int(command[-1].split("seq ")[1].split(")")[0])
        return "".join(
            f"Hello version: {self.random.choice(self.reaches)}, instance: helloworld-{i}\n" for i in range(count)
        )


# --- a fake Amazon Managed Service for Prometheus workspace, for verify's metrics checks ----------

_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9]+)"
    r"/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)
# The two query shapes verify sends: a selector, and a sum by labels of a selector's increase.
_QUERY = re.compile(
    r"(?:sum by \((?P<by>[a-z_, ]*)\) \(increase\()?(?P<name>[a-z_]+)\{(?P<matchers>[^}]*)\}(?:\[1h\]\)\))?"
)


class FakeAmp:
    """One workspace's query API (`/workspaces/<id>/api/v1/query`) in `region`: it refuses a request
    that is not SigV4 for service aps in its region signed with `credentials` (as AWS words it), and
    answers from `series` ((metric name, labels, value) each; for `increase`, the value is the
    increase). `failure` = (status, x-amzn-ErrorType, message) answers every request instead."""

    def __init__(self, region: str, credentials, series=(), workspace: str = "ws-0123"):
        self.region, self.credentials, self.series = region, credentials, list(series)
        self.workspace, self.failure, self.queries = workspace, None, []

    def _refusal(self, method: str, url: str, params: list, headers: dict):
        from verify.sigv4 import sign

        match = _SIGV4.fullmatch(headers.get("authorization", ""))
        if match is None or match["service"] != "aps" or match["region"] != self.region:
            return 403, "IncompleteSignatureException", "Authorization header requires SigV4 for aps in " + self.region
        signed = match["signed"].split(";")
        if not {"host", "x-amz-date"} <= set(signed) or match["date"] != headers.get("x-amz-date", "")[:8]:
            return 403, "IncompleteSignatureException", "the signature must cover host and x-amz-date"
        if match["key"] != self.credentials.access_key:
            return 403, "UnrecognizedClientException", "The security token included in the request is invalid."
        if self.credentials.token and headers.get("x-amz-security-token") != self.credentials.token:
            return 403, "UnrecognizedClientException", "The security token included in the request is invalid."
        when = datetime.datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        others = {k: headers[k] for k in signed if k not in ("host", "x-amz-date", "x-amz-security-token")}
        expected = sign(method, url, params, others, self.credentials, self.region, "aps", when)["Authorization"]
        if expected != headers["authorization"]:
            return (
                403,
                "InvalidSignatureException",
                (
                    "The request signature we calculated does not match the signature you provided. Check your AWS"
                    " Secret Access Key and signing method."
                ),
            )
        return None

    def evaluate(self, promql: str):
        match = _QUERY.fullmatch(promql)
        if match is None:
            return None
        wanted = dict(re.findall(r'([a-z_]+)="([^"]*)"', match["matchers"]))
        found = [
            (labels, value)
            for name, labels, value in self.series
            if name == match["name"] and all(labels.get(k) == v for k, v in wanted.items())
        ]
        if match["by"] is None:
            return [
                {"metric": {"__name__": match["name"], **labels}, "value": [1.0, str(value)]} for labels, value in found
            ]
        by = [b.strip() for b in match["by"].split(",")]
        sums: dict = {}
        for labels, value in found:
            key = tuple(labels.get(b, "") for b in by)
            sums[key] = sums.get(key, 0) + value
        return [{"metric": dict(zip(by, key, strict=True)), "value": [1.0, str(v)]} for key, v in sums.items()]

    def handler(self):
        amp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict, error_type: str | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if error_type:
                    self.send_header("x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/coral/")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                parsed = urlparse(self.path)
                params = [(k, v) for k, values in parse_qs(parsed.query).items() for v in values]
                headers = {k.lower(): v for k, v in self.headers.items()}
                refusal = amp._refusal("GET", f"http://{headers['host']}{parsed.path}", params, headers)
                if refusal is None and amp.failure is not None:
                    refusal = amp.failure
                if refusal is not None:
                    status, error_type, message = refusal
                    return self._send(status, {"message": message}, error_type)
                if parsed.path != f"/workspaces/{amp.workspace}/api/v1/query":
                    return self._send(404, {"message": "Workspace not found"}, "ResourceNotFoundException")
                query = dict(params).get("query", "")
                amp.queries.append(query)
                result = amp.evaluate(query)
                if result is None:
                    return self._send(400, {"status": "error", "errorType": "bad_data", "error": "parse error"})
                return self._send(200, {"status": "success", "data": {"resultType": "vector", "result": result}})

        return Handler


def mesh_series(clusters: dict[str, str], requests: int = 30, failed: dict | None = None) -> dict[str, list]:
    """Per region, what a healthy mesh's collectors wrote: every target up, and each cluster's callers'
    requests of the last hour spread over every cluster (`failed`: (source, destination) -> 5xx count).
    `clusters` is cluster name -> region."""
    failed = failed or {}
    series: dict[str, list] = {region: [] for region in clusters.values()}
    for name, region in clusters.items():
        for job, pods in (("istiod", 2), ("kubernetes-apiservers", 2), ("eastwest-gateway", 1), ("istio-proxies", 3)):
            for pod in range(pods):
                series[region].append(("up", {"cluster": name, "job": job, "pod": f"{job}-{pod}"}, 1))
        for destination in clusters:
            labels = {"reporter": "source", "source_cluster": name, "destination_cluster": destination}
            bad = failed.get((name, destination), 0)
            series[region].append(("istio_requests_total", {**labels, "response_code": "200"}, requests - bad))
            if bad:
                series[region].append(("istio_requests_total", {**labels, "response_code": "503"}, bad))
            # The destination's sidecar reports the same requests: verify must not count them twice.
            series[region].append(
                ("istio_requests_total", {**labels, "reporter": "destination", "response_code": "200"}, requests)
            )
    return series
