"""Root rotation in three `pulumi up`s, with real certificates: which roots every `root-cert.pem`
holds, which root issued each intermediate, that workload chains keep verifying while proxies roll
over, and what each step does to a deployed stack (change impact)."""

from __future__ import annotations

import datetime
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from components.plan.istio_values import CA_CHECKSUM_ANNOTATION
from tests.harness import Run, cached_run, resolve
from tests.helpers import (
    IMPORTED,
    MULTI_PRIMARY,
    NOW,
    OPERATOR_CIDR,
    STATES,
    cacerts,
    make_cert,
    mesh_config,
    pem_certs,
    state_run,
)
from tests.impact import change_impact, of_kind
from tests.mocks import _load_key as load_key

SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
PRIMARY_REMOTE = {
    "clusters": [
        {"name": "p", "region": "us-east-1", "network": "n1"},
        {"name": "r", "region": "us-west-2", "network": "n2", "role": "remote", "primary": "p"},
    ],
    "apiAccessCidrs": [OPERATOR_CIDR],
}


def fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def roots_of(run: Run, imported: bool) -> dict[int, x509.Certificate]:
    """The roots the run holds, by generation, read from what made them (not from the bundle)."""
    if imported:
        texts = {g: IMPORTED[g][0] for g in (1, 2)}
    else:
        texts = {
            g: r.outputs["certPem"]
            for r in run.of_type("tls:index/selfSignedCert:SelfSignedCert")
            for g in (1, 2)
            if r.name == ("root-ca-cert" if g == 1 else "root-ca-2-cert")
        }
    return {g: x509.load_pem_x509_certificate(t.encode()) for g, t in texts.items()}


def leaf_from(files: dict[str, str]) -> str:
    """A workload certificate issued by the cluster's intermediate, as istiod would issue one."""
    ca = x509.load_pem_x509_certificate(files["ca-cert.pem"].encode())
    ca_key = load_key(files["ca-key.pem"])
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "workload")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(hours=1))
        .not_valid_after(NOW + datetime.timedelta(hours=24))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier("spiffe://cluster.local/ns/sample/sa/sleep")]),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return leaf.public_bytes(serialization.Encoding.PEM).decode()


def openssl_verifies(tmp: Path, bundle: str, chain: str, leaf: str) -> bool:
    """`openssl verify` of a workload certificate with its chain against a trust bundle."""
    (tmp / "bundle.pem").write_text(bundle)
    (tmp / "chain.pem").write_text(chain)
    (tmp / "leaf.pem").write_text(leaf)
    done = subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(tmp / "bundle.pem"),
            "-untrusted",
            str(tmp / "chain.pem"),
            str(tmp / "leaf.pem"),
        ],
        capture_output=True,
        text=True,
    )
    return done.returncode == 0


CASES = [
    ("multi-primary", MULTI_PRIMARY, False),
    ("primary-remote", PRIMARY_REMOTE, False),
    ("imported", MULTI_PRIMARY, True),
]


