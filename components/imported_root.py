"""Checks of an imported root CA (`rootCa`), the way istiod will use it: before anything is
created, and without ever quoting the PEM text in a message."""

from __future__ import annotations

import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .spec import ImportedRootCa, PkiSpec
from .validate import Problems, type_name, unknown_fields

ROOT_CA_FIELDS = ("certPem", "keyPem")


def parse_root_ca(value: Any, is_secret: bool, pki: PkiSpec, now: datetime.datetime, problems: Problems) -> ImportedRootCa | None:
    """Checks an imported root the way istiod will use it. Messages never quote the PEM text."""
    how = "pulumi config set --secret --path rootCa.certPem \"$(cat root-cert.pem)\" (and rootCa.keyPem likewise)"
    if not isinstance(value, dict):
        problems.add("rootCa", f"must be an object with certPem and keyPem, got {type_name(value)}; set it with {how}")
        return None
    if not is_secret:
        problems.add("rootCa", f"holds a private key in plain text; store it encrypted: {how}")
    unknown_fields(value, ROOT_CA_FIELDS, "rootCa", problems)
    missing = [k for k in ROOT_CA_FIELDS if not isinstance(value.get(k), str) or not value.get(k).strip()]
    for key in missing:
        problems.add(f"rootCa.{key}", f"is missing; an imported root needs both certPem and keyPem ({how})")
    if missing:
        return None

    try:
        cert = x509.load_pem_x509_certificate(value["certPem"].encode())
    except ValueError:
        problems.add("rootCa.certPem", "is not a PEM X.509 certificate (expected -----BEGIN CERTIFICATE-----)")
        cert = None
    try:
        key = serialization.load_pem_private_key(value["keyPem"].encode(), password=None)
    except (ValueError, TypeError):
        problems.add("rootCa.keyPem", "is not an unencrypted PEM private key (PKCS#1, SEC1 or PKCS#8)")
        key = None
    if cert is None:
        return None

    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        problems.add("rootCa.certPem", "is not a CA certificate (basicConstraints CA:TRUE is missing); import the root, not a leaf")
    try:
        if not cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign:
            problems.add("rootCa.certPem", "may not sign certificates (keyUsage lacks keyCertSign)")
    except x509.ExtensionNotFound:
        pass
    if cert.not_valid_after_utc <= now:
        problems.add("rootCa.certPem", f"expired on {cert.not_valid_after_utc:%Y-%m-%d}; import a valid root")
    elif cert.not_valid_before_utc > now:
        problems.add("rootCa.certPem", f"is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    elif cert.not_valid_after_utc < now + datetime.timedelta(days=pki.intermediate_validity_days):
        problems.add(
            "rootCa.certPem",
            f"expires on {cert.not_valid_after_utc:%Y-%m-%d}, before an intermediate valid for"
            f" {pki.intermediate_validity_days} days would; renew the root or lower pki.intermediateValidityDays",
        )
    if key is not None and cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        problems.add("rootCa.keyPem", "does not match rootCa.certPem (their public keys differ)")
    return ImportedRootCa(cert_pem=value["certPem"], key_pem=value["keyPem"])

