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
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pulumi.runtime import mocks

# Fixed so certificates made by the mocks are identical between runs.
EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def digest(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def public_ip(name: str) -> str:
    # 198.18.0.0/15 is reserved for tests, so a mock address can never be a real one.
    offset = int(digest(name, length=8), 16) % (2**17 - 2) + 1
    return str(ipaddress.IPv4Address("198.18.0.0") + offset)


@functools.cache
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


# The network team's route table the operators' attachment is associated with, unless a test says otherwise.
OPERATOR_TABLE = "tgw-rtb-0123456789abcdef0"
ATTACHMENT_READ = "aws:ec2transitgateway/getAttachment:getAttachment"
ROUTES_READ = "aws:ec2transitgateway/getRouteTableRoutes:getRouteTableRoutes"


class MeshMocks(mocks.Mocks):
    """Mock AWS, EKS and Kubernetes providers, keyed on resource type."""

    monitor: Any = None  # set by the harness; used to register what remote components create
    # Clusters whose east-west Service the load balancer controller gave no NLB.
    unaddressed: frozenset[str] = frozenset()
    # The stack's outputs from its last update (none: never deployed), and who runs `pulumi up`.
    last_outputs: dict = {}
    caller_arn = "arn:aws:iam::123456789012:user/ci"
    backend_unreachable = False
    # Region -> Transit Gateway IDs that exist there already.
    # Region -> the Transit Gateway IDs that exist there; None: whatever a config names exists.
    existing_gateways: dict | None = None
    # Per existing gateway ID, options its owners set otherwise than the defaults.
    gateway_options: dict = {}
    # Per attachment ID of the network team's, what DescribeTransitGatewayAttachments says of it where
    # not the default (an available attachment of the first test gateway, associated with OPERATOR_TABLE).
    attachments: dict = {}
    # Per route table ID of the network team's, the destinations of the routes in it (none by default).
    team_routes: dict = {}
    # Route table IDs that do not exist; and whether STS cannot be asked who runs (no region, say).
    missing_tables: frozenset = frozenset()
    caller_unknown = False
    # IPAM pool ID -> {"cidrs": its provisioned CIDRs, and "locale", "family", "min", "max", "tags" where not the
    # defaults}.
    ipam_pools: dict = {}
    # Add-on builds AWS has published since the first run (each moves the default and the newest).
    builds_published = 0

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
        for tokens, handler in self._invokes():
            if args.token in tokens:
                return handler(args)
        raise NotImplementedError(f"no mock for invoke {args.token}")

    def _invokes(self) -> list[tuple[tuple[str, ...], Any]]:
        return [
            (("aws:index/getAvailabilityZones:getAvailabilityZones",), self._zones),
            (("aws:index/getPartition:getPartition",), self._partition),
            (("aws:index/getCallerIdentity:getCallerIdentity",), self._caller_identity),
            (("pulumi:pulumi:readStackOutputs",), self._stack_outputs),
            (("aws:ec2transitgateway/getTransitGateway:getTransitGateway",), self._transit_gateway),
            ((ATTACHMENT_READ, ROUTES_READ), self._network_team),
            (
                ("aws:ec2/getVpcIpamPoolCidrs:getVpcIpamPoolCidrs", "aws:ec2/getVpcIpamPool:getVpcIpamPool"),
                self._ipam_pool,
            ),
            (("aws:eks/getAddonVersion:getAddonVersion",), self._addon_version),
            (("aws:index/getRegion:getRegion",), self._region),
        ]

    def _zones(self, args: mocks.MockCallArgs) -> tuple[dict, list]:
        region = self.region_of(args.provider)
        excluded = set(args.args.get("excludeZoneIds") or [])
        zones = [
            (f"{region}{letter}", f"{region[:2]}{region.split('-')[1][0]}{region[-1]}-az{i + 1}")
            for i, letter in enumerate("abcdef")
        ]
        zones = [z for z in zones if z[1] not in excluded]
        return {"names": [z[0] for z in zones], "zoneIds": [z[1] for z in zones], "id": region}, []

    def _partition(self, args: mocks.MockCallArgs) -> tuple[dict, list]:
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []

    def _caller_identity(self, args: mocks.MockCallArgs) -> tuple[dict, list]:
        # Like STS: through a provider that assumes roles, the caller is a session of the last.
        self.monitor.invokes.append((args.token, {}))
        if self.caller_unknown:
            return {}, [("", "operation error STS: GetCallerIdentity, failed to resolve service endpoint")]
        record = self.monitor.registered.get(args.provider.rsplit("::", 1)[0]) if args.provider else None
        roles = json.loads(record.inputs.get("assumeRoles") or "[]") if record else []
        arn = self.caller_arn
        if roles:
            partition, account, name = re.fullmatch(
                r"arn:([^:]+):iam::(\d+):role/(?:.*/)?([^/]+)", roles[-1]["roleArn"]
            ).groups()
            arn = f"arn:{partition}:sts::{account}:assumed-role/{name}/{roles[-1].get('sessionName') or 'session'}"
        return {"accountId": arn.split(":")[4], "arn": arn, "userId": "AIDA", "id": arn.split(":")[4]}, []

    def _stack_outputs(self, args: mocks.MockCallArgs) -> tuple[dict, list]:
        # The engine's answer (pkg/resource/deploy/builtins.go): the named stack's outputs.
        assert args.args["name"] == "organization/istio-eks-mesh/" + self.monitor.stack, args.args
        if self.backend_unreachable:
            # As the engine answers a failed read: a failure the SDK raises where it is called.
            return {}, [("name", "failed to read stack: 503 Service Unavailable\nretry later")]
        return {"name": args.args["name"], "outputs": self.last_outputs, "secretOutputNames": []}, []

    def _transit_gateway(self, args: mocks.MockCallArgs) -> tuple[dict, list]:
        # A network team's gateway: found only if it exists in the provider's region.
        tgw = args.args["id"]
        # Read before validation through the default provider, in the region the read names.
        region = args.args.get("region") or self.region_of(args.provider)
        if self.existing_gateways is not None and tgw not in self.existing_gateways.get(region, ()):
            return {}, [("id", f"InvalidTransitGatewayID.NotFound: Transit Gateway {tgw} does not exist")]
        table = f"tgw-rtb-{digest(tgw, length=17)}"
        found = {
            "id": tgw,
            "ownerId": self.caller_arn.split(":")[4],
            "associationDefaultRouteTableId": table,
            "propagationDefaultRouteTableId": table,
            "defaultRouteTableAssociation": "enable",
            "defaultRouteTablePropagation": "enable",
            **self.gateway_options.get(tgw, {}),
        }
        self.monitor.invokes.append((args.token, found))
        return found, []

    def _ipam_pool(self, args: mocks.MockCallArgs) -> tuple[dict, list]:
        # A pool of the organisation's: {"cidrs": [...], "region": ..., and any attribute otherwise}.
        pool_id = args.args["ipamPoolId"]
        if pool_id not in self.ipam_pools:
            return {}, [("ipamPoolId", f"InvalidIpamPoolId.NotFound: The pool ID '{pool_id}' does not exist")]
        pool = self.ipam_pools[pool_id]
        if args.token.endswith("getVpcIpamPoolCidrs"):
            return {
                "id": pool_id,
                "ipamPoolId": pool_id,
                "ipamPoolCidrs": [{"cidr": c, "state": "provisioned"} for c in pool["cidrs"]],
            }, []
        return {
            "id": pool_id,
            "ipamPoolId": pool_id,
            "locale": pool.get("locale", args.args.get("region")),
            "addressFamily": pool.get("family", "ipv4"),
            "allocationMinNetmaskLength": pool.get("min", 0),
            "allocationMaxNetmaskLength": pool.get("max", 32),
            "allocationResourceTags": pool.get("tags", {}),
        }, []

    def _addon_version(self, args: mocks.MockCallArgs) -> tuple[dict, list]:
        # Like EKS: each Kubernetes minor version has its own add-on builds, and the newest
        # (mostRecent) is a later build than the default one.
        addon, kubernetes = args.args["addonName"], args.args["kubernetesVersion"]
        self.monitor.invokes.append((args.token, dict(args.args)))
        build = (2 if args.args.get("mostRecent") else 1) + self.builds_published
        version = f"v1.{kubernetes.split('.')[1]}.{int(digest(addon), 16) % 10}-eksbuild.{build}"
        return {"addonName": addon, "kubernetesVersion": kubernetes, "version": version, "id": addon}, []

    def _region(self, args: mocks.MockCallArgs) -> tuple[dict, list]:
        region = self.region_of(args.provider)
        return {"name": region, "region": region, "id": region}, []

    def _network_team(self, args: mocks.MockCallArgs) -> tuple[dict, list]:
        """What the network team's gateway says of its attachments and route tables."""
        if args.token == ATTACHMENT_READ:
            if self.attachments.get(args.args["transitGatewayAttachmentId"]) is None and self.attachments:
                # Like the provider's data source for an ID it does not find.
                return {}, [("transitGatewayAttachmentId", "no matching EC2 Transit Gateway Attachment found")]
            found = {
                "id": args.args["transitGatewayAttachmentId"],
                "transitGatewayAttachmentId": args.args["transitGatewayAttachmentId"],
                "transitGatewayId": "tgw-0123456789abcdef0",
                "associationTransitGatewayRouteTableId": OPERATOR_TABLE,
                "associationState": "associated",
                "state": "available",
                "resourceType": "vpn",
                **self.attachments.get(args.args["transitGatewayAttachmentId"], {}),
            }
            self.monitor.invokes.append((args.token, found))
            return found, []
        table = args.args["transitGatewayRouteTableId"]
        if table in self.missing_tables:
            return {}, [("transitGatewayRouteTableId", f"InvalidRouteTableID.NotFound: {table} does not exist")]
        routes = [
            {"destinationCidrBlock": cidr, "state": "active", "type": "static", "prefixListId": ""}
            for cidr in self.team_routes.get(table, [])
        ]
        return {"id": table, "transitGatewayRouteTableId": table, "filters": args.args["filters"], "routes": routes}, []

    # --- AWS -------------------------------------------------------------------------------------

    def _aws_ec2_vpc_Vpc(self, args):
        vpc_id = f"vpc-{digest(args.name, length=17)}"
        outputs = {"arn": f"arn:aws:ec2:{self.region_of(args.provider)}:123456789012:vpc/{vpc_id}"}
        pool = args.inputs.get("ipv4IpamPoolId")
        if pool:
            # Like IPAM: the lowest free block of the netmask in the pool's CIDR.
            taken = self.__dict__.setdefault("_ipam_taken", {}).setdefault(pool, [])
            blocks = ipaddress.ip_network(self.ipam_pools[pool]["cidrs"][0]).subnets(
                new_prefix=int(args.inputs["ipv4NetmaskLength"])
            )
            block = next(b for b in blocks if not any(b.overlaps(t) for t in taken))
            taken.append(block)
            outputs["cidrBlock"] = str(block)
        return vpc_id, outputs

    def _aws_ecr_pullThroughCacheRule_PullThroughCacheRule(self, args):
        # The rule's registry is the account of the provider's credentials; its ID is the prefix.
        return args.inputs["ecrRepositoryPrefix"], {**args.inputs, "registryId": "123456789012"}

    def _aws_ec2_subnet_Subnet(self, args):
        return f"subnet-{digest(args.name, length=17)}", {}

    def _aws_ec2_eip_Eip(self, args):
        return f"eipalloc-{digest(args.name, length=17)}", {
            "publicIp": public_ip(args.name),
            "allocationId": f"eipalloc-{digest(args.name, length=17)}",
        }

    def _aws_ec2_vpcPeeringConnection_VpcPeeringConnection(self, args):
        return f"pcx-{digest(args.name, length=17)}", {
            "acceptStatus": "active" if args.inputs.get("autoAccept") else "pending-acceptance"
        }

    def _aws_ec2transitgateway_transitGateway_TransitGateway(self, args):
        # With default association and propagation, one route table serves both.
        table = f"tgw-rtb-{digest(args.name, length=17)}"
        return f"tgw-{digest(args.name, length=17)}", {
            "associationDefaultRouteTableId": table,
            "propagationDefaultRouteTableId": table,
        }

    def _aws_ec2transitgateway_vpcAttachment_VpcAttachment(self, args):
        return f"tgw-attach-{digest(args.name, length=17)}", {}

    def _aws_ec2transitgateway_peeringAttachment_PeeringAttachment(self, args):
        return f"tgw-attach-{digest(args.name, length=17)}", {}

    def _aws_ec2_natGateway_NatGateway(self, args):
        return f"nat-{digest(args.name, length=17)}", {}

    def _aws_iam_role_Role(self, args):
        role_name = args.inputs.get("name") or f"{args.name}-{digest(args.name, length=7)}"
        return role_name, {"name": role_name, "arn": f"arn:aws:iam::123456789012:role/{role_name}"}

    def _aws_amp_workspace_Workspace(self, args):
        region, ws = (
            self.region_of(args.provider),
            f"ws-{digest(args.name, length=8)}-0000-4000-8000-{digest(args.name, 'ws')}",
        )
        return ws, {
            "arn": f"arn:aws:aps:{region}:123456789012:workspace/{ws}",
            "prometheusEndpoint": f"https://aps-workspaces.{region}.amazonaws.com/workspaces/{ws}/",
        }

    def _aws_amp_scraper_Scraper(self, args):
        # As AMP names the collector's service-linked role (AMP-collector-how-to.html, describe-scraper).
        scraper = f"s-{digest(args.name, length=8)}-0000-4000-8000-{digest(args.name, 's')}"
        role = f"AWSServiceRoleForAmazonPrometheusScraper_{digest(args.name, 'role', length=8)}-0000-4"
        return scraper, {
            "arn": f"arn:aws:aps:{self.region_of(args.provider)}:123456789012:scraper/{scraper}",
            "roleArn": f"arn:aws:iam::123456789012:role/aws-service-role/scraper.aps.amazonaws.com/{role}",
        }

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
        inner_urn = (
            f"urn:pulumi:mock::istio-eks-mesh::eks:index:Cluster$aws:eks/cluster:Cluster::{args.name}-eksCluster"
        )
        ref = self.monitor.add_resource(
            inner_urn,
            eks_name,
            {
                "name": eks_name,
                "endpoint": endpoint,
                "certificateAuthority": {"data": ca_b64},
                "arn": f"arn:aws:eks:{region}:123456789012:cluster/{eks_name}",
                "vpcConfig": {"clusterSecurityGroupId": f"sg-{digest(eks_name, 'eks-cluster-sg', length=17)}"},
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

    def _aws_ec2_launchTemplate_LaunchTemplate(self, args):
        return f"lt-{digest(args.name, length=17)}", {"latestVersion": 1}

    def _eks_index_ManagedNodeGroup(self, args):
        """Like EKS's CreateNodegroup: without an `amiType` it picks the x86 AMI and refuses arm64
        instance types; an AMI of the other architecture is refused too. With a launch template it
        refuses `diskSize` (CreateNodegroup: "If you specify launchTemplate, then don't specify
        diskSize, or the node group deployment will fail")."""
        if args.inputs.get("launchTemplate") and args.inputs.get("diskSize") is not None:
            raise ValueError("InvalidParameterException: Disk size must be specified within the launch template.")
        arm = [t for t in args.inputs.get("instanceTypes") or [] if t.split(".")[0] in GRAVITON_FAMILIES]
        ami = args.inputs.get("amiType") or "AL2023_x86_64_STANDARD"
        if arm and "ARM_64" not in ami or not arm and "ARM_64" in ami:
            raise ValueError(
                f"InvalidParameterException: {arm or args.inputs.get('instanceTypes')} are not valid instance"
                f" types for amiType {ami}"
            )
        return "", {}

    def _providers_of(self, args) -> list[str]:
        # MockResourceArgs has no provider map for components; the harness stores it on the record.
        for record in list(self.monitor.registered.values()):
            if record.type == args.typ and record.name == args.name:
                return list(record.providers.values())
        return []


# Graviton instance families, from EC2's instance type pages (general purpose, compute, memory,
# storage and accelerated: aws.amazon.com/ec2/instance-types/), written out here rather than
# derived, so the mock does not share the program's rule.
GRAVITON_FAMILIES = frozenset(
    [
        "a1",
        "t4g",
        "m6g",
        "m6gd",
        "m7g",
        "m7gd",
        "m8g",
        "m8gd",
        "c6g",
        "c6gd",
        "c6gn",
        "c7g",
        "c7gd",
        "c7gn",
        "c8g",
        "c8gd",
        "c8gn",
        "r6g",
        "r6gd",
        "r7g",
        "r7gd",
        "r8g",
        "r8gd",
        "x2gd",
        "x8g",
        "i4g",
        "im4gn",
        "is4gen",
        "g5g",
        # NVIDIA Grace (arm64) with Blackwell GPUs.
        "p6e-gb200",
        "hpc7g",
    ]
)


# --- pulumi-tls: real keys and certificates, following the provider's semantics ----------------

KEY_USAGES = {
    "digital_signature": "digital_signature",
    "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign",
    "encipher_only": "encipher_only",
    "decipher_only": "decipher_only",
}
EXTENDED_KEY_USAGES = {
    "any_extended": x509.oid.ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server_auth": x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": x509.oid.ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timestamping": x509.oid.ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING,
}
SUBJECT_FIELDS = {
    "commonName": NameOID.COMMON_NAME,
    "organization": NameOID.ORGANIZATION_NAME,
    "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "locality": NameOID.LOCALITY_NAME,
    "province": NameOID.STATE_OR_PROVINCE_NAME,
    "country": NameOID.COUNTRY_NAME,
}


# Real keys are slow to make (RSA 4096: about half a second each), so each is made once per machine
# and kept as PEM in the temp directory, shared by the test workers and by later runs. Keys are
# test material only; the same name gives the same key in every run, so runs stay comparable.
KEY_CACHE = Path(tempfile.gettempdir()) / "istio-eks-mesh-test-keys"


@functools.cache
def _generated_key(name: str, algorithm: str, size: str):
    path = KEY_CACHE / f"{digest(name, algorithm, size, length=24)}.pem"
    try:
        return _load_key(path.read_text())
    except (OSError, ValueError):
        pass
    if algorithm == "RSA":
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(size))
    else:
        curves = {"P224": ec.SECP224R1(), "P256": ec.SECP256R1(), "P384": ec.SECP384R1(), "P521": ec.SECP521R1()}
        key = ec.generate_private_key(curves[size])
    KEY_CACHE.mkdir(exist_ok=True)
    # Written whole and renamed, so a parallel worker never reads half a key.
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    partial.replace(path)
    return key


@functools.cache
def _load_key(pem: str):
    # Our own keys, known good: skipping the RSA consistency check saves 0.2 s per 4096-bit load.
    return serialization.load_pem_private_key(pem.encode(), password=None, unsafe_skip_rsa_key_validation=True)


def _subject(fields: dict | None) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(oid, fields[key]) for key, oid in SUBJECT_FIELDS.items() if fields and fields.get(key)]
    )