@pytest.mark.parametrize(("label", "base", "imported"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("state", list(STATES))
def test_every_state_has_the_right_roots_signer_and_outputs(label, base, imported, state):
    run = state_run(base, state, imported)
    generation, trusted = STATES[state]
    roots = roots_of(state_run(base, "trust both", imported), imported)
    signer = roots[generation]
    bundle_pem, secret = resolve(run.exports["rootCertPem"])
    assert not secret
    assert [fingerprint(c) for c in pem_certs(bundle_pem)] == [fingerprint(roots[g]) for g in trusted]
    assert (
        resolve(run.exports["signingRootCertPem"])[0].strip()
        == signer.public_bytes(serialization.Encoding.PEM).decode().strip()
    )
    files_by_cluster = cacerts(run)
    assert sorted(files_by_cluster) == sorted(c["name"] for c in base["clusters"])
    for files in files_by_cluster.values():
        assert files["root-cert.pem"] == bundle_pem
        intermediate = x509.load_pem_x509_certificate(files["ca-cert.pem"].encode())
        intermediate.verify_directly_issued_by(signer)
        # The chain ends with the root that signed, whatever else the bundle holds.
        assert [fingerprint(c) for c in pem_certs(files["cert-chain.pem"])] == [
            fingerprint(intermediate),
            fingerprint(signer),
        ]
    for signed in run.of_type(SIGNED):
        assert signed.is_secret("caPrivateKeyPem")
    # A generated root no longer trusted is gone from the stack; a trusted one is there.
    if not imported:
        assert {r.name for r in run.of_type("istio-eks-mesh:pki:RootCa")} == {
            "root-ca" if g == 1 else "root-ca-2" for g in trusted
        }


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
@pytest.mark.parametrize("imported", [False, True], ids=["generated", "imported"])
def test_workload_certificates_verify_everywhere_while_proxies_roll_over(imported, tmp_path):
    """A proxy holds the bundle and certificate of the state it last renewed in (up to 24 h old):
    every pair of neighbouring states must verify each other's workload certificates."""
    files = {s: cacerts(state_run(MULTI_PRIMARY, s, imported)) for s in STATES}
    order = list(STATES)

    def verifies(bundle_state: str, cert_state: str, cluster: str = "c0", peer: str = "c1") -> bool:
        issuer = files[cert_state][peer]
        leaf = leaf_from(issuer)
        return openssl_verifies(tmp_path, files[bundle_state][cluster]["root-cert.pem"], issuer["cert-chain.pem"], leaf)

    for before, after in zip(order, order[1:], strict=False):
        assert verifies(before, after) and verifies(after, before), f"{before} -> {after} breaks mTLS"
        assert verifies(after, after)
    # What the three steps avoid: one step from root 1 to root 2 fails every cross-version call.
    assert not verifies("start", "drop 1") and not verifies("drop 1", "start")


@pytest.mark.parametrize(("label", "base", "imported"), CASES, ids=[c[0] for c in CASES])
def test_each_step_changes_only_what_it_must(label, base, imported):
    runs = {s: state_run(base, s, imported) for s in STATES}
    clusters = [c["name"] for c in base["clusters"]]
    # Every istiod that signs carries the CA checksum (every primary's; a remote's if it signs too).
    signing = {
        r.name
        for r in runs["start"].of_type("kubernetes:helm.sh/v3:Release")
        if CA_CHECKSUM_ANNOTATION in (r.inputs["values"].get("podAnnotations") or {})
    }
    assert {f"{c['name']}-istio-istiod" for c in base["clusters"] if c.get("role") != "remote"} <= signing
    assert all(name.endswith("-istio-istiod") for name in signing)
    cacerts_and_istiod = {f"{c}-istio-cacerts" for c in clusters} | signing
    root2 = set() if imported else {"root-ca-2-key", "root-ca-2-cert"}
    root1 = set() if imported else {"root-ca-key", "root-ca-cert"}

    def names(impact, kind):
        return {name for _, name in of_kind(impact, kind)}

    # Step 1, trust both: root 2 appears; no intermediate (so no workload certificate) is re-issued;
    # the bundles change, and istiod restarts to load its new bundle.
    step1 = change_impact(runs["start"], runs["trust both"])
    assert names(step1, "created") == root2 and names(step1, "replaced") == set() and names(step1, "deleted") == set()
    assert names(step1, "updated") == cacerts_and_istiod
    assert all(step1[(SIGNED, f"{c}-ca-cert")] == "unchanged" for c in clusters)
    # Step 2, sign with 2: each intermediate is re-issued (same key and request), nothing else is.
    step2 = change_impact(runs["trust both"], runs["sign with 2"])
    assert names(step2, "replaced") == {f"{c}-ca-cert" for c in clusters}
    assert names(step2, "updated") == cacerts_and_istiod and names(step2, "created") == names(step2, "deleted") == set()
    # Step 3, drop 1: root 1 goes, nothing is re-issued.
    step3 = change_impact(runs["sign with 2"], runs["drop 1"])
    assert names(step3, "deleted") == root1 and names(step3, "replaced") == names(step3, "created") == set()
    assert names(step3, "updated") == cacerts_and_istiod
    # Rolling back step 1 or 2 is the reverse change, with the same reach.
    assert names(change_impact(runs["trust both"], runs["start"]), "deleted") == root2
    assert names(change_impact(runs["sign with 2"], runs["trust both"]), "replaced") == {
        f"{c}-ca-cert" for c in clusters
    }


def test_a_single_root_keeps_the_bundle_and_checksum_of_a_stack_from_before_rotation():
    # Before generations existed, root-cert.pem was the root's PEM and istiod's checksum the SHA-256
    # of intermediate + root: the same bytes now, so a deployed stack sees no update.
    run = state_run(MULTI_PRIMARY, "start")
    root = run.one("tls:index/selfSignedCert:SelfSignedCert", "root-ca-cert").outputs["certPem"]
    for name, files in cacerts(run).items():
        assert files["root-cert.pem"] == root
        istiod = run.one("kubernetes:helm.sh/v3:Release", f"{name}-istio-istiod")
        checksum = istiod.inputs["values"]["podAnnotations"]["istio-eks-mesh/ca-checksum"]
        assert checksum == hashlib.sha256((files["ca-cert.pem"] + root).encode()).hexdigest()


# rootCa and rootCas are secret here: a key of rootCas (its generation) is withheld from paths, and
# the entry named by its place in the map (validate.Problems).
BAD_STEPS = [
    # Signing with root 2 alone on a root-1 stack is the one-step jump that breaks every mTLS connection.
    ({"rootGeneration": 2}, {}, "pki.trustedRootGenerations", "must be set next to pki.rootGeneration 2"),
    (
        {"rootGeneration": 3, "trustedRootGenerations": [1, 2]},
        {},
        "pki.rootGeneration",
        "next to the root that signs now (e.g. [2, 3])",
    ),
    ({"trustedRootGenerations": [2]}, {}, "pki.trustedRootGenerations", "drops generation 1, which still signs"),
    ({"rootGeneration": 2, "trustedRootGenerations": [1]}, {}, "pki.rootGeneration", "would not verify anywhere"),
    ({"trustedRootGenerations": [1, 2, 3]}, {}, "pki.trustedRootGenerations", "at most 2"),
    ({"trustedRootGenerations": []}, {}, "pki.trustedRootGenerations", "is empty"),
    ({"trustedRootGenerations": [1, 1]}, {}, "pki.trustedRootGenerations", "twice"),
    ({"trustedRootGenerations": "1,2"}, {}, "pki.trustedRootGenerations", "must be a list"),
    ({"trustedRootGenerations": [1, "2"]}, {}, "pki.trustedRootGenerations[1]", "must be"),
    ({"trustedRootGenerations": [1, True]}, {}, "pki.trustedRootGenerations[1]", "must be"),
    ({"trustedRootGenerations": [1, 2.0]}, {}, "pki.trustedRootGenerations[1]", "must be"),
    ({"rootGeneration": 0}, {}, "pki.rootGeneration", "count 1, 2, 3"),
    ({"rootGeneration": 10**40}, {}, "pki.rootGeneration", "out of range"),
    ({"rootGeneration": None}, {}, "pki.rootGeneration", "must be"),
    ({"rootGeneration": [2]}, {}, "pki.rootGeneration", "must be"),
    (
        {},
        {"rootCas": {"2": {"certPem": IMPORTED[2][0], "keyPem": IMPORTED[2][1]}}},
        "rootCas.(secret entry 1)",
        "does not list",
    ),
    ({"trustedRootGenerations": [1, 2]}, {"rootCas": {"1": {}}}, "rootCas.(secret entry 1)", "imported as rootCa"),
    ({"trustedRootGenerations": [1, 2]}, {"rootCas": {"two": {}}}, "rootCas.(secret entry 1)", "not a root generation"),
    ({"trustedRootGenerations": [1, 2]}, {"rootCas": {"02": {}}}, "rootCas.(secret entry 1)", "not a root generation"),
    ({"trustedRootGenerations": [1, 2]}, {"rootCas": [IMPORTED[2][0]]}, "rootCas", "must be an object"),
    (
        {"trustedRootGenerations": [1, 2]},
        {"rootCas": {"2": "-----BEGIN CERTIFICATE-----"}},
        "rootCas.(secret entry 1)",
        "must be an object",
    ),
    (
        {"trustedRootGenerations": [1, 2]},
        {"rootCas": {"2": {"certPem": IMPORTED[2][0]}}},
        "rootCas.(secret entry 1).keyPem",
        "is missing",
    ),
    (
        {"rootGeneration": 2, "trustedRootGenerations": [2]},
        {"rootCa": {"certPem": IMPORTED[1][0], "keyPem": IMPORTED[1][1]}},
        "rootCa",
        "does not list",
    ),
    (
        {"trustedRootGenerations": [1, 2]},
        {
            "rootCa": {"certPem": IMPORTED[1][0], "keyPem": IMPORTED[1][1]},
            "rootCas": {"2": {"certPem": IMPORTED[1][0], "keyPem": IMPORTED[1][1]}},
        },
        "rootCas.(secret entry 1).certPem",
        "same certificate",
    ),
    (
        {"trustedRootGenerations": [1, 2]},
        {
            "rootCa": {"certPem": IMPORTED[1][0], "keyPem": IMPORTED[1][1]},
            "rootCas": {"2": dict(zip(("certPem", "keyPem"), make_cert(common_name="Vault Root 2025"), strict=False))},
        },
        "rootCas.(secret entry 1).certPem",
        "same subject",
    ),
]


@pytest.mark.parametrize(("pki", "extra", "key", "fragment"), BAD_STEPS, ids=[f"{k}:{f}" for _, _, k, f in BAD_STEPS])
def test_a_step_that_would_break_trust_is_refused_naming_the_key(pki, extra, key, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec(
            {"clusters": [{"name": "a"}], "pki": pki, **extra},
            default_region="us-east-1",
            stack="dev",
            secret_keys=frozenset({"rootCa", "rootCas"}),
        )
    messages = " | ".join(message for path, message in caught.value.problems if path == key)
    assert fragment in messages, caught.value.problems
    # Never any PEM text (a certificate's base64 starts with MII) or key material.
    assert "PRIVATE KEY" not in str(caught.value) and "MII" not in str(caught.value)


def test_a_bad_generation_is_reported_once_not_blamed_on_the_bundle():
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec(
            {"clusters": [{"name": "a"}], "pki": {"rootGeneration": "2", "trustedRootGenerations": [2]}},
            default_region="us-east-1",
            stack="dev",
        )
    assert [path for path, _ in caught.value.problems] == ["pki.rootGeneration"]


def test_a_refused_step_registers_nothing():
    run = cached_run(mesh_config(2, pki={"trustedRootGenerations": [2]}))
    assert isinstance(run.error, ConfigError)
    assert run.resources == []


def test_the_next_imported_root_must_be_encrypted_and_checked_like_the_first():
    bad = make_cert(ca=False)
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec(
            {
                "clusters": [{"name": "a"}],
                "pki": {"trustedRootGenerations": [1, 2]},
                "rootCas": {"2": {"certPem": bad[0], "keyPem": bad[1]}},
            },
            default_region="us-east-1",
            stack="dev",
        )
    said = {path: " | ".join(m for p, m in caught.value.problems if p == path) for path, _ in caught.value.problems}
    assert "--secret" in said['rootCas["2"]'] and 'rootCas["2"].certPem' in said['rootCas["2"]']
    assert "not a CA certificate" in said['rootCas["2"].certPem']
