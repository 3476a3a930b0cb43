"""Every VPC's range and its subnets, planned once (pure). Config turns what the planner could not
place into problems (config/clusters.py); the VPCs are built with these ranges (aws/network.py).

A cluster's range is: its `vpcCidr`; else the one the stack recorded for it (`vpcCidrs`, with its
pool from `vpcIpamPools`); else, for a cluster deployed before that record, the name-hash default it
got then; else, in a region of `ipamPools`, whatever its pool allocates (None until then); else the
lowest free /16 of `meshCidr`, in config order, around every range fixed so far. Fixed ranges must
not overlap (a clash is reported on the later cluster in config order, the one most likely just
added), and nothing deployed is moved to make room. A VPC keeps its pool for good: AWS allocates
the range at creation, and the pool is an input that replaces the VPC when it changes.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.model.deployed import LastDeployment

# The mesh's address space when `meshCidr` is not set, and the size of a VPC allocated from it.
DEFAULT_MESH_CIDR = ipaddress.IPv4Network("10.0.0.0/8")
DEFAULT_VPC_PREFIX = 16


@dataclass(frozen=True)
class RangeRequest:
    """What the planner needs of one cluster entry."""

    # Its position in `clusters`.
    index: int
    name: str
    region: str
    # `vpcCidr` is set, and its range if it is a valid one (None when refused).
    explicit: bool
    vpc_cidr: ipaddress.IPv4Network | None


@dataclass
class RangePlan:
    # Per cluster index, its range; None: its IPAM pool allocates it when the VPC is created.
    cidrs: dict[int, ipaddress.IPv4Network | None] = field(default_factory=dict)
    # How each was fixed: "explicit", "deployed" (recorded, or the name-hash default of old), "free".
    how: dict[int, str] = field(default_factory=dict)
    # Per cluster index, the IPAM pool its range comes (or came) from.
    pools: dict[int, str] = field(default_factory=dict)
    # (index, recorded range, pool): an explicit `vpcCidr` that is not the range its pool gave it.
    pool_mismatches: list[tuple[int, ipaddress.IPv4Network, str]] = field(default_factory=list)
    # (i, j): two fixed ranges that overlap, i before j in config order.
    overlaps: list[tuple[int, int]] = field(default_factory=list)
    # The clusters for which `meshCidr` has no free /16 left.
    exhausted: list[int] = field(default_factory=list)


def plan_vpc_ranges(
    requests: Sequence[RangeRequest],
    last: LastDeployment,
    mesh_cidr: ipaddress.IPv4Network,
    ipam_pools: Mapping[str, str],
    pool_space: Sequence[ipaddress.IPv4Network] = (),
) -> RangePlan:
    """`ipam_pools`: region -> pool (`ipamPools`); `pool_space`: the CIDRs those pools hold, which
    the mesh's own allocation steps over."""
    plan = _fixed(requests, last)
    ordered = sorted((i, c) for i, c in plan.cidrs.items() if c is not None)
    plan.overlaps = [
        (i, j) for a, (i, first) in enumerate(ordered) for j, second in ordered[a + 1 :] if first.overlaps(second)
    ]
    for r in requests:
        if r.index in plan.cidrs or r.explicit:
            continue
        if r.region in ipam_pools:
            plan.cidrs[r.index], plan.pools[r.index] = None, ipam_pools[r.region]
            continue
        taken = [*(c for c in plan.cidrs.values() if c is not None), *pool_space]
        free = lowest_free(mesh_cidr, DEFAULT_VPC_PREFIX, taken)
        if free is None:
            plan.exhausted.append(r.index)
        else:
            plan.cidrs[r.index], plan.how[r.index] = free, "free"
    return plan