def _build_certificate(
    inputs: dict, subject: x509.Name, public_key, dns_names, issuer: x509.Name, signing_key, issuer_cert=None
) -> str:
    validity = datetime.timedelta(hours=int(inputs["validityPeriodHours"]))
    serial = int(digest(str(subject), str(issuer), length=30), 16)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(EPOCH)
        .not_valid_after(EPOCH + validity)
    )
    if inputs.get("isCaCertificate"):
        path = int(inputs.get("maxPathLength") or 0)
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=path or None), critical=True)
    uses = inputs.get("allowedUses") or []
    usage = dict.fromkeys(KEY_USAGES.values(), False)
    for use in uses:
        if use in KEY_USAGES:
            usage[KEY_USAGES[use]] = True
    if any(usage.values()):
        builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    extended = [EXTENDED_KEY_USAGES[u] for u in uses if u in EXTENDED_KEY_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    if inputs.get("setSubjectKeyId"):
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()), critical=False
        )
    algorithm = hashes.SHA256()
    cert = builder.sign(signing_key, algorithm)
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _tls_index_privateKey_PrivateKey(self, args):
    algorithm = args.inputs.get("algorithm", "RSA")
    size = str(int(args.inputs.get("rsaBits", 2048))) if algorithm == "RSA" else args.inputs.get("ecdsaCurve", "P224")
    key = _generated_key(args.name, algorithm, size)
    traditional = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return digest(public, length=40), {
        "privateKeyPem": traditional,
        "privateKeyPemPkcs8": pkcs8,
        "publicKeyPem": public,
    }


