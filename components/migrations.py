"""Renames of resources that deployed stacks already hold, and the aliases that keep them.

A resource's URN (its name, its type and the types of its parents) is its identity in a stack's
state. A child whose name or parent changes gets a new URN, and `pulumi up` then deletes the old
resource and creates a new one: for a VPC or an EKS cluster, a replaced cluster. So every rename
of a released resource adds a row here, and `tests/test_urn_snapshot.py` fails for any URN that
moved without one.

Renames by name go in `RENAMED`: rows map (type token, current name) to the aliases of what it
was called before, e.g. `("aws:ec2/vpc:Vpc", "east-network-vpc"): [pulumi.Alias(name="east-vpc")]`;
children of an aliased component inherit its aliases, so only the component needs a row. Moves to
another parent depend on that parent, which only the component making the resource holds: each
is a function below that the component calls. Rows and functions stay as long as a stack deployed
before the move may still be upgraded.
"""

from __future__ import annotations

import pulumi

RENAMED: dict[tuple[str, str], list[pulumi.Alias]] = {}

# Type tokens of the components whose children moved.
VPC_PEERING_TYPE = "istio-eks-mesh:peering:VpcPeering"
SAME_NETWORK_TYPE = "istio-eks-mesh:peering:SameNetworkAccess"


def gateway_moved_from(control_plane: pulumi.Resource) -> list[pulumi.Alias]:
    """The east-west gateway's release and Istio objects were children of the cluster's control
    plane until they got their own component (EastWestGateway), under the same names."""
    return [pulumi.Alias(parent=control_plane)]


def rule_moved_from_peering(peering_name: str, cluster: str, mesh: pulumi.Resource) -> list[pulumi.Alias]:
    """A same-network pair's ingress rules were children of its VpcPeering; in private mode they
    live under the pair's SameNetworkAccess, so going private keeps the rules (an identical new rule
    would be refused by AWS)."""
    peering = pulumi.create_urn(peering_name, VPC_PEERING_TYPE, parent=mesh)
    return [pulumi.Alias(name=f"{peering_name}-{cluster}-ingress", parent=peering)]


def rule_moved_from_same_network(twin: str, cluster: str, mesh: pulumi.Resource | None) -> list[pulumi.Alias]:
    """The way back: a mesh returning to public mode keeps the rules its SameNetworkAccess held."""
    access = pulumi.create_urn(twin, SAME_NETWORK_TYPE, parent=mesh)
    return [pulumi.Alias(name=f"{twin}-{cluster}-ingress", parent=access)]


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
