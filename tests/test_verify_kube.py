"""The real `ClusterApi` against a fake Kubernetes API server on loopback: the official client's
requests, paths and label selectors, and how errors become verify's messages. The server is
`tests.helpers.FakeApiServer`, served by conftest's `api_server` fixture."""

from __future__ import annotations

import socket

import pytest

from tests.helpers import kube_target
from verify.checks import ClusterTarget, Unreachable
from verify.kube import KubernetesClusterApi


def test_reads_deployments_services_and_remote_secrets(api_server):
    api = KubernetesClusterApi(kube_target(api_server))
    assert api.deployment_status("istio-system", "istiod") == (1, 2)
    assert api.deployment_status("sample", "sleep") is None
    assert api.service_addresses("istio-system", "istio-eastwestgateway") == ["k8s-istiosys-abc.elb.us-east-1.amazonaws.com"]
    assert api.service_addresses("istio-system", "missing") is None
    assert sorted(api.remote_secret_clusters()) == ["north", "west"]


def test_access_denied_names_the_likely_causes(api_server):
    api = KubernetesClusterApi(kube_target(api_server, token="wrong"))
    with pytest.raises(Unreachable, match="access denied \\(401\\).*AWS CLI"):
        api.deployment_status("istio-system", "istiod")


def test_a_closed_port_is_unreachable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = KubernetesClusterApi(kube_target(f"http://127.0.0.1:{port}"))
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


def test_a_failing_token_plugin_is_unreachable_not_a_crash(api_server):
    # What `aws eks get-token` does without the AWS CLI: the exec plugin cannot run.
    config = kube_target(api_server).kubeconfig
    config["users"] = [{"name": "east", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "/nonexistent/aws", "args": ["eks", "get-token"]}}}]
    with pytest.raises(Unreachable):
        api = KubernetesClusterApi(ClusterTarget(name="east", kubeconfig=config, endpoint=api_server, sample_version=None))
        api.deployment_status("istio-system", "istiod")
