"""Which node groups get the program's own launch template (IMDSv2 only, hop limit 1, the disk in
its block device mapping), from the user's `launchTemplate` and what the stack recorded.

A new group gets one. A deployed group keeps what it has: EKS takes a launch template only when a
group is created ("When you give your own launch template upon first creating a managed node
group ... you can iteratively update it with a different version of the same launch template",
docs.aws.amazon.com/eks/latest/userguide/launch-templates.html; "You can update a node group using
a launch template only if the node group was originally deployed with a launch template", EKS API
reference, UpdateNodegroupVersion), and terraform-provider-aws makes
`launch_template.0.id` ForceNew (internal/service/eks/node_group.go), so adding or removing one
replaces the group, every node at once. A deployed group without one is warned on every run,
naming the key that opts in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from components.config.node_release import group_key
from components.model.spec import ClusterSpec, NodeGroupSpec


def deployed_groups(recorded_ami_types: Mapping[str, str] | None, deployed: bool) -> frozenset[str]:
    """The groups the stack has: those of its AMI type record, or, for a stack deployed before that
    record, its one `default` group."""
    if recorded_ami_types is None:
        return frozenset({"default"}) if deployed else frozenset()
    return frozenset(recorded_ami_types)


def keep_deployed_launch_templates(
    groups: tuple[NodeGroupSpec, ...], deployed: frozenset[str], recorded: Mapping[str, bool] | None
) -> tuple[NodeGroupSpec, ...]:
    """Each group's `launch_template`: the user's when set; else True for a new group, and for a
    deployed one what the stack recorded (`nodeGroupLaunchTemplates`; a group recorded before that
    record has none), None where it has none."""
    kept = []
    for g in groups:
        if g.launch_template is None:
            has = g.name not in deployed or bool((recorded or {}).get(g.name))
            g = replace(g, launch_template=True if has else None)
        kept.append(g)
    return tuple(kept)


def launch_template_warnings(clusters: Sequence[ClusterSpec]) -> list[str]:
    """Deployed groups kept without the program's launch template: their pods reach IMDS."""
    warnings = []
    for c in clusters:
        for i, g in enumerate(c.node_groups):
            if g.launch_template is not None:
                continue
            key = group_key(c.config_index, c.node_groups, i, "launchTemplate")
            warnings.append(
                f"cluster {c.name!r}, node group {g.name!r} was created without the program's launch template, so"
                " nothing here keeps its pods off IMDS (the AL2023 AMI defaults to a hop limit of 2, which lets any"
                " pod take the node role's credentials, vpc-cni's ENI rights included)."
                f" `{key}: true` adds one and REPLACES the group (all nodes at once; refused under protect):"
                " instead add a group beside it in nodeGroups (it gets the template), drain this one and remove it;"
                " or set it false to keep the group as it is"
                + (
                    f"; its imdsHopLimit ({g.imds_hop_limit}) applies only with the template"
                    if g.imds_hop_limit != 1
                    else ""
                )
                + " (docs/operations/eks-in-production.md#launch-template-and-imds)"
            )
    return warnings
