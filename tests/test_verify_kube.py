"""The real `ClusterApi` against a fake Kubernetes API server on loopback: the official client's
requests, paths and label selectors, and how errors become verify's messages."""

from __future__ import annotations

import json
import re
import socket
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import loopback_server
from verify.checks import ClusterTarget, Unreachable
from verify.kube import KubernetesClusterApi

OBJECTS = {
    "/apis/apps/v1/namespaces/istio-system/deployments/istiod/status": {
        "kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "istiod"},
        "spec": {"replicas": 2, "selector": {}, "template": {}}, "status": {"readyReplicas": 1},
    },
    "/api/v1/namespaces/istio-system/services/istio-eastwestgateway": {
        "kind": "Service", "apiVersion": "v1", "metadata": {"name": "istio-eastwestgateway"},
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
    token = "reader-token"

    def do_PATCH(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        match = _DEPLOYMENT.match(urlparse(self.path).path)
        deployments = DEPLOYMENTS.get(match["cluster"], {}) if match and match["sub"] == "scale" else {}
        if match is None or match["name"] not in deployments:
            return self._send(404, {"kind": "Status", "code": 404, "reason": "NotFound"})
        deployments[match["name"]] = body["spec"]["replicas"]
        SCALED.append((match["cluster"], match["name"], body["spec"]["replicas"]))
        return self._send(200, {"kind": "Scale", "apiVersion": "autoscaling/v1", "spec": {"replicas": body["spec"]["replicas"]}})

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(401, {"kind": "Status", "code": 401, "reason": "Unauthorized"})
        match = _DEPLOYMENT.match(url.path)
        if match and match["sub"] == "status" and match["name"] in DEPLOYMENTS.get(match["cluster"], {}):
            replicas = DEPLOYMENTS[match["cluster"]][match["name"]]
            return self._send(200, {
                "kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": match["name"]},
                "spec": {"replicas": replicas, "selector": {}, "template": {}}, "status": {"readyReplicas": replicas},
            })
        if url.path == "/api/v1/namespaces/istio-system/secrets":
            assert parse_qs(url.query)["labelSelector"] == ["istio/multiCluster=true"]
            secrets = [
                {"metadata": {"name": "istio-remote-secret-west", "annotations": {"networking.istio.io/cluster": "west"}}},
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


@pytest.fixture(scope="module")
def server():
    with loopback_server(FakeApiServer) as url:
        yield url


def target(server: str, token: str = "reader-token", name: str = "east", **fields) -> ClusterTarget:
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "east", "cluster": {"server": server}}],
        "contexts": [{"name": "east", "context": {"cluster": "east", "user": "east"}}],
        "current-context": "east",
        "users": [{"name": "east", "user": {"token": token}}],
    }
    return ClusterTarget(**{"name": name, "kubeconfig": kubeconfig, "endpoint": server, "sample_version": "v1", **fields})


def test_reads_deployments_services_and_remote_secrets(server):
    api = KubernetesClusterApi(target(server))
    assert api.deployment_status("istio-system", "istiod") == (1, 2)
    assert api.deployment_status("sample", "sleep") is None
    assert api.service_addresses("istio-system", "istio-eastwestgateway") == ["k8s-istiosys-abc.elb.us-east-1.amazonaws.com"]
    assert api.service_addresses("istio-system", "missing") is None
    assert sorted(api.remote_secret_clusters()) == ["north", "west"]


def test_access_denied_names_the_likely_causes(server):
    api = KubernetesClusterApi(target(server, token="wrong"))
    with pytest.raises(Unreachable, match="access denied \\(401\\).*AWS CLI"):
        api.deployment_status("istio-system", "istiod")


def test_a_closed_port_is_unreachable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = KubernetesClusterApi(target(f"http://127.0.0.1:{port}"))
    with pytest.raises(Unreachable):
        api.deployment_status("istio-system", "istiod")


@pytest.mark.parametrize(
    "kubeconfig",
    [
        {},
        {"clusters": [], "users": []},
        {"apiVersion": "v1", "kind": "Config", "current-context": "east", "contexts": [{"name": "east", "context": {"cluster": "nope", "user": "east"}}]},
    ],
    ids=["empty", "no-context", "unknown-cluster"],
)
def test_an_unusable_kubeconfig_is_unreachable_not_a_crash(kubeconfig):
    with pytest.raises(Unreachable, match="cannot load the kubeconfig"):
        KubernetesClusterApi(ClusterTarget(name="east", kubeconfig=kubeconfig, endpoint="https://e", sample_version=None))


def test_a_failing_token_plugin_is_unreachable_not_a_crash(server):
    # What `aws eks get-token` does without the AWS CLI: the exec plugin cannot run.
    config = target(server).kubeconfig
    config["users"] = [{"name": "east", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "/nonexistent/aws", "args": ["eks", "get-token"]}}}]
    with pytest.raises(Unreachable):
        api = KubernetesClusterApi(ClusterTarget(name="east", kubeconfig=config, endpoint=server, sample_version=None))
        api.deployment_status("istio-system", "istiod")
