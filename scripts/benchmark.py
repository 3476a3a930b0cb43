"""How the program scales: runs whole meshes under the mock runtime (no AWS) and reports, per size,
the time and peak memory of one evaluation and the resources it registers, split into what grows
per cluster, per ordered pair of clusters (remote secrets) and per pair of regions (Transit Gateway
peerings). Not a test: `venv/bin/python scripts/benchmark.py [N ...]` (default 4 10 25 50).

The mesh is private, multi-primary, on one network per cluster, spread over four regions; with
`--remote` every cluster but the first is a remote of it.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import run_program  # noqa: E402

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1")


def mesh(count: int, remote: bool) -> dict:
    clusters = [
        {
            "name": f"c{i}",
            "region": REGIONS[i % len(REGIONS)],
            "network": f"n{i}",
            "natGateways": "single",
            # istiod watching 49 clusters requests about 10.6 GiB (docs/operations/private-mode.md).
            "nodeGroup": {"instanceTypes": ["m6i.xlarge"]},
        }
        for i in range(count)
    ]
    if remote:
        clusters = [clusters[0], *({**c, "role": "remote", "primary": "c0"} for c in clusters[1:])]
    # The operators' network is attached to the network team's gateway in the first region.
    return {
        "connectivity": "private",
        "meshCidr": "10.0.0.0/8",
        "operatorCidrs": ["192.168.10.0/24"],
        "transitGateways": {REGIONS[0]: "tgw-0123456789abcdef0"},
        "transitGatewayRouting": {
            REGIONS[0]: {
                "operatorAttachment": "tgw-attach-0123456789abcdef0",
                "returnRouteTable": "tgw-rtb-0123456789abcdef0",
            }
        },
        "clusters": clusters,
        # 12 or 13 VPCs, NAT gateways and Elastic IPs per region: quotas raised, as such an account must have them.
        "serviceQuotas": {
            "vpcsPerRegion": 20,
            "internetGatewaysPerRegion": 20,
            "natGatewaysPerAz": 20,
            "elasticIpsPerRegion": 20,
        },
    }


def kind(name: str) -> str:
    """What a resource grows with, by its name."""
    if "-remote-secret-" in name:
        return "pair"
    if name.startswith("tgw-peering-"):
        return "region pair"
    if name.startswith(("tgw-", "aws-")) and not name.startswith("tgw-route-"):
        return "region"
    # A static route per VPC in each other region's gateway: per cluster, times the other regions.
    return "per cluster" if name.startswith(("c", "tgw-route-")) else "mesh"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[4, 10, 25, 50])
    parser.add_argument("--remote", action="store_true", help="primary-remote instead of multi-primary")
    args = parser.parse_args()
    print(f"{'clusters':>8} {'seconds':>8} {'peak MiB':>9} {'resources':>9}  by kind")
    for count in args.sizes:
        started = time.perf_counter()
        run = run_program(mesh(count, args.remote))
        elapsed = time.perf_counter() - started
        if run.error is not None:
            raise SystemExit(f"{count} clusters: {run.error}")
        kinds = Counter(kind(r.name) for r in run.resources)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{count:>8} {elapsed:>8.1f} {peak:>9.0f} {len(run.resources):>9}  {dict(sorted(kinds.items()))}")


if __name__ == "__main__":
    main()
