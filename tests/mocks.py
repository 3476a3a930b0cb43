"""Mock providers that behave like the real ones where assertions depend on it.

Every value is derived from the resource's name (a hash), never from randomness or the clock, so
two runs of one config give identical inputs. The EKS cluster gets a distinct endpoint and a real CA
certificate per cluster; Elastic IPs get distinct public addresses.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pulumi.runtime import mocks

# Fixed so certificates made by the mocks are identical between runs.
EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def digest(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def public_ip(name: str) -> str:
    # 198.18.0.0/15 is reserved for tests, so a mock address can never be a real one.
    offset = int(digest(name, length=8), 16) % (2**17 - 2) + 1
    return str(ipaddress.IPv4Address("198.18.0.0") + offset)


@functools.lru_cache(maxsize=None)
def cluster_ca(name: str) -> tuple[str, str]:
    """(PEM certificate, base64 of it) of a Kubernetes CA for the named cluster."""
    seed = int(digest(name, length=32), 16)
    key = ec.derive_private_key(seed, ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"kubernetes-{name}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(seed % (2**63))
        .not_valid_before(EPOCH)
        .not_valid_after(EPOCH + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return pem, base64.b64encode(pem.encode()).decode()


class MeshMocks(mocks.Mocks):
    """Mock AWS, EKS and Kubernetes providers, keyed on resource type."""

    monitor: Any = None  # set by the harness; used to register what remote components create

    def region_of(self, provider_ref: str) -> str:
        urn = provider_ref.rsplit("::", 1)[0]
        record = self.monitor.registered.get(urn)
        return record.inputs.get("region", "us-east-1") if record else "us-east-1"

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict]:
        handler = getattr(self, "_" + args.typ.replace(":", "_").replace("/", "_"), None)
        if handler is not None:
            return handler(args)
        if not args.custom:
            return "", {}
        return f"{args.name}-{digest(args.typ, args.name, length=8)}", {}

    def call(self, args: mocks.MockCallArgs) -> tuple[dict, list | None]:
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            region = self.region_of(args.provider)
            excluded = set(args.args.get("excludeZoneIds") or [])
            zones = [(f"{region}{letter}", f"{region[:2]}{region.split('-')[1][0]}{region[-1]}-az{i + 1}") for i, letter in enumerate("abcdef")]
            zones = [z for z in zones if z[1] not in excluded]
            return {"names": [z[0] for z in zones], "zoneIds": [z[1] for z in zones], "id": region}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/ci", "userId": "AIDA", "id": "123456789012"}, []
        if args.token == "aws:index/getRegion:getRegion":
            region = self.region_of(args.provider)
            return {"name": region, "region": region, "id": region}, []
        raise NotImplementedError(f"no mock for invoke {args.token}")

    # --- AWS -------------------------------------------------------------------------------------

    def _aws_ec2_vpc_Vpc(self, args):
        return f"vpc-{digest(args.name, length=17)}", {"arn": f"arn:aws:ec2:::vpc/{args.name}"}

    def _aws_ec2_subnet_Subnet(self, args):
        return f"subnet-{digest(args.name, length=17)}", {}

    def _aws_ec2_eip_Eip(self, args):
        return f"eipalloc-{digest(args.name, length=17)}", {
            "publicIp": public_ip(args.name),
            "allocationId": f"eipalloc-{digest(args.name, length=17)}",
        }

    def _aws_ec2_natGateway_NatGateway(self, args):
        return f"nat-{digest(args.name, length=17)}", {}

    def _aws_iam_role_Role(self, args):
        role_name = args.inputs.get("name") or f"{args.name}-{digest(args.name, length=7)}"
        return role_name, {"name": role_name, "arn": f"arn:aws:iam::123456789012:role/{role_name}"}

    def _eks_index_Cluster(self, args):
        """The pulumi-eks component: registers the aws.eks.Cluster it would create and returns a
        reference to it, with a distinct endpoint and a real CA per cluster."""
        eks_name = args.inputs["name"]
        region = "us-east-1"
        for ref in (self.monitor.registered.get(r.rsplit("::", 1)[0]) for r in self._providers_of(args)):
            if ref is not None and ref.type == "pulumi:providers:aws":
                region = ref.inputs.get("region", region)
        endpoint = f"https://{digest(eks_name, length=32).upper()}.gr7.{region}.eks.amazonaws.com"
        _, ca_b64 = cluster_ca(eks_name)
        issuer = f"oidc.eks.{region}.amazonaws.com/id/{digest(eks_name, 'oidc', length=32).upper()}"
        inner_urn = f"urn:pulumi:mock::istio-eks-mesh::eks:index:Cluster$aws:eks/cluster:Cluster::{args.name}-eksCluster"
        ref = self.monitor.add_resource(
            inner_urn,
            eks_name,
            {
                "name": eks_name,
                "endpoint": endpoint,
                "certificateAuthority": {"data": ca_b64},
                "arn": f"arn:aws:eks:{region}:123456789012:cluster/{eks_name}",
                "version": args.inputs.get("version"),
            },
        )
        return "", {
            "eksCluster": ref,
            "oidcProviderArn": f"arn:aws:iam::123456789012:oidc-provider/{issuer}",
            "oidcProviderUrl": f"https://{issuer}",
            "oidcIssuer": issuer,
            "clusterSecurityGroupId": f"sg-{digest(eks_name, 'cluster', length=17)}",
            "nodeSecurityGroupId": f"sg-{digest(eks_name, 'node', length=17)}",
        }

    def _providers_of(self, args) -> list[str]:
        # MockResourceArgs has no provider map for components; the harness stores it on the record.
        for record in self.monitor.registered.values():
            if record.type == args.typ and record.name == args.name:
                return list(record.providers.values())
        return []
