"""Validation of a cluster's `nodeGroup`: instance types of one CPU architecture, and node counts
that can run Istio within EKS's limits."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from components.config import node_ami
from components.config.instance_types import check_listed
from components.config.node_release import parse_release_version
from components.config.node_scheduling import check_untainted_group, parse_labels, parse_taints
from components.config.validate import (
    Problems,
    expect,
    expect_name,
    given,
    indexed,
    quantity_value,
    shown,
    unknown_fields,
)
from components.model.spec import ClusterSpec, ClusterTopology, MeshTopology, NodeGroupSpec
from components.plan.istio_values import ISTIOD_MEMORY_MIB, ISTIOD_MEMORY_MIB_PER_CLUSTER, istiod_resources
from components.plan.node_capacity import node_capacity, smallest_fitting

NODE_GROUP_FIELDS = (
    "instanceTypes",
    "desiredSize",
    "minSize",
    "maxSize",
    "capacityType",
    "protect",
    "diskSize",
    "labels",
    "taints",
    "launchTemplate",
    "imdsHopLimit",
    "releaseVersion",
)
# Root volume sizes EKS and EBS take, in GiB: the node AMI needs 20 (EKS's default, CreateNodegroup
# `diskSize`), and a gp2/gp3 volume holds at most 16 TiB (EBS volume types).
MIN_DISK_GIB, MAX_DISK_GIB = 20, 16_384
# EC2's range for the IMDS PUT response hop limit (LaunchTemplateInstanceMetadataOptionsRequest,
# HttpPutResponseHopLimit: 1 to 64, EC2 API reference).
MAX_HOP_LIMIT = 64
# A group's name in `nodeGroups`: short, so `<cluster>-nodes-<name>` and the name pulumi-eks derives
# from it stay within EKS's 63 characters for a node group name.
_GROUP_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?", re.ASCII)
# Managed node groups per cluster, EKS's default quota (EKS user guide, service-quotas).
MAX_NODE_GROUPS = 30
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
# <family>.<size>: m6i.large, c7gn.16xlarge, m7i-flex.xlarge, u7i-12tb.224xlarge, m5.metal.
_INSTANCE_TYPE = re.compile(
    r"[a-z][a-z0-9-]{0,20}\.(nano|micro|small|medium|large|([1-9]\d{0,2})?xlarge|metal(-[1-9]\d{0,2}xl)?)", re.ASCII
)
# Graviton (arm64) families: a1, and a `g` right after the generation (m7g, c7gn, t4g, r8gd, im4gn).
_ARM_FAMILY = re.compile(r"a1|[a-z]+\d+g[a-z]*", re.ASCII)
# EKS CreateNodegroup takes 0-20 `instanceTypes` (EKS API reference, CreateNodegroup).
MAX_INSTANCE_TYPES = 20
# EKS: at most this many nodes in a managed node group.
MAX_NODES = 450


def parse_node_groups(
    item: Mapping[str, Any], path: str, problems: Problems, kubernetes_version: Any = None
) -> tuple[NodeGroupSpec, ...]:
    """`nodeGroup` (one group, `default`) or `nodeGroups` (named groups, so that a change EKS makes by
    replacing a group is a new group beside the old one, then the old one removed), in a cluster of
    `kubernetes_version`."""
    if "nodeGroups" not in item:
        group = parse_node_group(item.get("nodeGroup"), f"{path}.nodeGroup", problems, kubernetes_version)
        check_untainted_group([group], f"{path}.nodeGroup.taints", problems)
        return (group,)
    groups_path = f"{path}.nodeGroups"
    if "nodeGroup" in item:
        problems.add(groups_path, "set nodeGroup (one group) or nodeGroups (named groups), not both")
        return (NodeGroupSpec(),)
    raw = item["nodeGroups"]
    example = '[{"name": "default", "instanceTypes": ["m6i.large"]}]'
    if not expect(raw, list, groups_path, problems, example):
        return (NodeGroupSpec(),)
    if not 1 <= len(raw) <= MAX_NODE_GROUPS:
        problems.add(groups_path, f"lists {len(raw)} groups; list 1 to {MAX_NODE_GROUPS} (Istio needs nodes)")
        return (NodeGroupSpec(),)
    groups = []
    for i, entry in enumerate(raw):
        here = f"{groups_path}[{i}]"
        if not expect(entry, dict, here, problems, example[1:-1]):
            continue
        name = entry.get("name")
        if not expect_name(name, _GROUP_NAME, 20, f"{here}.name", problems, "a node group name", '"default"'):
            continue
        if name in (g.name for g in groups):
            problems.add(f"{here}.name", f"{name!r} is listed twice; node group names are unique in a cluster")
            continue
        group = parse_node_group({k: v for k, v in entry.items() if k != "name"}, here, problems, kubernetes_version)
        groups.append(replace(group, name=name))
    if groups:
        check_untainted_group(groups, groups_path, problems)
    return tuple(groups) or (NodeGroupSpec(),)


def parse_node_group(value: Any, path: str, problems: Problems, kubernetes_version: Any = None) -> NodeGroupSpec:
    defaults = NodeGroupSpec()
    if value is None:
        return defaults
    if not expect(value, dict, path, problems, '{"instanceTypes": ["m6i.large"], "desiredSize": 2}'):
        return defaults
    unknown_fields(value, NODE_GROUP_FIELDS, path, problems)
    protect = value.get("protect")
    if protect is not None and not isinstance(protect, bool):
        problems.add(f"{path}.protect", f"must be true or false, got {given(protect)}")
        protect = None
    instance_types = _parse_instance_types(value.get("instanceTypes"), f"{path}.instanceTypes", problems)
    arm = bool(instance_types) and all(_is_arm(t) for t in instance_types)
    accelerator = node_ami.accelerator(instance_types or (), f"{path}.instanceTypes", problems)
    sizes = _parse_sizes(value, defaults, path, problems)
    capacity_type = parse_choice(value, "capacityType", defaults.capacity_type, CAPACITY_TYPES, path, problems)
    labels = parse_labels(value.get("labels"), f"{path}.labels", problems)
    taints = parse_taints(value.get("taints"), f"{path}.taints", problems)
    disk = value.get("diskSize")
    if disk is not None and expect(disk, int, f"{path}.diskSize", problems, "50"):
        if not MIN_DISK_GIB <= disk <= MAX_DISK_GIB:
            problems.add(f"{path}.diskSize", f"is {shown(disk)} GiB; use {MIN_DISK_GIB} to {MAX_DISK_GIB}")
            disk = None
    elif disk is not None:
        disk = None
    launch_template, hop_limit = _parse_template(value, path, problems)
    return NodeGroupSpec(
        release_version=parse_release_version(
            value.get("releaseVersion"), kubernetes_version, f"{path}.releaseVersion", problems
        ),
        launch_template=launch_template,
        imds_hop_limit=hop_limit,
        labels=labels,
        taints=taints,
        disk_size=disk,
        instance_types=instance_types or defaults.instance_types,
        desired_size=sizes.get("desiredSize", defaults.desired_size),
        min_size=sizes.get("minSize", defaults.min_size),
        max_size=sizes.get("maxSize", defaults.max_size),
        capacity_type=capacity_type if capacity_type in CAPACITY_TYPES else defaults.capacity_type,
        architecture="arm64" if arm else "x86_64",
        protect=protect,
        ami_type=node_ami.AMI_TYPES.get(("arm64" if arm else "x86_64", accelerator)),
    )


def _parse_template(value: dict, path: str, problems: Problems) -> tuple[bool | None, int]:
    """`launchTemplate` (None when unset: config/node_template.py decides) and `imdsHopLimit`."""
    template = value.get("launchTemplate")
    if template is not None and not isinstance(template, bool):
        problems.add(f"{path}.launchTemplate", f"must be true or false, got {given(template)}")
        template = None
    hops = value.get("imdsHopLimit", 1)
    if not expect(hops, int, f"{path}.imdsHopLimit", problems, "1"):
        return template, 1
    if not 1 <= hops <= MAX_HOP_LIMIT:
        problems.add(
            f"{path}.imdsHopLimit", f"is {shown(hops)}; EC2 takes 1 to {MAX_HOP_LIMIT} (1: pods cannot reach IMDS)"
        )
        return template, 1
    if template is False and "imdsHopLimit" in value:
        problems.add(
            f"{path}.imdsHopLimit",
            "is set with launchTemplate: false; the hop limit lives in the program's launch template: drop one of them",
        )
    return template, hops


def _is_arm(instance_type: str) -> bool:
    family = instance_type.split(".")[0]
    return family in node_ami.ARM_NVIDIA_FAMILIES or bool(_ARM_FAMILY.fullmatch(family.split("-")[0]))


def _parse_instance_types(raw: Any, path: str, problems: Problems) -> tuple[str, ...] | None:
    if raw is None or not expect(raw, list, path, problems, '["m6i.large"]'):
        return None
    if not raw:
        problems.add(path, 'is empty; list at least one EC2 instance type, e.g. ["m6i.large"]')
    if len(raw) > MAX_INSTANCE_TYPES:
        problems.add(
            path, f"lists {len(raw)} instance types; an EKS managed node group takes at most {MAX_INSTANCE_TYPES}"
        )
        return None
    valid = [
        item
        for i, item in enumerate(raw)
        if expect_name(item, _INSTANCE_TYPE, 52, f"{path}[{i}]", problems, "an EC2 instance type", '"m6i.large"')
    ]
    if len(valid) != len(raw):
        return None
    # Every type checked, so one run names all the unknown ones; whether istiod fits is check_istiod_fits's.
    listed = [check_listed(item, f"{path}[{i}]", problems) for i, item in enumerate(valid)]
    if not all(listed):
        return None
    if len(set(valid)) != len(valid):
        problems.add(path, "lists an instance type twice")
    arm = [t for t in valid if _is_arm(t)]
    if arm and len(arm) != len(valid):
        x86 = [t for t in valid if t not in arm]
        problems.add(
            path,
            f"mixes Graviton (arm64: {', '.join(arm)}) and x86 ({', '.join(x86)}) types; a node group has one AMI,"
            " so one CPU architecture: list types of one kind",
        )
    return tuple(valid)


def _parse_sizes(value: dict, defaults: NodeGroupSpec, path: str, problems: Problems) -> dict[str, int]:
    """Node counts: Istio needs a node from the start (nothing here scales a group up), within EKS's cap."""
    sizes = {}
    for key, default in (
        ("desiredSize", defaults.desired_size),
        ("minSize", defaults.min_size),
        ("maxSize", defaults.max_size),
    ):
        raw = value.get(key, default)
        if not expect(raw, int, f"{path}.{key}", problems, str(default)):
            continue
        if raw < 0:
            problems.add(f"{path}.{key}", f"is {shown(raw)}; node counts cannot be negative")
        elif raw > MAX_NODES:
            problems.add(
                f"{path}.{key}", f"is {shown(raw)}; EKS allows at most {MAX_NODES} nodes in a managed node group"
            )
        else:
            sizes[key] = raw
    if len(sizes) == 3:
        lo, want, hi = sizes["minSize"], sizes["desiredSize"], sizes["maxSize"]
        if hi < 1:
            problems.add(f"{path}.maxSize", "must be at least 1: Istio needs nodes to run on")
        elif want < 1:
            problems.add(
                f"{path}.desiredSize",
                "is 0: the group would start with no node and nothing here adds one (no cluster autoscaler),"
                " so istiod and the gateways could never run; use at least 1 (2 survive a node's loss)",
            )
        if not lo <= want <= hi:
            problems.add(
                f"{path}.desiredSize",
                f"sizes out of order (minSize {lo}, desiredSize {want}, maxSize {hi});"
                " they must satisfy minSize <= desiredSize <= maxSize",
            )
    return sizes


