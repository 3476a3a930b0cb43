"""The mesh's trust in the stack config: `pki` (certificate settings and root generations), `rootCa`
(an imported generation-1 root) and `rootCas` (imported roots of later generations).

A root rotation is three config changes, each one `pulumi up` (docs/concepts/trust.md#rotating-the-root):
trust both roots, sign with the new one, drop the old one. Each state must keep every workload
certificate verifiable, so a config that signs with a root no cluster trusts, or drops the root
that still signs, is refused here, naming the key.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from typing import Any

from cryptography import x509

from components.config.imported_root import parse_root_ca
from components.config.validate import Problems, expect, type_name, unknown_fields
from components.model.spec import ImportedRootCa, PkiSpec

PKI_FIELDS = (
    "organization",
    "keyAlgorithm",
    "rootValidityDays",
    "intermediateValidityDays",
    "earlyRenewalDays",
    "rootGeneration",
    "trustedRootGenerations",
)
KEY_ALGORITHMS = ("RSA", "ECDSA")
# RFC 5280 ub-organization-name: longer O= values are not valid X.509.
MAX_ORGANIZATION = 64
# pulumi-tls computes a validity as a Go duration, which overflows past ~292 years, and X.509 dates
# end in 9999; a century is far beyond any sensible CA lifetime and safely inside both.
MAX_VALIDITY_DAYS = 36500
# A generation is a counter bumped once per rotation.
MAX_GENERATION = 999
# The signing root and, during a rotation, the one coming in or going out.
MAX_TRUSTED_ROOTS = 2
_GENERATION_KEY = re.compile(r"[1-9][0-9]{0,2}")
ROTATION_HELP = "see docs/concepts/trust.md#rotating-the-root"


def parse_pki(
    raw: Mapping[str, Any], secret_keys: frozenset[str], now: datetime.datetime, problems: Problems
) -> PkiSpec:
    """`pki`, `rootCa` and `rootCas` of the raw stack config, checked together."""
    value = raw.get("pki")
    if value is None or not expect(value, dict, "pki", problems, '{"organization": "Example Corp"}'):
        value = {}
    unknown_fields(value, PKI_FIELDS, "pki", problems)
    settings = _parse_settings(value, problems)
    generation, trusted = _parse_generations(value, problems)
    imported = _parse_imported_roots(raw, secret_keys, settings, generation, trusted, now, problems)
    return dataclasses.replace(
        settings, root_generation=generation, trusted_root_generations=trusted, imported_roots=imported
    )


def _parse_settings(value: Mapping[str, Any], problems: Problems) -> PkiSpec:
    """The certificate settings; defaults stand in for what is wrong (already reported)."""
    defaults = PkiSpec()
    organization = value.get("organization", defaults.organization)
    if expect(organization, str, "pki.organization", problems, '"Example Corp"'):
        if not organization.strip():
            problems.add("pki.organization", "is empty; name the organization that owns the mesh's CA")
        elif len(organization) > MAX_ORGANIZATION:
            problems.add(
                "pki.organization", f"is {len(organization)} characters; X.509 allows at most {MAX_ORGANIZATION} in O="
            )
        elif any(ord(ch) < 32 or ord(ch) == 127 for ch in organization):
            problems.add("pki.organization", "contains a line break or control character; use one line of text")
    if not isinstance(organization, str):
        organization = defaults.organization
    algorithm = value.get("keyAlgorithm", defaults.key_algorithm)
    if algorithm not in KEY_ALGORITHMS or not isinstance(algorithm, str):
        given = repr(algorithm) if isinstance(algorithm, str) and len(algorithm) <= 20 else type_name(algorithm)
        problems.add("pki.keyAlgorithm", f"{given} is not one of {', '.join(KEY_ALGORITHMS)} (ECDSA means P-256)")
        algorithm = defaults.key_algorithm
    days = {}
    for key, default in (
        ("rootValidityDays", defaults.root_validity_days),
        ("intermediateValidityDays", defaults.intermediate_validity_days),
        ("earlyRenewalDays", defaults.early_renewal_days),
    ):
        raw_days = value.get(key, default)
        if expect(raw_days, int, f"pki.{key}", problems, str(default)):
            if raw_days < 1:
                problems.add(f"pki.{key}", f"is {raw_days}; use a positive number of days")
            elif raw_days > MAX_VALIDITY_DAYS:
                problems.add(
                    f"pki.{key}",
                    f"is more than {MAX_VALIDITY_DAYS} days (100 years), more than a certificate can be signed for",
                )
            else:
                days[key] = raw_days
    _check_lifetimes(days, problems)
    return PkiSpec(
        organization=organization,
        key_algorithm=algorithm,
        root_validity_days=days.get("rootValidityDays", defaults.root_validity_days),
        intermediate_validity_days=days.get("intermediateValidityDays", defaults.intermediate_validity_days),
        early_renewal_days=days.get("earlyRenewalDays", defaults.early_renewal_days),
    )


def _check_lifetimes(days: dict[str, int], problems: Problems) -> None:
    if len(days) < 3:
        return
    if days["intermediateValidityDays"] >= days["rootValidityDays"]:
        problems.add(
            "pki.intermediateValidityDays",
            f"{days['intermediateValidityDays']} days would outlive the root ({days['rootValidityDays']});"
            " an intermediate must expire before the root that signs it",
        )
    if days["earlyRenewalDays"] >= days["intermediateValidityDays"]:
        problems.add(
            "pki.earlyRenewalDays",
            f"{days['earlyRenewalDays']} days is not less than the intermediate's validity"
            f" ({days['intermediateValidityDays']}); every run would re-issue it",
        )


def _generation(value: Any, path: str, problems: Problems) -> bool:
    if not expect(value, int, path, problems, "2"):
        return False
    if not 1 <= value <= MAX_GENERATION:
        problems.add(
            path,
            f"is {value if abs(value) < 10**6 else 'out of range'}; root generations count 1, 2, 3, … up to"
            f" {MAX_GENERATION}",
        )
        return False
    return True


def _parse_generations(value: Mapping[str, Any], problems: Problems) -> tuple[int, tuple[int, ...]]:
    """(the signing generation, the trusted generations in ascending order)."""
    generation = value.get("rootGeneration", 1)
    valid = _generation(generation, "pki.rootGeneration", problems)
    if not valid:
        generation = 1
    listed = value.get("trustedRootGenerations")
    path = "pki.trustedRootGenerations"
    if listed is None:
        if valid and generation != 1:
            # Defaulting the bundle to the new root alone would re-sign every intermediate with a
            # root no proxy trusts yet, and drop the old one, in a single `pulumi up`.
            problems.add(
                path,
                f"must be set next to pki.rootGeneration {generation}: say which roots every cluster trusts, e.g."
                f" [{generation - 1}, {generation}] while rotating, or [{generation}] once the rotation is done"
                f" ({ROTATION_HELP})",
            )
        return generation, (generation,)
    if not expect(listed, list, path, problems, f"[{generation}]"):
        return generation, (generation,)
    if not listed:
        problems.add(path, f"is empty; list the root that signs (pki.rootGeneration, {generation}), or remove the key")
        return generation, (generation,)
    if len(listed) > MAX_TRUSTED_ROOTS:
        problems.add(
            path,
            f"lists {len(listed)} roots; a bundle holds at most {MAX_TRUSTED_ROOTS}: the signing root and the"
            " one rotating in or out",
        )
        return generation, (generation,)
    if not all(_generation(g, f"{path}[{i}]", problems) for i, g in enumerate(listed)):
        return generation, (generation,)
    if len(set(listed)) != len(listed):
        problems.add(path, f"lists generation {listed[0]} twice; list each root once")
        return generation, (generation,)
    trusted = tuple(sorted(listed))
    if valid and generation not in trusted:
        if generation > max(trusted):
            problems.add(
                "pki.rootGeneration",
                f"{generation} is not in pki.trustedRootGenerations {list(trusted)}: intermediates signed by it"
                " would not"
                f" verify anywhere; first trust it next to the root that signs now (e.g. [{max(trusted)},"
                f" {generation}]) and wait"
                f" ({ROTATION_HELP})",
            )
        else:
            problems.add(
                path,
                f"{list(trusted)} drops generation {generation}, which still signs the intermediates"
                " (pki.rootGeneration):"
                f" every workload certificate would stop verifying; sign with the new root first ({ROTATION_HELP})",
            )
    return generation, trusted


def _parse_imported_roots(
    raw: Mapping[str, Any],
    secret_keys: frozenset[str],
    pki: PkiSpec,
    generation: int,
    trusted: tuple[int, ...],
    now: datetime.datetime,
    problems: Problems,
) -> dict[int, ImportedRootCa]:
    """Imported roots by generation: `rootCa` is generation 1, `rootCas."<n>"` generation n >= 2."""
    given: dict[int, tuple[str, str, Any]] = {}
    if raw.get("rootCa") is not None:
        given[1] = ("rootCa", "rootCa", raw["rootCa"])
    later = raw.get("rootCas")
    example = '{"2": {"certPem": "...", "keyPem": "..."}}'
    if later is not None and not isinstance(later, dict):
        # Not `expect`: it would echo the value, PEM text and all.
        problems.add("rootCas", f"must be an object keyed by root generation, got {type_name(later)}; e.g. {example}")
    elif later is not None:
        for key, value in later.items():
            path = f'rootCas["{str(key)[:12]}"]'
            if not (isinstance(key, str) and _GENERATION_KEY.fullmatch(key)):
                problems.add(
                    path, f"is not a root generation; key each imported root by its generation number, e.g. {example}"
                )
            elif key == "1":
                problems.add(path, "generation 1 is imported as rootCa; move it there")
            else:
                given[int(key)] = ("rootCas", path, value)
    roots = {}
    for number, (top_key, path, value) in sorted(given.items()):
        if number not in trusted:
            problems.add(
                path,
                f"imports generation {number}, which pki.trustedRootGenerations {list(trusted)} does not list;"
                " remove it, or trust it",
            )
            continue
        root = parse_root_ca(
            value,
            path,
            is_secret=top_key in secret_keys,
            signs=number == generation,
            pki=pki,
            now=now,
            problems=problems,
        )
        if root is not None:
            roots[number] = root
    if len(roots) == 2:
        _check_distinct(*(roots[g] for g in sorted(roots)), f'rootCas["{max(roots)}"].certPem', problems)
    return roots


def _check_distinct(old: ImportedRootCa, new: ImportedRootCa, path: str, problems: Problems) -> None:
    old_cert, new_cert = (x509.load_pem_x509_certificate(r.cert_pem.encode()) for r in (old, new))
    if old_cert == new_cert:
        problems.add(path, "is the same certificate as the older generation; a rotation needs a new root")
    elif old_cert.subject == new_cert.subject:
        problems.add(
            path,
            "has the same subject as the older root; proxies look an intermediate's issuer up by name in the"
            " bundle and would try the wrong root; give the new root a subject of its own (e.g. another CN)",
        )
