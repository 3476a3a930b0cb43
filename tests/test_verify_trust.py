"""`verify`'s trust check against a fake Kubernetes API server on loopback, with the real
certificates of a rotation (the states in tests/helpers.py that tests/test_rotation.py checks):
what it accepts as ready for the next step, and what it names when a cluster is not there yet."""

from __future__ import annotations

import base64
import datetime
import json
from http.server import BaseHTTPRequestHandler

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from components.model.kubeconfig import kubeconfig_document
from tests.harness import resolve
from tests.helpers import MULTI_PRIMARY, NOW, cacerts, loopback_server, state_run
from tests.mocks import _load_key as load_key
from verify.checks import ClusterTarget
from verify.cli import main
from verify.kube import KubernetesClusterApi
from verify.trust import SECRETS_DUMP, TrustOutputError, check_trust, trust_from_outputs


class Cluster(BaseHTTPRequestHandler):
    """Serves whatever `objects` (path -> JSON object) holds; 404 for everything else."""

    objects: dict[str, dict] = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        body = self.objects.get(self.path.split("?")[0])
        data = json.dumps(body or {"kind": "Status", "code": 404, "reason": "NotFound"}).encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    with loopback_server(Cluster) as url:
        yield url


def files_of(state: str, cluster: str = "c0") -> dict[str, str]:
    return cacerts(state_run(MULTI_PRIMARY, state))[cluster]


def outputs_of(state: str) -> dict:
    run = state_run(MULTI_PRIMARY, state)
    return {key: resolve(run.exports[key])[0] for key in ("rootCertPem", "signingRootCertPem")}


def workload_chain(files: dict[str, str]) -> str:
    """What istiod hands a proxy: a leaf from the intermediate, then cert-chain.pem."""
    ca = x509.load_pem_x509_certificate(files["ca-cert.pem"].encode())
    ca_key = load_key(files["ca-key.pem"])
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "w")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(hours=24))
        .sign(ca_key, hashes.SHA256())
    )
    return leaf.public_bytes(serialization.Encoding.PEM).decode() + files["cert-chain.pem"]


def envoy_dump(chain: str, trusted: str) -> str:
    """Envoy's `config_dump?resource=dynamic_active_secrets`, private key redacted as Envoy does."""
    b64 = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
    return json.dumps(
        {
            "configs": [
                {
                    "@type": "type.googleapis.com/envoy.admin.v3.SecretsConfigDump.DynamicSecret",
                    "name": "default",
                    "secret": {
                        "name": "default",
                        "tls_certificate": {
                            "certificate_chain": {"inline_bytes": b64(chain)},
                            "private_key": {"inline_bytes": b64("[redacted]")},
                        },
                    },
                },
                {
                    "@type": "type.googleapis.com/envoy.admin.v3.SecretsConfigDump.DynamicSecret",
                    "name": "ROOTCA",
                    "secret": {"name": "ROOTCA", "validation_context": {"trusted_ca": {"inline_bytes": b64(trusted)}}},
                },
            ]
        }
    )


def serve(cacerts_state: str, config_map_state: str) -> None:
    """The cluster's objects: cacerts as of one state, istio-ca-root-cert as istiod last wrote it."""
    data = {k: base64.b64encode(v.encode()).decode() for k, v in files_of(cacerts_state).items()}
    bundle = files_of(config_map_state)["root-cert.pem"]
    Cluster.objects = {
        "/api/v1/namespaces/istio-system/secrets/cacerts": {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "cacerts"},
            "data": data,
        },
        "/api/v1/namespaces/istio-system/configmaps/istio-ca-root-cert": {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"name": "istio-ca-root-cert"},
            "data": {"root-cert.pem": bundle},
        },
        "/apis/apps/v1/namespaces/istio-system/deployments/istiod/status": {
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {"name": "istiod"},
            "spec": {"replicas": 1, "selector": {}, "template": {}},
            "status": {"readyReplicas": 1},
        },
        "/apis/apps/v1/namespaces/sample/deployments/sleep/status": {
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {"name": "sleep"},
            "spec": {"replicas": 1, "selector": {}, "template": {}},
            "status": {"readyReplicas": 1},
        },
    }