def parse_choice(item: dict, key: str, default: str, choices: tuple[str, ...], path: str, problems: Problems) -> Any:
    value = item.get(key, default)
    if value not in choices:
        problems.add(f"{path}.{key}", f"{given(value)} is not one of {', '.join(choices)}")
    return value


def quantity_mib(value: Any) -> float | None:
    """A Kubernetes memory quantity (`11Gi`, `900M`, `1e9`, 1073741824) in MiB, or None if it is not one."""
    amount = quantity_value(value)
    return None if amount is None else amount / 2**20


def check_istiod_fits(
    clusters: Sequence[ClusterSpec], topology: MeshTopology, istio_values: Mapping[str, Any], problems: Problems
) -> None:
    """Each cluster's istiod must fit on one node of a group it can run on, or it stays Pending and
    the install times out. What it requests is its role's (components/plan/istio_values.py,
    `istiod_resources`: a primary's grows with the clusters it watches; a remote runs only the
    injector istiod), or the user's `istioValues.istiod.resources`, which every cluster's istiod
    takes. What a node gives is its allocatable memory and CPU (components/plan/node_capacity.py)."""
    override = None
    if _get(istio_values, "istiod", "resources") is not None:
        override = user_istiod_request(istio_values, problems)
        if override is None:
            return
    for i, c in indexed(clusters):
        memory, cpu, why = istiod_request(topology[c.name], override)
        # istiod tolerates no taint: it runs on the groups whose nodes repel nothing.
        groups = [(g, n) for n, g in enumerate(c.node_groups) if all(e == "PREFER_NO_SCHEDULE" for *_, e in g.taints)]
        misfits = {n: [t for t in g.instance_types if _too_small(t, memory, cpu)] for g, n in groups}
        if not groups or not all(misfits.values()):
            continue
        for group, n in groups:
            single = len(c.node_groups) == 1 and group.name == "default"
            path = (
                f"clusters[{i}].nodeGroup.instanceTypes" if single else f"clusters[{i}].nodeGroups[{n}].instanceTypes"
            )
            problems.add(path, _misfit_message(c.name, misfits[n], memory, cpu, why))