def _fixed(requests: Sequence[RangeRequest], last: LastDeployment) -> RangePlan:
    """The ranges that are fixed already (explicit, or deployed), and the pools deployed VPCs keep."""
    plan = RangePlan()
    for r in requests:
        recorded = _recorded_cidr(last.vpc_cidrs.get(r.name))
        recorded_pool = last.vpc_ipam_pools.get(r.name) if recorded is not None else None
        rebuilt = bool(recorded_pool) and last.regions.get(r.name, r.region) != r.region
        if rebuilt:
            # Moved to another region, the cluster is rebuilt: its old pool cannot serve there.
            recorded = recorded_pool = None
        if recorded_pool:
            plan.pools[r.index] = recorded_pool
        if r.explicit:
            if r.vpc_cidr is not None:
                plan.cidrs[r.index], plan.how[r.index] = r.vpc_cidr, "explicit"
                if recorded_pool and recorded is not None and r.vpc_cidr != recorded:
                    plan.pool_mismatches.append((r.index, recorded, recorded_pool))
        elif recorded is not None:
            plan.cidrs[r.index], plan.how[r.index] = recorded, "deployed"
        elif r.name in last.clusters and not rebuilt:
            plan.cidrs[r.index], plan.how[r.index] = name_hash_vpc_cidr(r.name), "deployed"
    return plan


def _recorded_cidr(value: Any) -> ipaddress.IPv4Network | None:
    # A hand-edited record that is not a valid range is taken as no record.
    try:
        return ipaddress.IPv4Network(value) if isinstance(value, str) else None
    except ValueError:
        return None


def lowest_free(
    space: ipaddress.IPv4Network, prefix: int, taken: list[ipaddress.IPv4Network]
) -> ipaddress.IPv4Network | None:
    """The lowest /prefix of `space` that overlaps nothing in `taken`, stepping over each range it
    meets (so a 50-cluster mesh takes at most about 100 steps)."""
    if space.prefixlen > prefix:
        return None
    size = 1 << (32 - prefix)
    address, end = int(space.network_address), int(space.broadcast_address)
    while address + size - 1 <= end:
        candidate = ipaddress.IPv4Network((address, prefix))
        clash = next((t for t in taken if t.overlaps(candidate)), None)
        if clash is None:
            return candidate
        # Past the clash, aligned to the block size.
        address = max(address + size, (int(clash.broadcast_address) + 1 + size - 1) // size * size)
    return None


def name_hash_vpc_cidr(name: str) -> ipaddress.IPv4Network:
    """The 10.x.0.0/16 that releases before 2026-12-05 gave a cluster without `vpcCidr`, from its
    name alone: what a cluster they deployed has, until the stack records its range."""
    return ipaddress.IPv4Network(f"10.{_name_slot(name)}.0.0/16")


def _name_slot(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % 256


def legacy_default_cidrs(
    requests: Sequence[RangeRequest], explicit: list[ipaddress.IPv4Network]
) -> dict[int, ipaddress.IPv4Network]:
    """What releases before defaults were pinned gave each defaulted cluster: in name order, the
    first free slot from its own. Only used to tell the owner of such a stack what it has."""
    taken, found = list(explicit), {}
    for r in sorted((r for r in requests if not r.explicit), key=lambda r: r.name):
        start = _name_slot(r.name)
        for step in range(256):
            candidate = ipaddress.IPv4Network(f"10.{(start + step) % 256}.0.0/16")
            if not any(candidate.overlaps(t) for t in taken):
                found[r.index] = candidate
                taken.append(candidate)
                break
    return found


def subnet_cidrs(vpc_cidr: ipaddress.IPv4Network, az_count: int) -> tuple[list[str], list[str]]:
    """(public, private) subnet ranges, one of each per zone: the private ones are the first
    eighths of the VPC (room for pods, which take VPC addresses under vpc-cni), the public ones
    eighths of its last eighth (NAT gateways and NLBs only)."""
    blocks = list(vpc_cidr.subnets(prefixlen_diff=3))
    public_blocks = list(blocks[-1].subnets(prefixlen_diff=3))
    return [str(b) for b in public_blocks[:az_count]], [str(b) for b in blocks[:az_count]]
