"""Reading the stack config: the one place that touches `pulumi.Config`.

`load_mesh_spec` reads every key of this project from the stack, hands the values to the pure
parser (`parse.py`) and warns about what is valid but worth a second look (Elastic IP quota, an
API endpoint open to the internet, a Kubernetes version past EKS standard support). It also
reads the stack's `aws:` settings that the mesh's own AWS providers honour, and what the stack's
last update exported (`load_last_deployment`), which the program keeps stable across runs.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config.aws_settings import AwsSettings, parse_aws_settings
from components.config.connectivity import IPAM_POOL_ID, private_notices
from components.config.credentials import rotation_notices
from components.config.eks import check_upgrade_steps, support_warnings
from components.config.mtls import mtls_notices
from components.config.parse import TOP_LEVEL_KEYS, parse_mesh_spec, stack_name_notices, upgrade_notices
from components.config.revisions import support_notices
from components.config.sources import image_pull_notices
from components.model.addon_versions import RECORD_VERSION_KEY
from components.model.credentials import TokenRecord, age_notices
from components.model.deployed import LastDeployment
from components.model.spec import PROJECT, IpamPool, MeshSpec

# Elastic IPs per region an AWS account gets by default.
DEFAULT_EIP_QUOTA = 5


def _decode(value: str) -> Any:
    # Pulumi hands structured config over as JSON text and plain strings as they are; a string where
    # a list belongs must reach validation as a string, not fail here.
    try:
        return json.loads(value)
    except ValueError:
        return value


def _config_keys(namespace: str) -> dict[str, str]:
    """Every key the stack sets in `namespace`, without it, as the CLI hands it over."""
    values = dict(pulumi.runtime.config.get_config_env())
    values.update(pulumi.runtime.config.CONFIG.get())
    prefix = f"{namespace}:"
    return {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}


def elastic_ip_warnings(spec: MeshSpec) -> list[str]:
    """Regions where the mesh needs more Elastic IPs than an account has by default. A warning, not an
    error: the quota is per account and may have been raised."""
    warnings = []
    for region, count in spec.elastic_ips_by_region().items():
        if count <= DEFAULT_EIP_QUOTA:
            continue
        users = [
            f"{c.name} ({c.nat_count}"
            f" NAT{', ' + str(c.az_count) + ' static gateway' if c.east_west_static_ips else ''})"
            for c in spec.clusters
            if c.region == region
        ]
        warnings.append(
            f"the mesh allocates {count} Elastic IPs in {region} ({', '.join(users)}); the default quota is"
            f" {DEFAULT_EIP_QUOTA} per region: raise it (Service Quotas, EC2 'EC2-VPC Elastic IPs') before"
            " `pulumi up`, or allocation fails half-way; natGateways: single or fewer availabilityZones need fewer"
        )
    return warnings


def utc_now() -> datetime.datetime:
    """The program's clock (certificate validity, token ages, support dates); tests pin it."""
    return datetime.datetime.now(datetime.UTC)


def load_mesh_spec(last: LastDeployment = LastDeployment()) -> MeshSpec:
    """Reads the stack's config and validates it, against what the stack last deployed (`last`)
    too. Call before creating any resource."""
    config = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    for key in dict.fromkeys([*_config_keys(PROJECT), *TOP_LEVEL_KEYS]):
        value = config.get(key)
        if value is not None:
            raw[key] = value if key in ("meshId", "istioVersion") else _decode(value)
    secret_keys = frozenset(k for k in raw if pulumi.runtime.config.is_config_secret(f"{PROJECT}:{k}"))
    now = utc_now()
    spec = parse_mesh_spec(
        raw,
        default_region=pulumi.Config("aws").get("region"),
        stack=pulumi.get_stack(),
        secret_keys=secret_keys,
        last=last,
        ipam=read_ipam_pools(raw.get("ipamPools")),
        now=now,
    )
    check_upgrade_steps(spec.clusters, {name: v.get(RECORD_VERSION_KEY) for name, v in last.addon_versions.items()})
    for notice in upgrade_notices(raw, spec):
        pulumi.log.warn(f"{PROJECT}:{notice}")
    today = now.date()
    version_key = "istioRevisions" if "istioRevisions" in raw else "istioVersion"
    istio_notices = [f"{PROJECT}:{version_key}: {n}" for n in support_notices(spec.revisions, today)]
    for warning in [
        *stack_name_notices(pulumi.get_stack()),
        *elastic_ip_warnings(spec),
        *(f"{PROJECT}:{n}" for n in private_notices(spec.connectivity)),
        *support_warnings(spec.clusters, today),
        *istio_notices,
        *(f"{PROJECT}:{n}" for n in age_notices(spec.reader_tokens, now)),
        *(f"{PROJECT}:{n}" for n in mtls_notices(raw, spec.mtls)),
        *(f"{PROJECT}:{n}" for n in image_pull_notices(spec)),
        *(
            f"{PROJECT}:{n}"
            for n in rotation_notices(spec.reader_tokens, last, [r.version for r in spec.revisions.revisions])
        ),
    ]:
        pulumi.log.warn(warning)
    if spec.api_open_to_internet:
        why = "is not set" if "apiAccessCidrs" not in raw else "contains 0.0.0.0/0"
        pulumi.log.warn(
            f"{PROJECT}:apiAccessCidrs {why}, so the EKS API endpoints accept connections from"
            " 0.0.0.0/0. Set it to the CIDRs you run Pulumi and kubectl from."
        )
    return spec