def api_for(server: str, proxy_state: str, role: str = "primary") -> tuple[ClusterTarget, KubernetesClusterApi]:
    """The real client against the fake server; exec (a websocket the fake does not speak) answers
    with the dump of a proxy whose certificate and bundle are those of `proxy_state`."""
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c0",
        "clusters": [{"name": "c0", "cluster": {"server": server}}],
        "contexts": [{"name": "c0", "context": {"cluster": "c0", "user": "c0"}}],
        "users": [{"name": "c0", "user": {"token": "t"}}],
    }
    target = ClusterTarget(name="c0", kubeconfig=kubeconfig, endpoint=server, sample_version="v1", role=role)
    api = KubernetesClusterApi(target)
    proxy = files_of(proxy_state)
    dump = envoy_dump(workload_chain(proxy), proxy["root-cert.pem"])

    def run_in_deployment(namespace, app, command, timeout):
        if command == SECRETS_DUMP:
            return dump
        return "".join(f"Hello version: v{1 + i % 2}, instance: helloworld-{i}\n" for i in range(40))

    api.run_in_deployment = run_in_deployment
    return target, api


def by_check(results) -> dict[str, tuple[bool, str]]:
    return {r.check: (r.passed, r.detail) for r in results}


@pytest.mark.parametrize("state", ["start", "trust both", "sign with 2", "drop 1"])
def test_a_cluster_that_has_reached_the_state_passes(server, state):
    serve(state, state)
    target, api = api_for(server, state)
    results = by_check(check_trust(target, api, trust_from_outputs(outputs_of(state)), timeout=30))
    assert set(results) == {"cacerts roots", "cacerts signer", "istio-ca-root-cert", "workload certificate"}
    assert all(passed for passed, _ in results.values()), results
    # Never any key material or PEM text in what it prints.
    assert not any("PRIVATE" in d or "BEGIN" in d for _, d in results.values())


def test_after_step_1_an_istiod_that_has_not_restarted_is_named(server):
    # cacerts already holds both roots; istiod (not restarted) still publishes root 1 alone.
    serve("trust both", "start")
    target, api = api_for(server, "start")
    results = by_check(check_trust(target, api, trust_from_outputs(outputs_of("trust both")), timeout=30))
    assert results["cacerts roots"][0] and results["cacerts signer"][0]
    assert not results["istio-ca-root-cert"][0] and "lacks Root CA 2" in results["istio-ca-root-cert"][1]
    assert not results["workload certificate"][0] and "lacks Root CA 2" in results["workload certificate"][1]


def test_after_step_2_proxies_with_old_certificates_hold_up_step_3(server):
    serve("sign with 2", "sign with 2")
    target, api = api_for(server, "trust both")
    results = by_check(check_trust(target, api, trust_from_outputs(outputs_of("sign with 2")), timeout=30))
    assert results["cacerts signer"][0] and "Root CA 2" in results["cacerts signer"][1]
    passed, detail = results["workload certificate"]
    assert not passed and "not issued by this cluster's intermediate yet" in detail


def test_a_stale_cacerts_is_named(server):
    serve("trust both", "trust both")
    target, api = api_for(server, "trust both")
    results = by_check(check_trust(target, api, trust_from_outputs(outputs_of("drop 1")), timeout=30))
    assert not results["cacerts roots"][0] and "still holds Root CA (" in results["cacerts roots"][1]
    assert not results["cacerts signer"][0] and "has `pulumi up` finished?" in results["cacerts signer"][1]