def _tls_index_selfSignedCert_SelfSignedCert(self, args):
    key = _load_key(args.inputs["privateKeyPem"])
    subject = _subject(args.inputs.get("subject"))
    pem = _build_certificate(args.inputs, subject, key.public_key(), args.inputs.get("dnsNames"), subject, key)
    return digest(pem, length=20), {"certPem": pem, "validityStartTime": EPOCH.isoformat(), "readyForRenewal": False}


def _tls_index_certRequest_CertRequest(self, args):
    key = _load_key(args.inputs["privateKeyPem"])
    builder = x509.CertificateSigningRequestBuilder().subject_name(_subject(args.inputs.get("subject")))
    if args.inputs.get("dnsNames"):
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in args.inputs["dnsNames"]]), critical=False
        )
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()
    return digest(pem, length=20), {"certRequestPem": pem}


def _tls_index_locallySignedCert_LocallySignedCert(self, args):
    # Like the provider: subject and SANs come from the request, the issuer from the CA cert.
    request = x509.load_pem_x509_csr(args.inputs["certRequestPem"].encode())
    ca_cert = x509.load_pem_x509_certificate(args.inputs["caCertPem"].encode())
    ca_key = _load_key(args.inputs["caPrivateKeyPem"])
    try:
        dns = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        dns = []
    # The provider adds an authority key identifier only when asked (default false): verifiers then
    # find the issuer by subject name alone.
    issuer = ca_cert if args.inputs.get("setAuthorityKeyId") else None
    pem = _build_certificate(args.inputs, request.subject, request.public_key(), dns, ca_cert.subject, ca_key, issuer)
    return digest(pem, length=20), {"certPem": pem, "validityStartTime": EPOCH.isoformat(), "readyForRenewal": False}


