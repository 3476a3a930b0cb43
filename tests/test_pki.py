"""Mesh trust: the `cacerts` Secrets hold a real chain to one root, as istiod checks it."""

from __future__ import annotations

import datetime
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from tests.harness import Run, cached_run, resolve, run_program
from tests.helpers import NOW, SECRET, cacerts, make_cert, mesh_config, pem_certs
from tests.impact import change_impact


def public_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def assert_ca_profile(cert: x509.Certificate) -> None:
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and usage.digital_signature
    assert not (usage.key_agreement or usage.data_encipherment)
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)


@pytest.mark.parametrize("count", [2, 6])
def test_every_cluster_gets_its_own_intermediate_chained_to_one_root(count, tmp_path):
    run = cached_run(mesh_config(count))
    assert run.error is None, run.error
    secrets = cacerts(run)
    assert sorted(secrets) == sorted(f"c{i}" for i in range(count))
    root_pem, root_secret = resolve(run.exports["rootCertPem"])
    assert not root_secret  # the root certificate is public
    root = x509.load_pem_x509_certificate(root_pem.encode())
    assert_ca_profile(root)
    assert root.subject == root.issuer
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Root CA"
    assert (root.not_valid_after_utc - root.not_valid_before_utc).days == 3650
    assert isinstance(root.public_key(), rsa.RSAPublicKey) and root.public_key().key_size == 4096

    intermediates = set()
    for name, files in secrets.items():
        assert set(files) == {"ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"}
        assert files["root-cert.pem"] == root_pem
        cert = x509.load_pem_x509_certificate(files["ca-cert.pem"].encode())
        chain = pem_certs(files["cert-chain.pem"])
        # Intermediate first, then the root, each signed by the next.
        assert [c.fingerprint(hashes.SHA256()) for c in chain] == [
            cert.fingerprint(hashes.SHA256()),
            root.fingerprint(hashes.SHA256()),
        ]
        cert.verify_directly_issued_by(root)
        assert_ca_profile(cert)
        subject = {a.oid: a.value for a in cert.subject}
        assert subject[NameOID.COMMON_NAME] == "Intermediate CA" and subject[NameOID.LOCALITY_NAME] == name
        assert subject[NameOID.ORGANIZATION_NAME] == "Istio"
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == ["istiod.istio-system.svc"]
        assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 730
        # The mocks' keys come from cryptography itself; its RSA check (a third of a second a key)
        # would test cryptography, not what pairs the key with its certificate.
        key = serialization.load_pem_private_key(
            files["ca-key.pem"].encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
        assert public_der(key.public_key()) == public_der(cert.public_key())
        intermediates.add(cert.fingerprint(hashes.SHA256()))

        if shutil.which("openssl"):
            (tmp_path / "root.pem").write_text(files["root-cert.pem"])
            (tmp_path / "ca.pem").write_text(files["ca-cert.pem"])
            result = subprocess.run(
                ["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"), str(tmp_path / "ca.pem")],
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, result.stdout + result.stderr
    assert len(intermediates) == count


def test_root_key_stays_out_of_clusters_and_keys_are_secret(two_cluster_run):
    run = two_cluster_run
    root_key = run.one("tls:index/privateKey:PrivateKey", "root-ca-key")
    root_key_pem = root_key.outputs["privateKeyPem"]
    for s in run.of_type(SECRET):
        assert all(root_key_pem["value"] not in value for value in s.inputs.get("stringData", {}).values())
        if "stringData" in s.inputs:
            assert s.is_secret("stringData")
    for cert in run.of_type("tls:index/locallySignedCert:LocallySignedCert"):
        assert cert.is_secret("caPrivateKeyPem")
        assert cert.inputs["earlyRenewalHours"] == 30 * 24
        assert cert.inputs["isCaCertificate"] and "maxPathLength" not in cert.inputs
    for i in range(2):
        assert run.one(SECRET, f"c{i}-istio-cacerts").is_secret("stringData", "ca-key.pem")


def test_istio_system_is_a_resource_labelled_with_the_network(two_cluster_run):
    for i in range(2):
        ns = two_cluster_run.one("kubernetes:core/v1:Namespace", f"c{i}-istio-namespace")
        labels = {"topology.istio.io/network": f"network-c{i}", "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}
        assert ns.inputs["metadata"] == {"name": "istio-system", "labels": labels}
        secret = two_cluster_run.one(SECRET, f"c{i}-istio-cacerts")
        assert two_cluster_run.depends_on(secret, ns)
        assert secret.provider_urn == two_cluster_run.one("pulumi:providers:kubernetes", f"c{i}-k8s").urn


def test_pki_settings_shape_the_certificates():
    run = cached_run(
        mesh_config(
            1,
            pki={
                "organization": "Example Corp",
                "keyAlgorithm": "ECDSA",
                "intermediateValidityDays": 365,
                "earlyRenewalDays": 14,
            },
        )
    )
    assert run.error is None, run.error
    files = cacerts(run)["c0"]
    cert = x509.load_pem_x509_certificate(files["ca-cert.pem"].encode())
    root = x509.load_pem_x509_certificate(files["root-cert.pem"].encode())
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey) and cert.public_key().curve.name == "secp256r1"
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Example Corp"
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 365
    assert run.one("tls:index/locallySignedCert:LocallySignedCert", "c0-ca-cert").inputs["earlyRenewalHours"] == 14 * 24


# --- imported root ---------------------------------------------------------------------------------


def run_with_root(root_ca, secret=True) -> Run:
    return run_program(mesh_config(2, rootCa=root_ca), secret_keys=["rootCa"] if secret else [])


def test_a_good_imported_root_is_used_unchanged():
    cert_pem, key_pem = make_cert()
    run = run_with_root({"certPem": cert_pem, "keyPem": key_pem})
    assert run.error is None, run.error
    assert run.of_type("tls:index/selfSignedCert:SelfSignedCert") == []
    assert resolve(run.exports["rootCertPem"])[0] == cert_pem
    root = x509.load_pem_x509_certificate(cert_pem.encode())
    for files in cacerts(run).values():
        assert files["root-cert.pem"] == cert_pem
        x509.load_pem_x509_certificate(files["ca-cert.pem"].encode()).verify_directly_issued_by(root)
    for signed in run.of_type("tls:index/locallySignedCert:LocallySignedCert"):
        assert signed.is_secret("caPrivateKeyPem")


GOOD_CERT, GOOD_KEY = make_cert()
ED25519_KEY = (
    ed25519.Ed25519PrivateKey.generate()
    .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    .decode()
)
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Vault Parent Root")])
UNKNOWN_CRITICAL = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
BAD_ROOTS = [
    ({"certPem": "garbage", "keyPem": GOOD_KEY}, "rootCa.certPem", "not a PEM X.509 certificate"),
    ({"certPem": GOOD_CERT, "keyPem": "garbage"}, "rootCa.keyPem", "not an unencrypted PEM private key"),
    ({"certPem": make_cert(ca=False)[0], "keyPem": GOOD_KEY}, "rootCa.certPem", "not a CA certificate"),
    ({"certPem": make_cert(sign_usage=False)[0], "keyPem": GOOD_KEY}, "rootCa.certPem", "keyCertSign"),
    (
        {"certPem": make_cert(start=NOW - datetime.timedelta(days=400), days=30)[0], "keyPem": GOOD_KEY},
        "rootCa.certPem",
        "expired",
    ),
    ({"certPem": make_cert(days=100)[0], "keyPem": GOOD_KEY}, "rootCa.certPem", "before an intermediate"),
    ({"certPem": GOOD_CERT, "keyPem": make_cert()[1]}, "rootCa.keyPem", "does not match"),
    ({"certPem": GOOD_CERT}, "rootCa.keyPem", "is missing"),
    ({"keyPem": GOOD_KEY}, "rootCa.certPem", "is missing"),
    ("-----BEGIN CERTIFICATE-----", "rootCa", "must be an object"),
    ({"certPem": 12345, "keyPem": GOOD_KEY}, "rootCa.certPem", "must be a PEM text"),
    ({"certPem": GOOD_CERT, "keyPem": ["x"]}, "rootCa.keyPem", "must be a PEM text"),
    ({"certPem": GOOD_CERT, "keyPem": None}, "rootCa.keyPem", "is missing"),
    (
        {"certPem": GOOD_CERT, "keyPem": GOOD_KEY, "chain": "x"},
        "rootCa.(secret entry 3)",
        "unknown field",
    ),  # a typo: withheld
    ({"certPem": GOOD_CERT + GOOD_CERT, "keyPem": GOOD_KEY}, "rootCa.certPem", "holds 2 certificates"),
    ({"certPem": GOOD_CERT, "keyPem": ED25519_KEY}, "rootCa.keyPem", "RSA or ECDSA"),
    # Roots that cannot anchor root -> intermediate -> workload chains.
    (dict(zip(("certPem", "keyPem"), make_cert(path_length=0), strict=False)), "rootCa.certPem", "pathLenConstraint 0"),
    (
        dict(zip(("certPem", "keyPem"), make_cert(issuer_name=OTHER_NAME, signing_key=OTHER_KEY), strict=False)),
        "rootCa.certPem",
        "its issuer is another CA",
    ),
    (
        dict(zip(("certPem", "keyPem"), make_cert(signing_key=OTHER_KEY), strict=False)),
        "rootCa.certPem",
        "does not verify with its own key",
    ),
    (
        dict(zip(("certPem", "keyPem"), make_cert(extension=UNKNOWN_CRITICAL), strict=True)),
        "rootCa.certPem",
        "critical extensions",
    ),
]


@pytest.mark.parametrize(("root_ca", "key", "fragment"), BAD_ROOTS, ids=[f"{k}:{f}" for _, k, f in BAD_ROOTS])
def test_a_bad_imported_root_fails_clearly_and_registers_nothing(root_ca, key, fragment):
    run = run_with_root(root_ca)
    assert isinstance(run.error, ConfigError)
    messages = " | ".join(message for path, message in run.error.problems if path == key)
    assert fragment in messages
    assert run.resources == []
    # Never echo key material back.
    assert "PRIVATE KEY" not in str(run.error)


def test_an_imported_root_in_plain_text_is_refused():
    run = run_with_root({"certPem": GOOD_CERT, "keyPem": GOOD_KEY}, secret=False)
    assert isinstance(run.error, ConfigError)
    assert "--secret" in dict(run.error.problems)["rootCa"]
    assert run.resources == []


@pytest.mark.parametrize(
    ("pki", "key"),
    [
        ({"keyAlgorithm": "DSA"}, "pki.keyAlgorithm"),
        ({"intermediateValidityDays": 4000}, "pki.intermediateValidityDays"),
        ({"earlyRenewalDays": 800}, "pki.earlyRenewalDays"),
        ({"rootValidityDays": "ten years"}, "pki.rootValidityDays"),
        ({"organisation": "x"}, "pki.organisation"),
        ("Example Corp", "pki"),
        (["Example Corp"], "pki"),
        ({"organization": "O" * 65}, "pki.organization"),
        ({"organization": "Example Corp\n"}, "pki.organization"),
        ({"organization": "  "}, "pki.organization"),
        ({"organization": None}, "pki.organization"),
        ({"organization": 7}, "pki.organization"),
        ({"keyAlgorithm": ["RSA"]}, "pki.keyAlgorithm"),
        ({"keyAlgorithm": "rsa"}, "pki.keyAlgorithm"),
        ({"rootValidityDays": 36501}, "pki.rootValidityDays"),
        ({"rootValidityDays": 10**30}, "pki.rootValidityDays"),
        ({"intermediateValidityDays": 2.5}, "pki.intermediateValidityDays"),
        ({"earlyRenewalDays": True}, "pki.earlyRenewalDays"),
        ({"earlyRenewalDays": 0}, "pki.earlyRenewalDays"),
    ],
)
def test_bad_pki_settings_name_the_key(pki, key):
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec({"clusters": [{"name": "a"}], "pki": pki}, default_region="us-east-1", stack="dev")
    assert key in dict(caught.value.problems)
    # Never more than a short piece of what was given.
    assert all(len(message) < 400 for _, message in caught.value.problems)


def test_pki_limits_are_inclusive_and_the_longest_organization_signs():
    # 64 characters is X.509's limit for O=, and a century the longest validity; both are accepted.
    spec = parse_mesh_spec(
        {
            "clusters": [{"name": "a"}],
            "pki": {"organization": "O" * 64, "rootValidityDays": 36500, "intermediateValidityDays": 36499},
        },
        default_region="us-east-1",
        stack="dev",
    )
    assert spec.pki.organization == "O" * 64 and spec.pki.root_validity_days == 36500
    run = cached_run(mesh_config(1, pki={"organization": "O" * 64}))
    assert run.error is None, run.error
    cert = x509.load_pem_x509_certificate(cacerts(run)["c0"]["ca-cert.pem"].encode())
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "O" * 64


def test_pki_edits_reissue_intermediates_but_never_regenerate_the_root(two_cluster_run):
    # A new root would break cross-cluster mTLS until every workload renews: it is replaced only
    # with an explicit `pulumi up --replace`, never by a `pki` edit.
    edited = cached_run(
        mesh_config(2, pki={"organization": "Example Corp", "rootValidityDays": 4000, "intermediateValidityDays": 365})
    )
    impact = change_impact(two_cluster_run, edited)
    assert impact[("tls:index/privateKey:PrivateKey", "root-ca-key")] == "unchanged"
    assert impact[("tls:index/selfSignedCert:SelfSignedCert", "root-ca-cert")] == "unchanged"
    # The intermediates (and only the PKI objects) are re-issued; cacerts and istiod follow in place.
    assert {name for (_, name), what in impact.items() if what == "replaced"} == {
        f"c{i}-ca-{r}" for i in range(2) for r in ("csr", "cert")
    }
    assert {name for (_, name), what in impact.items() if what == "updated"} == {
        f"c{i}-istio-{r}" for i in range(2) for r in ("cacerts", "istiod")
    }

    # Another key algorithm applies to new intermediates only; the root keeps its key.
    algorithm = change_impact(two_cluster_run, cached_run(mesh_config(2, pki={"keyAlgorithm": "ECDSA"})))
    assert algorithm[("tls:index/privateKey:PrivateKey", "root-ca-key")] == "unchanged"
    assert all(algorithm[("tls:index/privateKey:PrivateKey", f"c{i}-ca-key")] == "replaced" for i in range(2))