def test_a_remote_workload_is_checked_against_the_signing_root(server):
    # A remote's proxies get certificates from the primary's intermediate, not its own cacerts.
    serve("sign with 2", "sign with 2")
    target, api = api_for(server, "sign with 2", role="remote")
    from_primary = envoy_dump(workload_chain(files_of("sign with 2", "c1")), files_of("sign with 2")["root-cert.pem"])
    api.run_in_deployment = lambda *a: from_primary
    results = by_check(check_trust(target, api, trust_from_outputs(outputs_of("sign with 2")), timeout=30))
    assert results["workload certificate"][0], results["workload certificate"]
    old = envoy_dump(workload_chain(files_of("trust both", "c1")), files_of("trust both")["root-cert.pem"])
    api.run_in_deployment = lambda *a: old
    assert not by_check(check_trust(target, api, trust_from_outputs(outputs_of("sign with 2")), timeout=30))[
        "workload certificate"
    ][0]


def test_the_cli_runs_the_trust_check_when_the_outputs_carry_the_roots(server, tmp_path, capsys):
    serve("trust both", "trust both")
    clusters = {
        "c0": {
            "kubeconfig": json.dumps(kubeconfig_document("c0", server, "Y2E=", {"token": "t"})),
            "endpoint": server,
            "role": "primary",
            "eastWestAddress": None,
            "sampleVersion": "v1",
        }
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({**outputs_of("trust both"), "clusters": clusters}))
    assert main(["--outputs", str(path)], connect=lambda t: api_for(server, "trust both")[1]) == 0
    table = capsys.readouterr().out.splitlines()
    for check in ("cacerts roots", "cacerts signer", "istio-ca-root-cert", "workload certificate", "traffic"):
        assert any(f" {check} " in line and " pass " in line for line in table), table


ROOT_1, ROOT_2 = "start", "drop 1"
BAD_OUTPUTS = [
    (lambda: {"rootCertPem": "not a certificate"}, "rootCertPem holds no readable PEM"),
    (lambda: {"rootCertPem": 5}, "rootCertPem is not a PEM text"),
    (
        lambda: {
            "rootCertPem": outputs_of(ROOT_1)["rootCertPem"],
            "signingRootCertPem": outputs_of(ROOT_2)["signingRootCertPem"],
        },
        "is not one of the roots",
    ),
]


@pytest.mark.parametrize(("make", "fragment"), BAD_OUTPUTS, ids=[f for _, f in BAD_OUTPUTS])
def test_unusable_root_outputs_stop_verify_before_any_cluster(make, fragment, tmp_path, capsys):
    outputs = make()
    with pytest.raises(TrustOutputError, match=fragment):
        trust_from_outputs(outputs)
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps(
            {
                **outputs,
                "clusters": {
                    "c0": {
                        "kubeconfig": json.dumps(kubeconfig_document("c0", "https://x", "Y2E=", {"token": "t"})),
                        "endpoint": "https://x",
                    }
                },
            }
        )
    )
    assert main(["--outputs", str(path)], connect=lambda t: pytest.fail("no cluster may be contacted")) == 2
    assert fragment in capsys.readouterr().err


def test_outputs_without_roots_skip_the_trust_check():
    assert trust_from_outputs({"clusters": {}}) is None
    assert trust_from_outputs([]) is None


def test_a_cluster_without_the_objects_says_which_is_missing(server):
    Cluster.objects = {}
    target, api = api_for(server, "start")
    results = by_check(check_trust(target, api, trust_from_outputs(outputs_of("start")), timeout=30))
    assert results["cacerts roots"] == (False, "secret istio-system/cacerts not found")
    assert results["istio-ca-root-cert"] == (False, "configmap istio-system/istio-ca-root-cert not found")
    assert not results["cacerts signer"][0]
    assert not results["workload certificate"][0] and "deploySamples" in results["workload certificate"][1]


@pytest.mark.parametrize(
    "dump",
    ["curl: (7) Failed to connect to localhost port 15000", "{}", '{"configs": [{"name": "default", "secret": {}}]}'],
)
def test_a_proxy_without_a_readable_certificate_is_named(server, dump):
    serve("start", "start")
    target, api = api_for(server, "start")
    api.run_in_deployment = lambda *a: dump
    passed, detail = by_check(check_trust(target, api, trust_from_outputs(outputs_of("start")), timeout=30))[
        "workload certificate"
    ]
    assert not passed and "shows no workload certificate" in detail