for _fn in (
    _tls_index_privateKey_PrivateKey,
    _tls_index_selfSignedCert_SelfSignedCert,
    _tls_index_certRequest_CertRequest,
    _tls_index_locallySignedCert_LocallySignedCert,
):
    setattr(MeshMocks, _fn.__name__, _fn)


def _kubernetes_core_v1_Secret(self, args):
    # The token controller fills a service-account-token Secret; the provider waits for it.
    if args.inputs.get("type") == "kubernetes.io/service-account-token":
        account = args.inputs["metadata"]["annotations"]["kubernetes.io/service-account.name"]
        token = f"eyJhbGciOiJSUzI1NiJ9.{digest(args.name, account, length=40)}.sig"
        data = {
            "token": base64.b64encode(token.encode()).decode(),
            "namespace": base64.b64encode(b"istio-system").decode(),
        }
        return f"{args.name}-id", {"data": data}
    return f"{args.name}-id", {}


def _kubernetes_core_v1_Service(self, args):
    """A read of a Service (the east-west gateway's, made by its chart) has the NLB's DNS name in
    its status, as the load balancer controller writes it; unless its cluster is in
    `unaddressed`, where the controller could not make the NLB."""
    if not args.resource_id:
        return f"{args.name}-id", {}
    provider = self.monitor.registered[args.provider.rsplit("::", 1)[0]]
    cluster = provider.name.removesuffix("-k8s")
    region = re.search(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.eks\.amazonaws\.com", json.dumps(provider.inputs)).group(1)
    namespace, name = args.resource_id.split("/")
    metadata = {"name": name, "namespace": namespace}
    if cluster in self.unaddressed:
        return args.resource_id, {"metadata": metadata, "status": {"loadBalancer": {}}}
    hostname = f"k8s-{namespace[:8]}-{name[:8]}-{digest(cluster, name, length=10)}.elb.{region}.amazonaws.com"
    return args.resource_id, {"metadata": metadata, "status": {"loadBalancer": {"ingress": [{"hostname": hostname}]}}}


MeshMocks._kubernetes_core_v1_Secret = _kubernetes_core_v1_Secret
MeshMocks._kubernetes_core_v1_Service = _kubernetes_core_v1_Service
