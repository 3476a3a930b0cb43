"""What a node of an EC2 instance type gives its pods: allocatable memory, CPU and pod slots, as the
kubelet of the EKS AMIs reports them. Pure; `config/node_group.py` checks istiod's fit against it.

Allocatable = capacity - kube-reserved - eviction threshold (Kubernetes, reserve-compute-resources),
with the EKS AMIs' figures (awslabs/amazon-eks-ami@v20260724, nodeadm/internal/kubelet/config.go):
- kube-reserved memory 11Mi per pod the node can hold plus 255Mi (`getMemoryMebibytesToReserve`);
- kube-reserved CPU 6 % of the first core, 1 % of the second, 0.5 % of the third and fourth, 0.25 %
  of the rest (`getCPUMillicoresToReserve`);
- eviction `memory.available` 100Mi (`evictionHard`);
- pods: the VPC CNI's ENIs x (IPv4 addresses per ENI - 1) + 2 (`CalcMaxPods`, nodeadm/internal/
  kubelet/eni_max_pods.go, from its instance-info.jsonl).
The capacity a kubelet reports is the memory the kernel sees, less than the instance's: Karpenter
predicts it as the instance's memory less 7.5 % (aws/karpenter-provider-aws, `vmMemoryOverheadPercent`,
default 0.075, "sufficient for nearly, if not all, instance types"), and so does this model.

Instance types are modelled where their name says their size (EC2 instance types, specifications):
general purpose (m) 4 GiB per vCPU, compute (c) 2, memory (r) 8, from the fifth generation on (c5n,
with more, is left out), Graviton `a1` 2; a .medium has 1 vCPU, a .large 2, an .xlarge 4, an
.<N>xlarge 4·N. Burstable t2/t3/t3a/t4g by size (a table). Other types return None: not judged.
The pod count is the fewest instance-info.jsonl gives any generation of that size, so that the
reservation is the smallest a node of the size has and nothing that fits is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SIZED_FAMILY = re.compile(r"(?P<kind>[mcr])(?P<generation>\d+)[a-z]*(-flex)?", re.ASCII)
_GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8, "a": 2}
_MORE_MEMORY = ("c5n",)
# Size -> the fewest pods any m/c/r (and a1) generation of that size holds (instance-info.jsonl).
_MAX_PODS = {
    "medium": 8,
    "large": 29,
    "xlarge": 58,
    "2xlarge": 58,
    "3xlarge": 234,
    "4xlarge": 234,
    "6xlarge": 234,
    "8xlarge": 234,
    "9xlarge": 234,
    "12xlarge": 234,
    "16xlarge": 737,
    "18xlarge": 737,
    "24xlarge": 737,
    "32xlarge": 394,
    "48xlarge": 590,
    "96xlarge": 758,
}
# Burstable sizes of t3, t3a and t4g: (vCPUs, memory MiB, fewest pods); t2 has 1 vCPU up to .small
# and fewer pods (instance-info.jsonl).
_BURSTABLE = {
    "nano": (2, 512, 4),
    "micro": (2, 1024, 4),
    "small": (2, 2048, 8),
    "medium": (2, 4096, 17),
    "large": (2, 8192, 35),
    "xlarge": (4, 16384, 58),
    "2xlarge": (8, 32768, 58),
}
_T2 = {"nano": (1, 4), "micro": (1, 4), "small": (1, 11), "xlarge": (4, 44), "2xlarge": (8, 44)}
_BURSTABLE_FAMILIES = ("t2", "t3", "t3a", "t4g")
VM_MEMORY_OVERHEAD = 0.075
EVICTION_MIB = 100
# What every node runs before any pod of the mesh: the VPC CNI's aws-node (requests 25m CPU, no
# memory: aws/amazon-vpc-cni-k8s charts/aws-vpc-cni/values.yaml) and kube-proxy, each a pod slot.
DAEMONSET_CPU_MILLICORES = 25
DAEMONSET_PODS = 2


@dataclass(frozen=True)
class NodeCapacity:
    """What one node of a type gives pods."""

    instance_type: str
    memory_mib: float
    cpu_millicores: float
    pods: int


def node_capacity(instance_type: str) -> NodeCapacity | None:
    """The allocatable memory, CPU and pod slots a node of `instance_type` leaves for the mesh's
    pods, after the kubelet's reservation and the DaemonSets; None for a type not modelled."""
    size = instance_size(instance_type)
    if size is None:
        return None
    vcpus, memory_mib, max_pods = size
    reserved_memory, reserved_cpu = kube_reserved(vcpus, max_pods)
    memory = memory_mib * (1 - VM_MEMORY_OVERHEAD) - reserved_memory - EVICTION_MIB
    cpu = vcpus * 1000 - reserved_cpu - DAEMONSET_CPU_MILLICORES
    return NodeCapacity(instance_type, memory, cpu, max_pods - DAEMONSET_PODS)


def kube_reserved(vcpus: int, max_pods: int) -> tuple[int, float]:
    """nodeadm's kube-reserved memory (MiB) and CPU (millicores) for a node of `vcpus` and `max_pods`."""
    return 255 + 11 * max_pods, _reserved_cpu(vcpus * 1000)


def instance_size(instance_type: str) -> tuple[int, int, int] | None:
    """(vCPUs, memory MiB, fewest pods) of a type whose name says them."""
    family, _, size = instance_type.partition(".")
    if family in _BURSTABLE_FAMILIES:
        if size not in _BURSTABLE:
            return None
        vcpus, memory, pods = _BURSTABLE[size]
        if family == "t2":
            vcpus, pods = _T2.get(size, (vcpus, pods))
        return vcpus, memory, pods
    match = _SIZED_FAMILY.fullmatch(family)
    kind = "a" if family == "a1" else match["kind"] if match and int(match["generation"]) >= 5 else None
    if kind is None or family in _MORE_MEMORY or size not in _MAX_PODS:
        return None
    vcpus = {"medium": 1, "large": 2, "xlarge": 4}.get(size) or 4 * int(size.removesuffix("xlarge"))
    return vcpus, vcpus * _GIB_PER_VCPU[kind] * 1024, _MAX_PODS[size]


def _reserved_cpu(millicores: int) -> float:
    """nodeadm's kube-reserved CPU: 6 %, 1 %, 0.5 %, 0.5 %, then 0.25 % of each further core."""
    reserved, start = 0.0, 0
    for end, share in ((1000, 0.06), (2000, 0.01), (4000, 0.005), (millicores, 0.0025)):
        if millicores > start:
            reserved += (min(millicores, end) - start) * share
        start = end
    return reserved


# The sizes a hint may suggest, smallest first.
SIZES = (
    "nano",
    "micro",
    "small",
    "medium",
    "large",
    "xlarge",
    "2xlarge",
    "4xlarge",
    "8xlarge",
    "12xlarge",
    "16xlarge",
    "24xlarge",
)


def smallest_fitting(family: str, memory_mib: float, cpu_millicores: float) -> str | None:
    """The smallest size of `family` whose node gives a pod `memory_mib` and `cpu_millicores`."""
    for size in SIZES:
        fit = node_capacity(f"{family}.{size}")
        if fit and fit.memory_mib >= memory_mib and fit.cpu_millicores >= cpu_millicores:
            return fit.instance_type
    return None
