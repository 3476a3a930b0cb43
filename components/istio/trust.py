"""Mesh trust: the root CAs, and an intermediate CA per cluster signed by one of them (pulumi-tls).

Every istiod signs workload certificates with its cluster's intermediate; because all
intermediates chain to one root, the signing root (`pki.rootGeneration`), and every cluster trusts
the same bundle of roots (`pki.trustedRootGenerations`, at most two), a workload in one cluster
verifies a peer in another, also while a rotation moves the mesh from one root to the next. The
roots' private keys stay in Pulumi state (encrypted) and never reach a cluster. Certificate profiles
follow Istio's own `tools/certs`: CA:TRUE, key usage cert signing, CRL signing and digital
signature, no extended key usage. pulumi-tls cannot express pathlen:0 (`max_path_length` 0 means
"no constraint"), so the intermediate carries no path length.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from components.model.spec import ImportedRootCa, PkiSpec

CA_USES = ["cert_signing", "crl_signing", "digital_signature"]
# istiod's serving certificate name; Istio's tools put it in the intermediate's SAN.
ISTIOD_SAN = "istiod.istio-system.svc"


# A root generation's resources are named after it; generation 1 keeps the name of the single root
# that stacks deployed before rotation existed hold.
def root_ca_name(generation: int) -> str:
    return "root-ca" if generation == 1 else f"root-ca-{generation}"


def join_pems(pems: list[str]) -> str:
    """PEM texts one after the other; a single one unchanged, byte for byte."""
    if len(pems) == 1:
        return pems[0]
    return "".join(p if p.endswith("\n") else p + "\n" for p in pems)


def _root_common_name(generation: int) -> str:
    # Intermediates carry no authority key identifier (pulumi-tls's default, and adding one would
    # re-issue them), so proxies find their issuer in a two-root bundle by subject name alone:
    # every generation after the first needs a subject of its own.
    return "Root CA" if generation == 1 else f"Root CA {generation}"


# A root is replaced only on purpose (`pulumi up --replace`): a new root breaks cross-cluster mTLS
# until every workload has a certificate from it, so later `pki` edits must not regenerate it.
ROOT_KEY_FIXED = ["algorithm", "rsaBits", "ecdsaCurve"]
ROOT_CERT_FIXED = ["subject", "validityPeriodHours", "allowedUses", "isCaCertificate", "setSubjectKeyId"]


def _private_key(
    name: str, pki: PkiSpec, parent: pulumi.Resource, ignore_changes: list[str] | None = None
) -> tls.PrivateKey:
    opts = pulumi.ResourceOptions(parent=parent, ignore_changes=ignore_changes)
    if pki.key_algorithm == "ECDSA":
        return tls.PrivateKey(name, algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
    return tls.PrivateKey(name, algorithm="RSA", rsa_bits=4096, opts=opts)


@dataclass
class RootCaArgs:
    pki: PkiSpec
    # Use this root instead of generating one (validated with the stack config).
    imported: ImportedRootCa | None = None
    generation: int = 1


class RootCa(pulumi.ComponentResource):
    """The mesh's root CA: generated (self-signed, `pki.rootValidityDays`) or imported."""

    cert_pem: pulumi.Output[str]
    private_key_pem: pulumi.Output[str]

    def __init__(self, name: str, args: RootCaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:pki:RootCa", name, None, opts)
        if args.imported is not None:
            self.cert_pem = pulumi.Output.from_input(args.imported.cert_pem)
            self.private_key_pem = pulumi.Output.secret(args.imported.key_pem)
        else:
            key = _private_key(f"{name}-key", args.pki, self, ignore_changes=ROOT_KEY_FIXED)
            cert = tls.SelfSignedCert(
                f"{name}-cert",
                private_key_pem=key.private_key_pem,
                subject=tls.SelfSignedCertSubjectArgs(
                    organization=args.pki.organization, common_name=_root_common_name(args.generation)
                ),
                is_ca_certificate=True,
                set_subject_key_id=True,
                allowed_uses=CA_USES,
                validity_period_hours=args.pki.root_validity_days * 24,
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=ROOT_CERT_FIXED),
            )
            self.cert_pem = cert.cert_pem
            self.private_key_pem = pulumi.Output.secret(key.private_key_pem)
        self.register_outputs({"certPem": self.cert_pem})


