"""Renames of resources that deployed stacks already hold, and the aliases that keep them.

A resource's URN (its name, its type and the types of its parents) is its identity in a stack's
state. A child whose name or parent changes gets a new URN, and `pulumi up` then deletes the old
resource and creates a new one: for a VPC or an EKS cluster, a replaced cluster. So every rename
of a released resource adds a row here, and `tests/test_urn_snapshot.py` fails for any URN that
moved without one.

Rows map (type token, current name) to the aliases of what it was called before, e.g.
`("aws:ec2/vpc:Vpc", "east-network-vpc"): [pulumi.Alias(name="east-vpc")]`. Children of an
aliased component inherit its aliases; only the component needs a row. Rows stay as
long as a stack deployed before the rename may still be upgraded.
"""

from __future__ import annotations

import pulumi

RENAMED: dict[tuple[str, str], list[pulumi.Alias]] = {}


def add_aliases(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """A transform for the mesh component. The engine runs a component's transforms on every
    resource under it, the children of packaged components such as `eks.Cluster` included (which
    the SDK-side `transformations` never reach: pulumi.com/docs/iac/concepts/resources/options/transforms/)."""
    aliases = RENAMED.get((args.type_, args.name))
    if not aliases:
        return None
    return pulumi.ResourceTransformResult(
        props=args.props,
        opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(aliases=list(aliases))),
    )
