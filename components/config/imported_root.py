"""Checks of an imported root CA (`rootCa`, `rootCas."<generation>"`), the way istiod and the
proxies will use it: before anything is created, and without ever quoting the PEM text in a message.

A root anchors the mesh only if it is self-signed, a CA allowed to sign certificates, allows the
intermediates under it (no pathLenConstraint 0), carries no critical extension a Go or BoringSSL
verifier would reject, is valid now and outlives a new intermediate, and comes with its own key.
"""

from __future__ import annotations

import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from components.config.validate import Problems, type_name, unknown_fields
from components.model.spec import ImportedRootCa, PkiSpec

ROOT_CA_FIELDS = ("certPem", "keyPem")
# The extensions Go's crypto/x509 (istiod) processes; a critical one outside this set makes it
# refuse every chain through the root ("unhandled critical extension").
HANDLED_CRITICAL = {
    x509.oid.ExtensionOID.BASIC_CONSTRAINTS,
    x509.oid.ExtensionOID.KEY_USAGE,
    x509.oid.ExtensionOID.EXTENDED_KEY_USAGE,
    x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    x509.oid.ExtensionOID.NAME_CONSTRAINTS,
    x509.oid.ExtensionOID.CERTIFICATE_POLICIES,
    x509.oid.ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    x509.oid.ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    x509.oid.ExtensionOID.CRL_DISTRIBUTION_POINTS,
}
_DER = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def parse_root_ca(
    value: Any, path: str, *, is_secret: bool, signs: bool, pki: PkiSpec, now: datetime.datetime, problems: Problems
) -> ImportedRootCa | None:
    """Checks an imported root at config key `path`; `signs`: it signs the intermediates (else it
    is only trusted, e.g. the old root during a rotation). Messages never quote the PEM text."""
    how = f"pulumi config set --secret --path '{path}.certPem' \"$(cat root-cert.pem)\" (and {path}.keyPem likewise)"
    if not isinstance(value, dict):
        problems.add(path, f"must be an object with certPem and keyPem, got {type_name(value)}; set it with {how}")
        return None
    if not is_secret:
        problems.add(path, f"holds a private key in plain text; store it encrypted: {how}")
    unknown_fields(value, ROOT_CA_FIELDS, path, problems)
    usable = True
    for key in ROOT_CA_FIELDS:
        given = value.get(key)
        if given is None or (isinstance(given, str) and not given.strip()):
            problems.add(f"{path}.{key}", f"is missing; an imported root needs both certPem and keyPem ({how})")
            usable = False
        elif not isinstance(given, str):
            problems.add(f"{path}.{key}", f"must be a PEM text (a string), got {type_name(given)}")
            usable = False
    if not usable:
        return None

    cert = _load_cert(value["certPem"], f"{path}.certPem", problems)
    key = _load_key(value["keyPem"], f"{path}.keyPem", problems)
    if cert is None:
        return None
    _check_anchor(cert, f"{path}.certPem", problems)
    _check_validity(cert, f"{path}.certPem", signs, pki, now, problems)
    if key is not None and cert.public_key().public_bytes(*_DER) != key.public_key().public_bytes(*_DER):
        problems.add(f"{path}.keyPem", f"does not match {path}.certPem (their public keys differ)")
    return ImportedRootCa(cert_pem=value["certPem"], key_pem=value["keyPem"])


def _load_cert(text: str, path: str, problems: Problems) -> x509.Certificate | None:
    try:
        certs = x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        problems.add(path, "is not a PEM X.509 certificate (expected -----BEGIN CERTIFICATE-----)")
        return None
    if len(certs) > 1:
        problems.add(path, f"holds {len(certs)} certificates; give the root certificate alone, not a chain or bundle")
    return certs[0]


def _load_key(text: str, path: str, problems: Problems):
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        problems.add(path, "is not an unencrypted PEM private key (PKCS#1, SEC1 or PKCS#8)")
        return None
    except UnsupportedAlgorithm:
        key = None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        problems.add(path, "is a private key of an algorithm Istio cannot sign with; use RSA or ECDSA")
        return None
    return key


def _check_anchor(cert: x509.Certificate, path: str, problems: Problems) -> None:
    """Can this certificate anchor a chain root -> intermediate -> workload?"""
    try:
        extensions = list(cert.extensions)
    except ValueError:
        problems.add(path, "has malformed or duplicate extensions; no verifier would accept it")
        return
    by_class = {type(e.value): e.value for e in extensions}
    constraints = by_class.get(x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        problems.add(path, "is not a CA certificate (basicConstraints CA:TRUE is missing); import the root, not a leaf")
    elif constraints.path_length == 0:
        problems.add(
            path,
            "has pathLenConstraint 0, which forbids the intermediate CA every cluster signs with; import a root"
            " without a path length (or one of at least 1)",
        )
    usage = by_class.get(x509.KeyUsage)
    if usage is not None and not usage.key_cert_sign:
        problems.add(path, "may not sign certificates (keyUsage lacks keyCertSign)")
    unknown = sorted(e.oid.dotted_string for e in extensions if e.critical and e.oid not in HANDLED_CRITICAL)
    if unknown:
        problems.add(
            path,
            f"has critical extensions no verifier in the mesh understands ({', '.join(unknown[:3])}); chains"
            " through it would be refused",
        )
    if cert.subject != cert.issuer:
        problems.add(
            path,
            "is not self-signed (its issuer is another CA): import the root at the top of the chain, not an"
            " intermediate",
        )
        return
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError):
        problems.add(
            path, "is not self-signed (its signature does not verify with its own key): import the root itself"
        )


def _check_validity(
    cert: x509.Certificate, path: str, signs: bool, pki: PkiSpec, now: datetime.datetime, problems: Problems
) -> None:
    if cert.not_valid_after_utc <= now:
        problems.add(path, f"expired on {cert.not_valid_after_utc:%Y-%m-%d}; import a valid root")
    elif cert.not_valid_before_utc > now:
        problems.add(path, f"is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    elif signs and cert.not_valid_after_utc < now + datetime.timedelta(days=pki.intermediate_validity_days):
        problems.add(
            path,
            f"expires on {cert.not_valid_after_utc:%Y-%m-%d}, before an intermediate valid for"
            f" {pki.intermediate_validity_days} days would; renew the root or lower pki.intermediateValidityDays",
        )
