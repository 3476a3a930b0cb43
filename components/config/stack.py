"""Reading the stack config: the one place that touches `pulumi.Config`.

`load_stack_config` reads every key of this project and the stack's `aws:` settings, hands them to
the pure checks (`whole.py`) and logs what is valid but worth a second look. `load_last_deployment`
reads what the stack's last update exported, which the program keeps stable across runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.config import clock
from components.config.parse import TOP_LEVEL_KEYS
from components.config.whole import StackConfig, check_stack_config
from components.model.credentials import TokenRecord
from components.model.deployed import LastDeployment
from components.model.spec import IPAM_POOL_ID, PROJECT, IpamPool, TransitGatewayFacts


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


@dataclass(frozen=True)
class StackValues:
    """The stack's config as the CLI hands it over: the project's keys and the `aws:` ones, decoded,
    and which of each are stored with `--secret`."""

    project: Mapping[str, Any]
    aws: Mapping[str, Any]
    secret_keys: frozenset[str]
    aws_secret_keys: frozenset[str]


def read_stack_values() -> StackValues:
    config = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    for key in dict.fromkeys([*_config_keys(PROJECT), *TOP_LEVEL_KEYS]):
        value = config.get(key)
        if value is not None:
            raw[key] = value if key in ("meshId", "istioVersion") else _decode(value)
    aws_values = {key: value if key == "profile" else _decode(value) for key, value in _config_keys("aws").items()}
    return StackValues(
        project=raw,
        aws=aws_values,
        secret_keys=frozenset(k for k in raw if pulumi.runtime.config.is_config_secret(f"{PROJECT}:{k}")),
        aws_secret_keys=frozenset(k for k in aws_values if pulumi.runtime.config.is_config_secret(f"aws:{k}")),
    )


def load_stack_config(
    values: StackValues,
    last: LastDeployment = LastDeployment(),
    ipam: Mapping[str, IpamPool] | None = None,
    gateways: Mapping[str, TransitGatewayFacts] | None = None,
) -> StackConfig:
    """Validates the stack's config (`values`), against what the stack last deployed (`last`) and
    what AWS says of the IPAM pools and Transit Gateways it names (`ipam`, `gateways`, read before):
    one error with every problem, or the config, its warnings logged. Call before creating any resource."""
    loaded = check_stack_config(
        values.project,
        values.aws,
        stack=pulumi.get_stack(),
        now=clock.now(),
        secret_keys=values.secret_keys,
        aws_secret_keys=values.aws_secret_keys,
        last=last,
        ipam=ipam,
        gateways=gateways,
    )
    for warning in [*loaded.warnings, *loaded.aws.notices]:
        pulumi.log.warn(warning)
    return loaded


# The engine's own function behind a StackReference (pkg/resource/deploy/builtins.go in
# pulumi/pulumi): the named stack's outputs as its last update left them, empty before the first.
READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"


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
        zones={
            k: tuple(v["availabilityZones"])
            for k, v in clusters.items()
            if isinstance(v, dict)
            and isinstance(v.get("availabilityZones"), list)
            and all(isinstance(z, str) for z in v["availabilityZones"])
        }
        if isinstance(clusters, dict)
        else {},
        kms_keys={
            k: v["secretsKmsKeyArn"]
            for k, v in clusters.items()
            if isinstance(v, dict) and isinstance(v.get("secretsKmsKeyArn"), str)
        }
        if isinstance(clusters, dict)
        else {},
        node_ami_types=_group_records(clusters, "nodeGroupAmiTypes", str),
        node_launch_templates=_group_records(clusters, "nodeGroupLaunchTemplates", bool),
        node_release_versions=_group_records(clusters, "nodeGroupReleaseVersions", str),
        creators=_of_type(creators, str),
        addon_versions=_of_type(addons, dict),
        vpc_cidrs=_of_type(cidrs, str),
        vpc_ipam_pools={k: v for k, v in _of_type(pools, str).items() if IPAM_POOL_ID.fullmatch(v)},
        same_network_pairs=_pairs(pairs),
        reader_tokens=_token_records(outputs.get("readerTokens")),
        mtls=outputs.get("mtls") if isinstance(outputs.get("mtls"), str) else None,
    )


def _group_records(clusters: Any, key: str, kind: type) -> dict[str, dict[str, Any]]:
    """cluster -> group -> value of each cluster's `key` record (`nodeGroupAmiTypes`, ...)."""
    if not isinstance(clusters, dict):
        return {}
    return {
        name: {g: value for g, value in v[key].items() if isinstance(value, kind)}
        for name, v in clusters.items()
        if isinstance(v, dict) and isinstance(v.get(key), dict)
    }


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