@dataclass(frozen=True)
class MeshRoots:
    """The mesh's roots at one point of a rotation."""

    # Signs every intermediate (`pki.rootGeneration`).
    signer: RootCa
    # Every trusted root, by ascending generation: each cluster's `root-cert.pem`.
    bundle_pem: pulumi.Output[str]


def mesh_roots(pki: PkiSpec, parent: pulumi.Resource) -> MeshRoots:
    """One RootCa per trusted generation, generated or imported (`pki.imported_roots`)."""
    roots = {
        generation: RootCa(
            root_ca_name(generation),
            RootCaArgs(pki=pki, imported=pki.imported_roots.get(generation), generation=generation),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for generation in pki.trusted_root_generations
    }
    bundle = pulumi.Output.all(*(roots[g].cert_pem for g in sorted(roots))).apply(join_pems)
    return MeshRoots(signer=roots[pki.root_generation], bundle_pem=bundle)


@dataclass
class IntermediateCaArgs:
    cluster_name: str
    pki: PkiSpec
    roots: MeshRoots


class IntermediateCa(pulumi.ComponentResource):
    """A cluster's intermediate CA and the four files istiod reads from the `cacerts` Secret."""

    cert_pem: pulumi.Output[str]
    private_key_pem: pulumi.Output[str]
    root_cert_pem: pulumi.Output[str]
    cert_chain_pem: pulumi.Output[str]
    checksum: pulumi.Output[str]

    def __init__(self, name: str, args: IntermediateCaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:pki:IntermediateCa", name, None, opts)
        pki, signer = args.pki, args.roots.signer
        key = _private_key(f"{name}-key", pki, self)
        request = tls.CertRequest(
            f"{name}-csr",
            private_key_pem=key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(
                organization=pki.organization, common_name="Intermediate CA", locality=args.cluster_name
            ),
            dns_names=[ISTIOD_SAN],
            opts=pulumi.ResourceOptions(parent=self),
        )
        cert = tls.LocallySignedCert(
            f"{name}-cert",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=signer.private_key_pem,
            ca_cert_pem=signer.cert_pem,
            is_ca_certificate=True,
            set_subject_key_id=True,
            allowed_uses=CA_USES,
            validity_period_hours=pki.intermediate_validity_days * 24,
            # A `pulumi up` inside this window re-issues the certificate; istiod restarts with it
            # because the CA checksum below changes its pod annotation.
            early_renewal_hours=pki.early_renewal_days * 24,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cert_pem = cert.cert_pem
        self.private_key_pem = pulumi.Output.secret(key.private_key_pem)
        self.root_cert_pem = args.roots.bundle_pem
        # istiod expects the chain from its own certificate up to the root that signed it.
        self.cert_chain_pem = pulumi.Output.all(cert.cert_pem, signer.cert_pem).apply(join_pems)
        # Covers the bundle too: istiod 1.30 ignores a changed root-cert.pem in its cacerts watcher
        # unless ISTIO_MULTIROOT_MESH is on (pilot/pkg/bootstrap/istio_ca.go handleEvent), so a new
        # bundle reaches its CA, `istio-ca-root-cert` and the proxies only through a restart.
        # Public material only, so the checksum itself is not a secret.
        self.checksum = pulumi.Output.all(cert.cert_pem, self.root_cert_pem).apply(
            lambda pems: hashlib.sha256("".join(pems).encode()).hexdigest()
        )
        self.register_outputs({"certPem": self.cert_pem, "certChainPem": self.cert_chain_pem})

    def cacerts_data(self) -> dict[str, pulumi.Output[str]]:
        """The `cacerts` Secret's keys, as istiod's plugged-in CA reads them."""
        return {
            "ca-cert.pem": self.cert_pem,
            "ca-key.pem": self.private_key_pem,
            "root-cert.pem": self.root_cert_pem,
            "cert-chain.pem": self.cert_chain_pem,
        }
