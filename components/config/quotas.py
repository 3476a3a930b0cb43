"""Service quotas the mesh's resources count against, counted as AWS counts them, and `serviceQuotas`,
where an account declares the quotas it has raised.

Defaults (per account and region unless said otherwise):
- VPCs per region 5, internet gateways per region 5 (one per VPC; AWS ties the two quotas together),
  NAT gateways per availability zone 5, Elastic IP addresses per region 5
  (docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html).
- Transit Gateways per region 5, peering attachments per Transit Gateway 50
  (docs.aws.amazon.com/vpc/latest/tgw/transit-gateway-quotas.html).
- Amazon Managed Service for Prometheus scrapers (managed collectors) per region 10, with
  `metrics: amp` one per cluster (AMP user guide, AMP-collector-how-to.html, "Scraper limitations").

What else the account holds counts too (its default VPC, other stacks), which the program cannot see:
the counts are what this mesh needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.config.validate import Problems, expect, key_path, shown
from components.model.spec import ClusterSpec, Connectivity
from components.plan.quotas import QUOTAS, quota_use

# Well past any quota AWS grants; a larger number is a typo.
MAX_QUOTA = 1_000_000


def default_quotas() -> dict[str, int]:
    return {key: default for key, (_, default, _) in QUOTAS.items()}


def parse_service_quotas(raw: Mapping[str, Any], problems: Problems) -> dict[str, int]:
    """`serviceQuotas`: the quotas the account has raised, by key; the others keep AWS's defaults."""
    quotas = default_quotas()
    value = raw.get("serviceQuotas")
    if value is None or not expect(value, dict, "serviceQuotas", problems, "{vpcsPerRegion: 20}"):
        return quotas
    for key, item in value.items():
        path = key_path("serviceQuotas", key)
        if key not in QUOTAS:
            problems.add(path, f"unknown key; known keys: {', '.join(QUOTAS)}")
        elif isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= MAX_QUOTA:
            problems.add(path, f"must be a whole number from 1 to {MAX_QUOTA:,} (the raised quota), got {shown(item)}")
        else:
            quotas[key] = item
    return quotas


def check_quotas(
    clusters: Sequence[ClusterSpec],
    connectivity: Connectivity,
    quotas: Mapping[str, int],
    problems: Problems,
    collectors: bool = False,
) -> None:
    """One problem per quota the mesh would exceed, in its busiest region."""
    use = quota_use(clusters, connectivity, collectors)
    for key, (name, default, per) in QUOTAS.items():
        over = [(count, region) for region, counts in use.items() if (count := counts[key]) > quotas[key]]
        if not over:
            continue
        count, region = max(over)
        declared = "AWS's default" if quotas[key] == default else "serviceQuotas declares"
        where = {"region": region, "zone": f"one zone of {region}", "gateway": f"each gateway of {region}"}[per]
        problems.add(
            key_path("serviceQuotas", key),
            f"the mesh needs {count} in {where} against the quota {name!r}, and {declared} {quotas[key]}: raise"
            f" it in Service Quotas and set serviceQuotas.{key} to the new quota, or spread the clusters over more"
            " regions",
        )


def quota_lines(use: Mapping[str, Mapping[str, int]], quotas: Mapping[str, int]) -> list[str]:
    """For `check`: each quota's use per region (the plan's `quota_use`)."""
    lines = []
    for region, counts in use.items():
        used = [f"{QUOTAS[key][0]} {counts[key]} of {quotas[key]}" for key in QUOTAS if counts[key]]
        lines.append(f"{region}: {'; '.join(used)}")
    return lines