def load_aws_settings(spec: MeshSpec) -> AwsSettings:
    """The stack's `aws:` settings, every one of them, that the mesh's own AWS providers and
    kubeconfigs honour, checked against the clusters' regions."""
    values = {key: value if key == "profile" else _decode(value) for key, value in _config_keys("aws").items()}
    secret = frozenset(k for k in values if pulumi.runtime.config.is_config_secret(f"aws:{k}"))
    settings = parse_aws_settings(
        values,
        regions=[c.region for c in spec.clusters],
        secret_keys=secret,
        kubeconfig_role=spec.access.kubeconfig_role_arn,
    )
    for notice in settings.notices:
        pulumi.log.warn(notice)
    return settings


# The engine's own function behind a StackReference (pkg/resource/deploy/builtins.go in
# pulumi/pulumi): the named stack's outputs as its last update left them, empty before the first.
READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"


def read_ipam_pools(value: Any) -> dict[str, IpamPool]:
    """What AWS says of each pool `ipamPools` names (an entry out of shape is left to validation,
    which names it), so validation can avoid and check their ranges before anything exists. Read
    through the stack's default AWS provider, which takes the same `aws:` settings as the mesh's."""
    pools = {}
    for region, pool_id in value.items() if isinstance(value, dict) else ():
        if not (isinstance(region, str) and isinstance(pool_id, str) and IPAM_POOL_ID.fullmatch(pool_id)):
            continue
        try:
            pool = aws.ec2.get_vpc_ipam_pool(ipam_pool_id=pool_id, region=region)
            cidrs = aws.ec2.get_vpc_ipam_pool_cidrs(ipam_pool_id=pool_id, region=region)
        except Exception as err:  # noqa: BLE001 re-raised naming the key
            raise pulumi.RunError(
                f"ipamPools.{region}: cannot read {pool_id} in {region}: {str(err).splitlines()[0][:300]}"
            ) from None
        pools[pool_id] = IpamPool(
            locale=pool.locale,
            address_family=pool.address_family,
            min_netmask=pool.allocation_min_netmask_length,
            max_netmask=pool.allocation_max_netmask_length or 32,
            required_tags=dict(pool.allocation_resource_tags or {}),
            provisioned=tuple(c.cidr for c in cidrs.ipam_pool_cidrs if c.state == "provisioned"),
        )
    return pools


def load_last_deployment() -> LastDeployment:
    """What this stack's last update exported (`clusters`, `clusterCreators`, `addonVersions`, `vpcCidrs`,
    `vpcIpamPools`, `sameNetworkPairs`, `readerTokens`, `mtls`), read back."""
    # The DIY backend's organization is "organization", Pulumi Cloud's the stack's.
    qualified = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    try:
        result = pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": qualified})
    except Exception as err:  # noqa: BLE001 re-raised with what to do
        # A DIY backend in the legacy layout (not project-scoped) refuses qualified names; a bare
        # name elsewhere would be looked up in another organization, so it is never tried.
        raise pulumi.RunError(
            f"cannot read this stack's last outputs ({qualified}), which keep its VPC ranges, cluster creators"
            " and add-on"
            f" versions: {str(err).splitlines()[0][:300]}. A DIY backend in the legacy layout needs `pulumi"
            " state upgrade`"
        ) from None
    return last_deployment_from_outputs((result.value or {}).get("outputs") or {})


def last_deployment_from_outputs(outputs: dict[str, Any]) -> LastDeployment:
    """The LastDeployment in a stack's outputs (as `pulumi stack output --json` prints them too)."""
    # What a hand-edited state may hold out of shape is taken as not recorded.
    clusters, creators, addons, cidrs, pools, pairs = (
        outputs.get(key)
        for key in ("clusters", "clusterCreators", "addonVersions", "vpcCidrs", "vpcIpamPools", "sameNetworkPairs")
    )
    return LastDeployment(
        clusters=frozenset(clusters) if isinstance(clusters, dict) else frozenset(),
        regions={
            k: v["region"] for k, v in clusters.items() if isinstance(v, dict) and isinstance(v.get("region"), str)
        }
        if isinstance(clusters, dict)
        else {},
        creators=_of_type(creators, str),
        addon_versions=_of_type(addons, dict),
        vpc_cidrs=_of_type(cidrs, str),
        vpc_ipam_pools={k: v for k, v in _of_type(pools, str).items() if IPAM_POOL_ID.fullmatch(v)},
        same_network_pairs=_pairs(pairs),
        reader_tokens=_token_records(outputs.get("readerTokens")),
        mtls=outputs.get("mtls") if isinstance(outputs.get("mtls"), str) else None,
    )


def _token_records(value: Any) -> dict[str, TokenRecord]:
    records = {}
    for name, record in _of_type(value, dict).items():
        generation, created = record.get("generation"), record.get("createdAt")
        # JSON numbers may come back as floats (the engine's Struct has only doubles).
        if isinstance(generation, float) and generation.is_integer():
            generation = int(generation)
        if isinstance(generation, int) and not isinstance(generation, bool) and isinstance(created, str):
            records[name] = TokenRecord(generation, created)
    return records


def _pairs(value: Any) -> frozenset[tuple[str, str]]:
    """The recorded pairs; a pair recorded both ways (a hand edit) is taken as not recorded."""
    pairs = {
        (p[0], p[1])
        for p in (value if isinstance(value, list) else [])
        if isinstance(p, list) and len(p) == 2 and all(isinstance(n, str) for n in p)
    }
    return frozenset(p for p in pairs if p[::-1] not in pairs)


def _of_type(value: Any, kind: type) -> dict[str, Any]:
    return {k: v for k, v in value.items() if isinstance(v, kind)} if isinstance(value, dict) else {}