def istiod_request(role: ClusterTopology, override: tuple[float, float] | None) -> tuple[float, float, str]:
    """(memory MiB, CPU millicores, where from) of the istiod of a cluster of this role, as its pod
    requests them (tests/test_chart_render.py renders the chart to check it)."""
    if override:
        return *override, "istioValues.istiod.resources"
    watched = len(role.discovers)
    wanted = istiod_resources(watched, injector_only=role.is_remote)["requests"]
    memory, cpu = quantity_mib(wanted["memory"]), cpu_millicores(wanted["cpu"])
    if role.is_remote:
        return memory, cpu, "a remote's injector istiod"
    return (
        memory,
        cpu,
        f"{ISTIOD_MEMORY_MIB}Mi + {ISTIOD_MEMORY_MIB_PER_CLUSTER}Mi for each of the {watched} watched clusters",
    )


def _too_small(instance_type: str, memory: float, cpu: float) -> bool:
    fit = node_capacity(instance_type)
    return fit is not None and (fit.memory_mib < memory or fit.cpu_millicores < cpu or fit.pods < 1)


def _misfit_message(cluster: str, types: list[str], memory: float, cpu: float, why: str) -> str:
    fits = [node_capacity(t) for t in types]
    said = ", ".join(f"{f.instance_type} {f.memory_mib:.0f}Mi and {f.cpu_millicores:.0f}m" for f in fits)
    family = types[0].split(".")[0]
    bigger = smallest_fitting(family, memory, cpu) or smallest_fitting(
        "m7g" if _is_arm(types[0]) else "m6i", memory, cpu
    )
    return (
        f"istiod on {cluster!r} requests {memory:.0f}Mi of memory and {cpu:.0f}m of CPU ({why}), more than a node"
        f" of {', '.join(types)} gives a pod ({said} allocatable, after the kubelet's reservation and the"
        f" DaemonSets): list larger types (e.g. {bigger or 'a memory-optimized type'}), or size istiod yourself"
        " with istioValues.istiod.resources (docs/operations/private-mode.md)"
    )


