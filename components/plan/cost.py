"""The monthly cost estimate of `python -m check` (check/plan.py): what runs all month, each at its
own region's list price (components/model/prices.py), the prices it used and their date, and the
per-GB rates of traffic it cannot count. Pure: a MeshPlan (plan/mesh_plan.py) and a date in, lines
out.

- A price the table lacks for a cluster's region is its `FALLBACK_REGION` price, and the lines say
  so per region; an instance type no region of the table holds is named, not priced.
- Transit Gateway peering attachments are billed on both sides: each gateway's owner pays its
  hour (`prices.PEERING_SOURCE`, with AWS's words), so each region pays one per other region.
- With `metrics: amp`: each collector's hour and the samples it collects, the samples AMP ingests
  and stores (components/plan/series.py estimates the series), at the first ingestion tier; the
  queries are a rate.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from components.model import prices, versions
from components.model.prices import FALLBACK_REGION, HOURS_PER_MONTH, PRICES, Price
from components.model.spec import ClusterSpec, MeshSpec
from components.plan import series
from components.plan.mesh_plan import MeshPlan

# Samples and their bytes: AWS's pricing page counts 'the Prometheus metrics samples (typically 1 or
# 2 bytes)' plus metadata, 1 GB = 2^30 bytes (aws.amazon.com/prometheus/pricing, read 2026-12-07);
# metrics are 'stored for 150 days by default' (docs.aws.amazon.com/prometheus/latest/userguide/
# AMP-onboard-ingest-metrics.html). The estimate takes 2 bytes and leaves the metadata out.
BYTES_PER_SAMPLE = 2
RETENTION_DAYS = 150
TEN_MILLION = 10_000_000
# What `price_lines` calls each item.
LABELS = {
    "eks-standard": "EKS standard support",
    "eks-extended": "EKS extended support",
    "nat-hour": "NAT gateway hour",
    "nat-gb": "NAT GB",
    "nlb-hour": "NLB hour",
    "nlb-nlcu-hour": "NLCU-hour",
    "public-ipv4-hour": "public IPv4",
    "tgw-attachment-hour": "Transit Gateway attachment",
    "tgw-gb": "Transit Gateway GB",
    "inter-region-gb": "inter-region GB",
    "amp-ingested": "AMP ingestion",
    "amp-storage": "AMP storage",
    "amp-query": "AMP queries",
    "amp-collector-hour": "AMP collector hour",
    "amp-collected": "AMP collection",
}


@dataclass(frozen=True)
class Priced:
    """A price and the region it is from (`region` is the cluster's, or the fallback)."""

    price: Price | None
    region: str


def lookup(region: str, item: str) -> Priced:
    own = PRICES.get(region, {})
    if item in own:
        return Priced(own[item], region)
    fallback = PRICES[FALLBACK_REGION].get(item)
    return Priced(fallback, FALLBACK_REGION if fallback else region)


@dataclass(frozen=True)
class Cost:
    """A line of the estimate: `count` units of `item`, each an hour (`hourly`) or one `price.per`."""

    item: str
    region: str
    key: str
    count: float
    priced: Priced
    hourly: bool = True
    # How the count reads, when not a plain number ("1 VPC + 2 peering", "50.1M samples").
    shown: str = ""

    @property
    def monthly(self) -> float | None:
        price = self.priced.price
        if price is None:
            return None
        return self.count * price.usd * (HOURS_PER_MONTH if self.hourly else 1)

    def line(self) -> str:
        count = self.shown or f"{self.count:g}"
        price = self.priced.price
        if price is None:
            return f"{self.item}: {count} x price not in the table"
        unit = "/h" if self.hourly else f" per {price.per}"
        return f"{self.item}: {count} x ${price.usd:g}{unit} = ${self.monthly:,.2f}"


def _extended(c: ClusterSpec, today: datetime.date) -> bool:
    # A version newer than the table (one EKS upgraded a deployed cluster to) is in standard support.
    ends = versions.STANDARD_SUPPORT_ENDS.get(c.kubernetes_version)
    return ends is not None and today >= datetime.date.fromisoformat(ends)


def cluster_costs(plan: MeshPlan, c: ClusterSpec, today: datetime.date) -> list[Cost]:
    """What one cluster runs all month, at its region's prices."""
    items: list[Cost] = []

    def add(item: str, key: str, count: int) -> None:
        if count:
            items.append(Cost(f"{c.name}: {item}", c.region, key, count, lookup(c.region, key)))

    support = "extended" if _extended(c, today) else "standard"
    add(f"EKS control plane ({support} support)", f"eks-{support}", 1)
    for group in c.node_groups:
        first = group.instance_types[0]
        named = "" if group.name == "default" else f" ({group.name})"
        add(f"nodes{named}, {first} on demand", prices.instance(first), group.desired_size)
    add("NAT gateways", "nat-hour", c.nat_count)
    gateway = plan[c.name].topology.east_west_gateway
    add("east-west NLB", "nlb-hour", int(gateway))
    # One public IPv4 address per NAT gateway, and per zone of an internet-facing NLB.
    public_nlb = gateway and not plan.spec.connectivity.private
    add("public IPv4 addresses", "public-ipv4-hour", c.nat_count + (c.az_count if public_nlb else 0))
    return items


def transit_costs(plan: MeshPlan) -> list[Cost]:
    """Per region, its VPC attachments and its side of every peering (one per other region)."""
    if not plan.spec.connectivity.private:
        return []
    regions = plan.regions
    items = []
    for region in regions:
        vpcs = len(plan.in_region(region))
        # Its side of the peering with each other region, billed to it as the other side is to that one.
        sides = len(regions) - 1
        shown = f"{vpcs} VPC + {sides} peering" if sides else f"{vpcs} VPC"
        both = " (a peering is billed in both its regions)" if sides else ""
        items.append(
            Cost(
                f"{region}: Transit Gateway attachments{both}",
                region,
                "tgw-attachment-hour",
                vpcs + sides,
                lookup(region, "tgw-attachment-hour"),
                shown=shown,
            )
        )
    return items


def metrics_costs(plan: MeshPlan) -> list[Cost]:
    """Per cluster its collector, the samples it collects, AMP ingests and stores (an estimate)."""
    if not plan.spec.metrics.enabled:
        return []
    return [cost for c in plan.spec.clusters for cost in _cluster_metrics(plan, c)]


def _cluster_metrics(plan: MeshPlan, c: ClusterSpec) -> list[Cost]:
    estimate = series.cluster_series(plan, c.name)
    count = estimate.total
    samples = series.samples_per_month(count, HOURS_PER_MONTH)
    tens = samples / TEN_MILLION
    gb = samples * (RETENTION_DAYS * 24 / HOURS_PER_MONTH) * BYTES_PER_SAMPLE / 2**30
    jobs = ", ".join(
        f"{job} {n:,}"
        for job, n in (
            ("istiod", estimate.istiod),
            ("east-west gateway", estimate.gateway),
            ("samples", estimate.samples),
            ("API servers", estimate.apiserver),
        )
        if n
    )
    about = f"{samples / 1e6:,.1f}M samples ({count:,} series every {series.SCRAPE_INTERVAL}: {jobs})"

    def cost(item: str, key: str, n: float, shown: str = "", hourly: bool = False) -> Cost:
        return Cost(f"{c.name}: {item}", c.region, key, n, lookup(c.region, key), hourly, shown)

    return [
        cost("AMP collector", "amp-collector-hour", 1, hourly=True),
        cost("AMP samples collected", "amp-collected", tens, f"{about} = {tens:,.2f}"),
        cost("AMP samples ingested (first tier)", "amp-ingested", tens, f"{tens:,.2f}"),
        cost(f"AMP storage ({RETENTION_DAYS} days kept)", "amp-storage", gb, f"{gb:,.2f} GB"),
    ]


def costs(plan: MeshPlan, today: datetime.date) -> list[Cost]:
    """What runs all month. Traffic-dependent charges are given as rates by `rate_lines`."""
    items = [cost for c in plan.spec.clusters for cost in cluster_costs(plan, c, today)]
    return items + transit_costs(plan) + metrics_costs(plan)


def rate_keys(spec: MeshSpec) -> dict[str, str]:
    """The per-use prices `rate_lines` names: item -> how it reads."""
    keys = {"nat-gb": "NAT {}/GB processed"}
    if spec.connectivity.private:
        keys["tgw-gb"] = "Transit Gateway {}/GB"
    keys |= {"inter-region-gb": "to other regions {}/GB", "nlb-nlcu-hour": "NLB {} per NLCU-hour"}
    if spec.metrics.enabled:
        keys["amp-query"] = "AMP queries {} per billion samples processed"
    return keys


def rate_lines(plan: MeshPlan) -> list[str]:
    """Per region (regions alike in one line), what traffic and queries cost."""
    by_text: dict[str, list[str]] = {}
    for region in plan.regions:
        rates = []
        for key, text in rate_keys(plan.spec).items():
            price = lookup(region, key).price
            rates.append(text.format(f"${price.usd:g}" if price else "(not priced)"))
        by_text.setdefault(", ".join(rates), []).append(region)
    lines = [f"plus traffic in {', '.join(regions)}: {text}" for text, regions in by_text.items()]
    return lines + ["EBS volumes, spot and Savings Plans discounts, taxes and the free tier not included"]


def price_lines(plan: MeshPlan, items: list[Cost]) -> list[str]:
    """Which prices the estimate used: per region, the table's, and what fell back, and why."""
    lines = [f"prices: components/model/prices.py, read {prices.READ} (sources: docs/operations/cost.md#prices)"]
    for region in plan.regions:
        if region not in PRICES:
            lines.append(f"{region}: not in the table: priced as {FALLBACK_REGION} (fallback); its prices may differ")
            continue
        keys = {i.key for i in items if i.region == region} | set(rate_keys(plan.spec))
        borrowed = sorted(_label(k) for k in keys if k not in PRICES[region] and lookup(region, k).price)
        lines.append(
            f"{region}: the table's prices for {region}"
            + (f"; as {FALLBACK_REGION} (none sourced for {region}): {', '.join(borrowed)}" if borrowed else "")
        )
    if plan.spec.connectivity.private and len(plan.regions) > 1:
        lines.append(f"peering attachments: each gateway's owner pays its hour ({prices.PEERING_SOURCE})")
    return lines


def _label(key: str) -> str:
    return key.removeprefix("ec2:") if key.startswith("ec2:") else LABELS[key]


def cost_lines(plan: MeshPlan, today: datetime.date) -> list[str]:
    items = costs(plan, today)
    total = sum(i.monthly for i in items if i.monthly is not None)
    unknown = [i.item for i in items if i.monthly is None]
    lines = [i.line() for i in items]
    lines.append(
        f"total: ${total:,.2f} a month (list prices of each cluster's region, {HOURS_PER_MONTH} hours)"
        + (f", without {len(unknown)} item(s) not in the price table" if unknown else "")
    )
    return lines + rate_lines(plan) + price_lines(plan, items)
