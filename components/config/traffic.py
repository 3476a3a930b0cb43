"""The `trafficPolicy` key: mesh-wide traffic defaults, checked against the clusters' regions.

```yaml
trafficPolicy:
  dnsProxy: true                 # default true
  localityLoadBalancing: true    # default true
  failover:                      # optional, needs localityLoadBalancing
    - {from: us-east-1, to: us-west-2}
```
"""

from __future__ import annotations

from typing import Any

from components.config.clusters import REGIONS
from components.config.validate import Problems, expect, given, shown, unknown_fields
from components.model.spec import ClusterSpec, TrafficSpec

TRAFFIC_FIELDS = ("dnsProxy", "localityLoadBalancing", "failover")
FAILOVER_FIELDS = ("from", "to")
_FAILOVER_EXAMPLE = '[{"from": "us-east-1", "to": "us-west-2"}]'


def parse_traffic(value: Any, clusters: list[ClusterSpec], problems: Problems) -> TrafficSpec:
    defaults = TrafficSpec()
    if value is None or not expect(value, dict, "trafficPolicy", problems, '{"dnsProxy": true}'):
        return defaults
    unknown_fields(value, TRAFFIC_FIELDS, "trafficPolicy", problems)
    flags = {}
    for key, default in (("dnsProxy", defaults.dns_proxy), ("localityLoadBalancing", defaults.locality_load_balancing)):
        flag = value.get(key, default)
        if not isinstance(flag, bool):
            problems.add(f"trafficPolicy.{key}", f"must be true or false, got {given(flag)}")
            flag = default
        flags[key] = flag
    failover = _parse_failover(value.get("failover"), clusters, problems)
    if failover and not flags["localityLoadBalancing"]:
        problems.add(
            "trafficPolicy.failover",
            "has no effect with localityLoadBalancing false (failover is a step of locality load balancing);"
            " remove the list or turn localityLoadBalancing back on",
        )
    return TrafficSpec(
        dns_proxy=flags["dnsProxy"], locality_load_balancing=flags["localityLoadBalancing"], failover=failover
    )


def _parse_failover(value: Any, clusters: list[ClusterSpec], problems: Problems) -> tuple[tuple[str, str], ...]:
    if value is None or not expect(value, list, "trafficPolicy.failover", problems, _FAILOVER_EXAMPLE):
        return ()
    regions = sorted({c.region for c in clusters})
    pairs: list[tuple[str, str]] = []
    sources: dict[str, int] = {}
    for index, entry in enumerate(value):
        path = f"trafficPolicy.failover[{index}]"
        if not expect(entry, dict, path, problems, '{"from": "us-east-1", "to": "us-west-2"}'):
            continue
        unknown_fields(entry, FAILOVER_FIELDS, path, problems)
        ends = [_region(entry.get(key), f"{path}.{key}", regions, problems) for key in FAILOVER_FIELDS]
        if None in ends:
            continue
        source, target = ends
        if source == target:
            problems.add(path, f"fails {shown(source)} over to itself; name two different regions")
        elif source in sources:
            # Istio takes the first entry for a region and ignores the rest.
            problems.add(
                f"{path}.from",
                f"{shown(source)} already fails over in failover[{sources[source]}]; give each region one target",
            )
        else:
            sources[source] = index
            pairs.append((source, target))
    return tuple(pairs)


def _region(value: Any, path: str, regions: list[str], problems: Problems) -> str | None:
    if value is None:
        problems.add(path, f"is required; one of the mesh's regions: {', '.join(regions)}")
        return None
    if not expect(value, str, path, problems, '"us-west-2"'):
        return None
    if value not in REGIONS and not regions:
        # Named even when a refused cluster leaves the mesh's regions unknown.
        problems.add(path, f'{shown(value)} is not an AWS region; e.g. "us-west-2"')
        return None
    if regions and value not in regions:
        # Istio matches regions by name; one no cluster is in would be ignored without a word. No
        # regions: `clusters` was refused already, and this would only repeat it.
        problems.add(
            path, f"{shown(value)} is not the region of any cluster in the mesh; use one of: {', '.join(regions)}"
        )
        return None
    return value
