"""Cross-cluster discovery: one remote secret per ordered pair, each a kubeconfig istiod accepts."""

from __future__ import annotations

import base64
import itertools

import pytest
import yaml
from kubernetes import client, config

from tests.harness import Run, cached_run, resolve, unwrap
from tests.helpers import mesh_config
from tests.mocks import cluster_ca

SECRET = "kubernetes:core/v1:Secret"


def remote_secrets(run: Run):
    return [s for s in run.of_type(SECRET) if s.inputs["metadata"]["name"].startswith("istio-remote-secret-")]


def owner(run: Run, secret) -> str:
    """The cluster whose API server a Secret is written to, from its Kubernetes provider."""
    return run._by_urn[secret.provider_urn].name.removesuffix("-k8s")


@pytest.mark.parametrize("count", [2, 3, 6])
def test_every_ordered_pair_has_exactly_one_remote_secret(count):
    run = cached_run(mesh_config(count))
    assert run.error is None, run.error
    names = [f"c{i}" for i in range(count)]
    found = {}
    for s in remote_secrets(run):
        meta = s.inputs["metadata"]
        peer = meta["name"].removeprefix("istio-remote-secret-")
        pair = (owner(run, s), peer)
        assert pair not in found, f"two secrets for {pair}"
        found[pair] = s
        assert meta["namespace"] == "istio-system"
        assert meta["labels"] == {"istio/multiCluster": "true"}
        assert meta["annotations"] == {"networking.istio.io/cluster": peer}
        assert list(s.inputs["stringData"]) == [peer]
    assert set(found) == {(a, b) for a, b in itertools.permutations(names, 2)}

    tokens = [s for s in run.of_type(SECRET) if s.inputs.get("type") == "kubernetes.io/service-account-token"]
    assert sorted(owner(run, t) for t in tokens) == names
    for t in tokens:
        assert t.inputs["metadata"] == {
            "name": "istio-reader-service-account-istio-remote-secret-token",
            "namespace": "istio-system",
            "annotations": {"kubernetes.io/service-account.name": "istio-reader-service-account"},
        }
        assert run.depends_on(t, run.one("kubernetes:helm.sh/v3:Release", f"{owner(run, t)}-istio-base"))


def test_only_remote_secrets_grow_faster_than_the_cluster_count():
    def per_cluster(count: int) -> float:
        run = cached_run(mesh_config(count))
        pairs = count * (count - 1)
        pair_resources = [r for r in run.resources if "-remote-secret-" in r.name]
        assert len(pair_resources) == 2 * pairs  # a component and its Secret per pair
        shared = (
            len(run.of_type("pulumi:providers:aws"))
            + len(run.of_type("istio-eks-mesh:mesh:IstioMesh"))
            + len(run.descendants(run.one("istio-eks-mesh:pki:RootCa", "root-ca")))
            + 1
        )
        return (len(run.resources) - len(pair_resources) - shared) / count

    assert per_cluster(2) == per_cluster(3) == per_cluster(6)


def test_each_kubeconfig_loads_offline_and_points_at_the_peer():
    run = cached_run(mesh_config(3))
    tokens = {
        owner(run, t): base64.b64decode(unwrap(t.outputs["data"])["token"]).decode()
        for t in run.of_type(SECRET)
        if t.inputs.get("type") == "kubernetes.io/service-account-token"
    }
    assert len(set(tokens.values())) == 3
    for s in remote_secrets(run):
        peer = s.inputs["metadata"]["annotations"]["networking.istio.io/cluster"]
        assert s.is_secret("stringData")
        raw = s.inputs["stringData"][peer]
        kubeconfig = yaml.safe_load(raw)
        # Names and shape as `istioctl create-remote-secret` writes them; nothing istiod rejects.
        assert [c["name"] for c in kubeconfig["clusters"]] == [peer]
        assert kubeconfig["contexts"] == [{"name": peer, "context": {"cluster": peer, "user": peer}}]
        assert kubeconfig["current-context"] == peer
        assert kubeconfig["users"] == [{"name": peer, "user": {"token": tokens[peer]}}]

        loaded = client.Configuration()
        config.load_kube_config_from_dict(kubeconfig, client_configuration=loaded, persist_config=False)
        assert loaded.host.startswith("https://") and loaded.host.endswith(".eks.amazonaws.com")
        assert loaded.api_key == {"BearerToken": f"Bearer {tokens[peer]}"}
        with open(loaded.ssl_ca_cert) as f:
            assert f.read() == cluster_ca(f"{peer}-dev")[0]
        # The peer's endpoint, not the local one.
        assert loaded.host == _endpoint_of(run, peer)
        assert loaded.host != _endpoint_of(run, owner(run, s))


def _endpoint_of(run: Run, cluster: str) -> str:
    return resolve(run.exports["clusters"][cluster]["endpoint"])[0]


def test_every_remote_secret_waits_for_the_peers_token(two_cluster_run):
    run = two_cluster_run
    for s in remote_secrets(run):
        peer = s.inputs["metadata"]["annotations"]["networking.istio.io/cluster"]
        token = run.one(SECRET, f"{peer}-reader-token-secret")
        assert token.urn in s.property_dependencies["stringData"]
        assert run.depends_on(s, token)


@pytest.mark.parametrize("count", [2, 6])
def test_every_api_endpoint_admits_every_peers_nat_addresses(count):
    run = cached_run(mesh_config(count))
    for local in range(count):
        cidrs = set(run.one("eks:index:Cluster", f"c{local}-eks").inputs["publicAccessCidrs"])
        for peer in range(count):
            for eip in run.of_type("aws:ec2/eip:Eip"):
                if eip.name.startswith(f"c{peer}-network-"):
                    assert f"{eip.outputs['publicIp']}/32" in cidrs
