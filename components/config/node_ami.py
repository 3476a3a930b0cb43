"""The EKS AMI type of a node group: the accelerated AMIs for GPU and Neuron families (or a refusal),
Graviton's for arm64, EKS's default otherwise; and a deployed group keeps the one it has."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from components.config.validate import Problems
from components.model.spec import ClusterSpec, NodeGroupSpec

# Accelerated families and the EKS AMI type with their drivers, as the EKS user guide's table of
# accelerated AMI variants lists them (docs.aws.amazon.com/eks/latest/userguide/ml-eks-optimized-ami.html:
# AL2023 x86_64 NVIDIA, AL2023 ARM NVIDIA, AL2023 x86_64 Neuron; the AMI types AL2023_x86_64_NVIDIA,
# AL2023_ARM_64_NVIDIA, AL2023_x86_64_NEURON of CreateNodegroup `amiType`). On the standard AMI these
# run without their drivers. tests/test_node_groups.py checks every GPU-like family of the EC2 list
# (config/instance_types.py) is in one of these sets.
ARM_NVIDIA_FAMILIES = frozenset({"g5g", "p6e-gb200", "p6e-gb300"})
NVIDIA_FAMILIES = ARM_NVIDIA_FAMILIES | frozenset(
    {"g4dn", "g5", "g6", "g6e", "g6f", "g7e", "gr6", "gr6f", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en"}
    | {"p6-b200", "p6-b300"}
)
# trn1n: the network-optimized trn1 (same Trainium chips, EC2 accelerated computing instances).
NEURON_FAMILIES = frozenset({"inf1", "inf2", "trn1", "trn1n", "trn2"})
# Accelerators with no EKS AMI type: AMD GPUs (g4ad), FPGAs (f1, f2), Gaudi (dl1, dl2q), video (vt1);
# P2 needs an NVIDIA driver older than the AMIs ship ("P2 instances aren't supported on Amazon EKS");
# GPU families the table does not list: the previous generation (cg1, g2, g3, g3s) and g7.
UNSUPPORTED_ACCELERATORS = frozenset({"g4ad", "f1", "f2", "dl1", "dl2q", "vt1", "p2", "cg1", "g2", "g3", "g3s", "g7"})
AMI_TYPES = {
    ("arm64", None): "AL2023_ARM_64_STANDARD",
    ("arm64", "nvidia"): "AL2023_ARM_64_NVIDIA",
    ("x86_64", "nvidia"): "AL2023_x86_64_NVIDIA",
    ("x86_64", "neuron"): "AL2023_x86_64_NEURON",
}


def accelerator(types: Sequence[str], path: str, problems: Problems) -> str | None:
    """ "nvidia", "neuron" or None for the group's types; a mix, or an accelerator without an EKS AMI,
    is refused (one group has one AMI)."""
    kinds = set()
    for i, t in enumerate(types):
        family = t.split(".")[0]
        if family in UNSUPPORTED_ACCELERATORS:
            problems.add(
                f"{path}[{i}]",
                f"{t} needs drivers no EKS AMI type has (EKS user guide, eks-optimized-ami); use an NVIDIA"
                " (g5, g6, p5, ...) or Neuron (inf2, trn1, ...) family, or a self-managed node group outside this"
                " program",
            )
            return None
        kinds.add("nvidia" if family in NVIDIA_FAMILIES else "neuron" if family in NEURON_FAMILIES else None)
    if len(kinds) > 1:
        shown_kinds = ", ".join(sorted(k or "standard" for k in kinds))
        problems.add(path, f"mixes {shown_kinds} instance types; a node group has one AMI: put each in its own group")
        return None
    return next(iter(kinds), None)


def keep_deployed_ami_types(
    groups: tuple[NodeGroupSpec, ...], recorded: Mapping[str, str] | None, deployed: bool
) -> tuple[NodeGroupSpec, ...]:
    """A deployed group keeps the AMI type it was created with where only this program's choice moved
    (an accelerated group made before accelerated AMIs were chosen has the standard one): `amiType`
    replaces a group (node_group.go). A stack deployed before the record (`recorded` None) had only
    its `default` group, on the standard AMI of its architecture."""
    if recorded is None:
        recorded = {"default": "legacy"} if deployed else {}
    kept = []
    for g in groups:
        standard = AMI_TYPES.get((g.architecture, None))
        was = recorded.get(g.name)
        if was is not None and (was == "legacy" or (was or None) == standard) and g.ami_type != standard:
            g = replace(g, ami_type=standard)
        kept.append(g)
    return tuple(kept)


def driverless_warnings(clusters: Sequence[ClusterSpec]) -> list[str]:
    """Accelerated groups kept on the standard AMI (keep_deployed_ami_types): their drivers are missing."""
    warnings = []
    for c in clusters:
        for g in c.node_groups:
            wanted = AMI_TYPES.get((g.architecture, _kind(g.instance_types)))
            if wanted and g.ami_type != wanted:
                warnings.append(
                    f"cluster {c.name!r}, node group {g.name!r}: {', '.join(g.instance_types)} run on the standard AMI,"
                    f" without their drivers, since the group was created so; changing its AMI type to {wanted} would"
                    " replace it: add a group beside it in nodeGroups, drain this one and remove it"
                    " (docs/operations/eks-in-production.md)"
                )
    return warnings


def _kind(types: Sequence[str]) -> str | None:
    families = {t.split(".")[0] for t in types}
    if families and families <= NVIDIA_FAMILIES:
        return "nvidia"
    if families and families <= NEURON_FAMILIES:
        return "neuron"
    return None
