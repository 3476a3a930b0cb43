"""The trust check of `python -m verify`: each cluster holds the roots and the intermediate the stack
asks for, so the next step of a root rotation is safe (docs/concepts/trust.md#rotating-the-root).

Expected: the stack outputs `rootCertPem` (the trust bundle, one or two roots) and
`signingRootCertPem` (the root that signs the intermediates). Per cluster:
- `cacerts roots`: istio-system/cacerts `root-cert.pem` holds exactly the bundle;
- `cacerts signer`: its `ca-cert.pem` was issued by the signing root, and `cert-chain.pem` ends with it;
- `istio-ca-root-cert`: the ConfigMap istiod writes into every namespace holds the bundle, so
  istiod has loaded it (it does on a restart);
- `workload certificate`: the sample `sleep` proxy's certificate comes from the cluster's
  intermediate (a remote's: from an intermediate of the signing root) and the proxy trusts exactly
  the bundle; read from Envoy's config dump, which redacts the private key.
Nothing read from `cacerts` but its certificates is kept, and no PEM text is printed.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from verify.checks import ISTIO_NAMESPACE, NOT_DEPLOYED, SAMPLE_NAMESPACE, ClusterApi, ClusterTarget, Result, TimedOut

# Envoy's admin endpoint inside the pod; the app container shares the sidecar's loopback.
SECRETS_DUMP = ["curl", "-s", "--max-time", "10", "http://localhost:15000/config_dump?resource=dynamic_active_secrets"]


class TrustOutputError(ValueError):
    """The stack outputs' root certificates are not usable PEM."""


class TrustApi(ClusterApi, Protocol):
    def secret_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """The Secret's data, decoded, or None if there is no such Secret."""

    def config_map_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """The ConfigMap's data, or None if there is no such ConfigMap."""


@dataclass(frozen=True)
class TrustExpectation:
    bundle: tuple[x509.Certificate, ...]
    # The root that signs the intermediates; None for outputs of a stack from before rotation
    # that hold more than one root (then only the bundle is checked).
    signer: x509.Certificate | None


def trust_from_outputs(outputs: Any) -> TrustExpectation | None:
    """The expectation from the whole-stack outputs; None when they hold no `rootCertPem`."""
    bundle_pem = outputs.get("rootCertPem") if isinstance(outputs, dict) else None
    if bundle_pem is None:
        return None
    bundle = _certificates(bundle_pem, "rootCertPem")
    signer_pem = outputs.get("signingRootCertPem")
    if signer_pem is not None:
        signer: x509.Certificate | None = _certificates(signer_pem, "signingRootCertPem")[0]
    else:
        signer = bundle[0] if len(bundle) == 1 else None
    if signer is not None and signer not in bundle:
        raise TrustOutputError("the output signingRootCertPem is not one of the roots in rootCertPem")
    return TrustExpectation(bundle=bundle, signer=signer)


def _certificates(value: Any, key: str) -> tuple[x509.Certificate, ...]:
    if not isinstance(value, str):
        raise TrustOutputError(f"the output {key} is not a PEM text")
    try:
        return tuple(x509.load_pem_x509_certificates(value.encode()))
    except ValueError as err:
        raise TrustOutputError(f"the output {key} holds no readable PEM certificate") from err


