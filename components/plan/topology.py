"""Who runs istiod, who serves whom, who has a gateway, who peers and who discovers whom, decided
once from the clusters' roles, primaries and networks: every check and every component reads this
plan (`MeshTopology`, in the model), none decides it again."""

from __future__ import annotations

from collections.abc import Collection

from components.model.spec import BuildStep, ClusterSpec, ClusterTopology, MeshTopology


def plan_topology(clusters: tuple[ClusterSpec, ...], deployed_pairs: Collection[tuple[str, str]] = ()) -> MeshTopology:
    """The topology of every cluster. Multi-primary or primary-remote, one network or several,
    follow from each cluster's role, primary and network alone; `deployed_pairs` are the
    same-network pairs as the stack deployed them, which reordering clusters must not turn around
    (a peering's requester and every name in it would change: a second peering of the same VPCs,
    and duplicate rules, which AWS refuses)."""
    by_name = {c.name: c for c in clusters}
    # Several clusters all on one network: nothing crosses networks. A lone cluster keeps its
    # cross-network gateway, ready for the clusters added next.
    single_network = len(clusters) > 1 and len({c.network for c in clusters}) == 1
    plan = {}
    for c in clusters:
        remotes = tuple(r.name for r in clusters if r.primary == c.name)
        if c.is_remote:
            # A remote on its primary's network is reached through the primary's gateway.
            gateway = not single_network and c.network != by_name[c.primary].network
        else:
            gateway = not single_network or bool(remotes)
        plan[c.name] = ClusterTopology(
            role=c.role,
            control_plane=c.primary if c.is_remote else c.name,
            remotes=remotes,
            east_west_gateway=gateway,
            cross_network=gateway and not single_network,
            peered_with=tuple(p.name for p in clusters if p.network == c.network and p.name != c.name),
            # Every primary watches every other cluster: its remotes, the other primaries and theirs.
            discovers=() if c.is_remote else tuple(p.name for p in clusters if p.name != c.name),
        )
    names = [c.name for c in clusters]
    deployed = set(deployed_pairs)
    watched = {name: set(plan[name].discovers) for name in names}
    peers = {name: set(plan[name].peered_with) for name in names}
    discovery = tuple((local, peer) for local in names for peer in names if peer in watched[local])
    return MeshTopology(
        clusters=plan,
        peerings=tuple(
            (b, a) if (b, a) in deployed else (a, b)
            for i, a in enumerate(names)
            for b in names[i + 1 :]
            if b in peers[a]
        ),
        discovery=discovery,
        build_steps=_build_steps([c.name for c in sorted(clusters, key=lambda c: c.is_remote)], discovery),
    )


def _build_steps(order: list[str], discovery: tuple[tuple[str, str], ...]) -> tuple[BuildStep, ...]:
    """Each remote secret is made at the step of the later of its two clusters, so a remote's
    gateway finds its primary's secret for it (istiod authenticates the gateway's pods with it)."""
    position = {name: i for i, name in enumerate(order)}
    # One pass over the pairs, in their order: a mesh of fifty clusters has 2,450 of them.
    at_step: list[list[tuple[str, str]]] = [[] for _ in order]
    for pair in discovery:
        at_step[max(position[pair[0]], position[pair[1]])].append(pair)
    return tuple(BuildStep(cluster=name, remote_secrets=tuple(at_step[i])) for i, name in enumerate(order))
