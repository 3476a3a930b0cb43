"""The real `ClusterApi` against a fake Kubernetes API server on loopback: the official client's
requests, paths and label selectors, and how errors become verify's messages. The server is
`tests.helpers.FakeApiServer`, served by conftest's `api_server` fixture."""

from __future__ import annotations

import socket

import pytest
import urllib3
from kubernetes.config.config_exception import ConfigException

from tests.helpers import kube_target
from verify.checks import ClusterTarget, Unreachable, unreachable_detail
from verify.kube import KubernetesClusterApi, transport_cause


def test_reads_deployments_services_and_remote_secrets(api_server):
    api = KubernetesClusterApi(kube_target(api_server))
    assert api.deployment_status("istio-system", "istiod") == (1, 2)
    assert api.deployment_status("sample", "sleep") is None
    assert api.service_addresses("istio-system", "istio-eastwestgateway") == [
        "k8s-istiosys-abc.elb.us-east-1.amazonaws.com"
    ]
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
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "east",
            "contexts": [{"name": "east", "context": {"cluster": "nope", "user": "east"}}],
        },
    ],
    ids=["empty", "no-context", "unknown-cluster"],
)
def test_an_unusable_kubeconfig_is_unreachable_not_a_crash(kubeconfig):
    with pytest.raises(Unreachable, match="cannot load the kubeconfig"):
        KubernetesClusterApi(
            ClusterTarget(name="east", kubeconfig=kubeconfig, endpoint="https://e", sample_version=None)
        )


def test_a_failing_token_plugin_is_unreachable_not_a_crash(api_server):
    # What `aws eks get-token` does without the AWS CLI: the exec plugin cannot run.
    config = kube_target(api_server).kubeconfig
    config["users"] = [
        {
            "name": "east",
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "/nonexistent/aws",
                    "args": ["eks", "get-token"],
                }
            },
        }
    ]
    with pytest.raises(Unreachable):
        api = KubernetesClusterApi(
            ClusterTarget(name="east", kubeconfig=config, endpoint=api_server, sample_version=None)
        )
        api.deployment_status("istio-system", "istiod")


def _raised(outer: BaseException, inner: BaseException) -> BaseException:
    """`outer` raised while handling `inner`, as urllib3 and the client chain them."""
    try:
        try:
            raise inner
        except BaseException as err:
            raise outer from err
    except BaseException as err:
        return err


@pytest.mark.parametrize(
    "err, cause",
    [
        # What the client raises, with what it wraps, for each way the API server can be out of reach.
        (
            _raised(
                urllib3.exceptions.MaxRetryError(
                    None, "/api", "Failed to resolve 'abc.gr7.us-east-1.eks.amazonaws.com'"
                ),
                socket.gaierror(-2, "Name or service not known"),
            ),
            "dns",
        ),
        (
            ConfigException(
                "exec: process returned 255. Unable to locate credentials. You can configure credentials by"
                ' running "aws configure".'
            ),
            "credentials",
        ),
        (
            _raised(
                urllib3.exceptions.MaxRetryError(None, "/api", "Connection to abc.eks.amazonaws.com timed out"),
                urllib3.exceptions.ConnectTimeoutError(),
            ),
            "network",
        ),
        (ConnectionRefusedError(111, "Connection refused"), "network"),
    ],
    ids=["dns", "credentials", "timeout", "refused"],
)
def test_each_failure_is_named_by_its_cause(err, cause):
    assert transport_cause(err) == cause


def test_verify_names_the_cause_and_its_first_check():
    detail = unreachable_detail(
        "https://abc.eks.amazonaws.com", Unreachable("Failed to resolve 'abc.eks.amazonaws.com'", cause="dns")
    )
    assert "(dns)" in detail and "DNS" in detail and "apiAccessCidrs" not in detail
    assert "apiAccessCidrs" in unreachable_detail("https://e", Unreachable("timed out"))