# The istiod chart's own request (values.yaml `resources.requests`), merged under a user's `resources`.
CHART_ISTIOD_REQUESTS = {"cpu": "500m", "memory": "2048Mi"}


def cpu_millicores(value: Any) -> float | None:
    amount = quantity_value(value)
    return None if amount is None else amount * 1000


def user_istiod_request(istio_values: Mapping[str, Any], problems: Problems) -> tuple[float, float] | None:
    """The memory (MiB) and CPU (millicores) istiod requests under the user's
    `istioValues.istiod.resources` (the chart's default where it sets none), after refusing a request
    above its limit, which Kubernetes refuses; None when an amount is no quantity (refused already)."""
    path = "istioValues.istiod.resources"
    request = {}
    for kind, parse in (("memory", quantity_mib), ("cpu", cpu_millicores)):
        requested = _get(istio_values, "istiod", "resources", "requests", kind)
        limit = _get(istio_values, "istiod", "resources", "limits", kind)
        amount = parse(requested if requested is not None else CHART_ISTIOD_REQUESTS[kind])
        ceiling = parse(limit) if limit is not None else None
        if amount is not None and ceiling is not None and amount > ceiling:
            whose = (
                requested
                if requested is not None
                else f"{CHART_ISTIOD_REQUESTS[kind]} (the chart's default, requests.{kind} being unset)"
            )
            problems.add(
                f"{path}.limits.{kind}",
                f"{limit} is below the {kind} istiod requests, {whose}: Kubernetes refuses such a pod; lower"
                f" requests.{kind} or raise the limit",
            )
        request[kind] = amount
    if request["memory"] is None or request["cpu"] is None:
        return None
    return request["memory"], request["cpu"]


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value