def label(cert: x509.Certificate) -> str:
    """A root as a person can tell it apart: its common name and the start of its fingerprint."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = names[0].value if names else cert.subject.rfc4514_string()[:40]
    return f"{name} ({cert.fingerprint(hashes.SHA256()).hex()[:8]})"


def _judge_roots(
    cluster: str, check: str, found: tuple[x509.Certificate, ...] | None, where: str, expected: TrustExpectation
) -> Result:
    if found is None:
        return Result(cluster, check, False, f"{where} not found")
    missing = [label(c) for c in expected.bundle if c not in found]
    extra = [label(c) for c in found if c not in expected.bundle]
    problems = [*(f"lacks {m}" for m in missing), *(f"still holds {e}" for e in extra)]
    shown = ", ".join(label(c) for c in found) or "no certificate"
    return Result(cluster, check, not problems, "; ".join([shown, *problems]))


def _parse(text: str | None) -> tuple[x509.Certificate, ...] | None:
    if text is None:
        return None
    try:
        return tuple(x509.load_pem_x509_certificates(text.encode()))
    except ValueError:
        return ()


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def check_trust(target: ClusterTarget, api: TrustApi, expected: TrustExpectation, timeout: int) -> list[Result]:
    """The trust checks of one cluster; the caller turns Unreachable into a result."""
    name = target.name
    files = api.secret_data(ISTIO_NAMESPACE, "cacerts")
    published = api.config_map_data(ISTIO_NAMESPACE, "istio-ca-root-cert")
    intermediate = next(iter(_pems(files, "ca-cert.pem") or ()), None)
    return [
        _judge_roots(name, "cacerts roots", _pems(files, "root-cert.pem"), "secret istio-system/cacerts", expected),
        _judge_signer(name, intermediate, _pems(files, "cert-chain.pem") or (), expected),
        _judge_roots(
            name,
            "istio-ca-root-cert",
            _pems(published, "root-cert.pem"),
            "configmap istio-system/istio-ca-root-cert",
            expected,
        ),
        # A remote's workloads may be signed by its primary's istiod: only their root is checked.
        _workload(target, api, intermediate if target.role != "remote" else None, expected, timeout),
    ]


def _pems(data: dict[str, str] | None, key: str) -> tuple[x509.Certificate, ...] | None:
    """The certificates under `key` of a Secret's or ConfigMap's data; None without the object."""
    return None if data is None else _parse(data.get(key, ""))


def _judge_signer(
    cluster: str, intermediate: x509.Certificate | None, chain: tuple[x509.Certificate, ...], expected: TrustExpectation
) -> Result:
    check = "cacerts signer"
    if intermediate is None:
        return Result(cluster, check, False, "cacerts has no readable ca-cert.pem")
    if expected.signer is None:
        return Result(cluster, check, True, "not checked: the outputs name no signing root (signingRootCertPem)")
    if not _issued_by(intermediate, expected.signer):
        return Result(
            cluster,
            check,
            False,
            f"the intermediate was not issued by {label(expected.signer)}; has `pulumi up` finished?",
        )
    if not chain or chain[-1] != expected.signer:
        return Result(cluster, check, False, f"cert-chain.pem does not end with {label(expected.signer)}")
    return Result(cluster, check, True, f"intermediate issued by {label(expected.signer)}")


def _workload(
    target: ClusterTarget,
    api: TrustApi,
    intermediate: x509.Certificate | None,
    expected: TrustExpectation,
    timeout: int,
) -> Result:
    check = "workload certificate"
    if target.sample_version is None or api.deployment_status(SAMPLE_NAMESPACE, "sleep") is None:
        return Result(target.name, check, False, NOT_DEPLOYED)
    try:
        dump = api.run_in_deployment(SAMPLE_NAMESPACE, "sleep", SECRETS_DUMP, timeout)
    except TimedOut as err:
        return Result(target.name, check, False, f"no answer from the sleep pod's proxy: {err}")
    chain, trusted = proxy_secrets(dump)
    if not chain:
        return Result(
            target.name, check, False, "the sleep pod's proxy shows no workload certificate (is the sidecar injected?)"
        )
    # The chain the proxy presents decides what its peers verify: a re-issued intermediate keeps its
    # key and name, so an old leaf also verifies under the new one, but its peers get the old one.
    presented = chain[1] if len(chain) > 1 else None
    ok = presented is not None and _issued_by(chain[0], presented)
    if intermediate is not None:
        ok = ok and presented == intermediate
        source = "this cluster's intermediate"
    else:
        ok = ok and (expected.signer is None or _issued_by(presented, expected.signer))
        source = f"an intermediate of {label(expected.signer)}" if expected.signer else "an intermediate"
    roots = _judge_roots(target.name, check, trusted, "the proxy's ROOTCA", expected)
    problems = ([] if ok else [f"not issued by {source} yet (proxies renew within 24 h, or restart the pods)"]) + (
        [] if roots.passed else [f"trusts {roots.detail}"]
    )
    detail = "; ".join(problems) or f"issued by {source}; trusts {roots.detail}"
    return Result(target.name, check, not problems, detail)


def proxy_secrets(dump: str) -> tuple[tuple[x509.Certificate, ...], tuple[x509.Certificate, ...] | None]:
    """(the `default` certificate chain, the `ROOTCA` trusted roots) from Envoy's secrets dump."""
    try:
        data = json.loads(dump)
    except ValueError:
        return (), None
    chain: tuple[x509.Certificate, ...] = ()
    trusted = None
    for entry in _dicts(data):
        secret = entry.get("secret")
        if not isinstance(secret, dict):
            continue
        if entry.get("name") == "default":
            chain = _parse(_inline(secret, "tls_certificate", "certificate_chain")) or ()
        elif entry.get("name") == "ROOTCA":
            trusted = _parse(_inline(secret, "validation_context", "trusted_ca"))
    return chain, trusted


def _dicts(value: Any):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _dicts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dicts(item)


def _inline(secret: dict, *path: str) -> str | None:
    value: Any = secret
    for key in (*path, "inline_bytes"):
        value = value.get(key) if isinstance(value, dict) else None
    try:
        return base64.b64decode(value).decode() if isinstance(value, str) else None
    except ValueError:
        return None
