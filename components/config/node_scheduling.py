"""Scheduling settings of a node group: the Kubernetes `labels` and `taints` EKS puts on its nodes,
and the check that Istio keeps a group to run on."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from components.config.validate import Problems, expect, given, shown, unknown_fields
from components.model.spec import NodeGroupSpec

# Kubernetes label syntax (kubernetes.io/docs/concepts/overview/working-with-objects/labels): an
# optional DNS-subdomain prefix and a name of at most 63; a value of at most 63, possibly empty.
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME}", re.ASCII)
_LABEL_VALUE = re.compile(rf"({_LABEL_NAME})?", re.ASCII)
# EKS takes label keys and values, and taint keys, of at most 63 characters, and no empty label value
# (EKS API reference: CreateNodegroup `labels`, UpdateLabelsPayload; Taint).
EKS_MAX_KEY = 63
# The kubelet registers a node with its labels (`--node-labels`) and refuses, so the node never joins,
# a label in the kubernetes.io or k8s.io namespaces but these (kubernetes cmd/kubelet/app/options
# `ValidateKubeletFlags`; k8s.io/kubelet pkg/apis well_known_labels.go `KubeletLabelNamespaces`,
# `KubeletLabels`).
_KUBELET_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
_KUBELET_LABELS = frozenset(
    {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
        "node.kubernetes.io/instance-type",
        "beta.kubernetes.io/instance-type",
        "kubernetes.io/os",
        "beta.kubernetes.io/os",
        "kubernetes.io/arch",
        "beta.kubernetes.io/arch",
    }
)
# The effects EKS takes (CreateNodegroup `taints`), and its limit of 50 taints per group.
TAINT_EFFECTS = ("NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE")
MAX_TAINTS = 50


def parse_labels(value: Any, path: str, problems: Problems) -> dict[str, str]:
    if value is None or not expect(value, dict, path, problems, '{"workload": "mesh"}'):
        return {}
    labels = {}
    for key, label in value.items():
        here = f"{path}.{key}" if isinstance(key, str) and len(key) <= 80 else path
        if not (isinstance(key, str) and len(key) <= EKS_MAX_KEY and _LABEL_KEY.fullmatch(key)):
            problems.add(
                here,
                f"{shown(key)} is not a label key EKS takes (a Kubernetes label key of at most {EKS_MAX_KEY}"
                ' characters, prefix included), e.g. "workload" or "example.com/tier"',
            )
        elif _kubelet_refuses(key):
            problems.add(
                here,
                "is in the kubernetes.io/k8s.io namespace, where the kubelet refuses a node's own labels (the"
                f" node would never join) but under {', '.join(_KUBELET_NAMESPACES)} and its well-known ones:"
                ' use a prefix of your own, e.g. "example.com/role"',
            )
        elif not (isinstance(label, str) and label and _LABEL_VALUE.fullmatch(label)):
            problems.add(here, f"{given(label)} is not a label value EKS takes (1 to 63 of A-Za-z0-9-_.)")
        else:
            labels[key] = label
    return labels


def parse_taints(value: Any, path: str, problems: Problems) -> tuple[tuple[str, str, str], ...]:
    example = '[{"key": "dedicated", "value": "batch", "effect": "NO_SCHEDULE"}]'
    if value is None or not expect(value, list, path, problems, example):
        return ()
    if len(value) > MAX_TAINTS:
        problems.add(path, f"lists {len(value)} taints; EKS takes at most {MAX_TAINTS} per node group")
        return ()
    taints = []
    for i, taint in enumerate(value):
        here = f"{path}[{i}]"
        if not expect(taint, dict, here, problems, example[1:-1]):
            continue
        unknown_fields(taint, ("key", "value", "effect"), here, problems)
        key, label, effect = taint.get("key"), taint.get("value", ""), taint.get("effect")
        if not (isinstance(key, str) and len(key) <= EKS_MAX_KEY and _LABEL_KEY.fullmatch(key)):
            problems.add(
                f"{here}.key",
                f"{given(key)} is not a taint key EKS takes (the syntax of a label key, at most {EKS_MAX_KEY}"
                " characters)",
            )
        elif not (isinstance(label, str) and _LABEL_VALUE.fullmatch(label)):
            problems.add(f"{here}.value", f"{given(label)} is not a taint value (at most 63 of A-Za-z0-9-_.)")
        elif effect not in TAINT_EFFECTS:
            problems.add(f"{here}.effect", f"{given(effect)} is not one of {', '.join(TAINT_EFFECTS)}")
        elif any(t[0] == key and t[2] == effect for t in taints):
            problems.add(f"{here}.key", f"{key} with {effect} is listed twice")
        else:
            taints.append((key, label, effect))
    return tuple(taints)


def _kubelet_refuses(key: str) -> bool:
    namespace = key.rpartition("/")[0]
    kubernetes = any(namespace == n or namespace.endswith("." + n) for n in ("kubernetes.io", "k8s.io"))
    allowed = key in _KUBELET_LABELS or any(namespace == n or namespace.endswith("." + n) for n in _KUBELET_NAMESPACES)
    return kubernetes and not allowed


def check_untainted_group(groups: Sequence[NodeGroupSpec], path: str, problems: Problems) -> None:
    """istiod, the gateways and the load balancer controller tolerate no taint: they need a group
    whose nodes repel nothing (PREFER_NO_SCHEDULE only prefers)."""
    if all(any(effect != "PREFER_NO_SCHEDULE" for _, _, effect in g.taints) for g in groups):
        problems.add(
            path,
            "every node group has a NO_SCHEDULE or NO_EXECUTE taint, which istiod, the east-west gateway and the"
            " load balancer controller do not tolerate: leave at least one group untainted",
        )
