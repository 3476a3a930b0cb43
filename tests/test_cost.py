"""The cost estimate of `python -m check` (components/plan/cost.py) at each region's prices
(components/model/prices.py): the expected values are computed here from the table's entries and
the counts the stack files state, never read from the estimate's own output."""

from __future__ import annotations

import datetime
import re

import pytest
import yaml

from check.cli import main
from components.config.parse import parse_mesh_spec
from components.model import prices
from components.model.prices import HOURS_PER_MONTH, PRICES
from components.plan import cost, series
from components.plan.mesh_plan import plan_mesh
from components.plan.scrape_config import KEPT_METRICS
from tests.harness import ROOT

TODAY = datetime.date(2026, 12, 3)
NOW = datetime.datetime(2026, 12, 3, 12, tzinfo=datetime.UTC)
STACKS = {p.name: yaml.safe_load(p.read_text()) for p in sorted(ROOT.glob("Pulumi.*.yaml"))}


def usd(region: str, item: str) -> float:
    """The table's price of `item` in `region`, else us-east-1's (the documented fallback)."""
    return PRICES.get(region, {}).get(item, PRICES["us-east-1"].get(item)).usd


def check_out(capsys, path) -> str:
    assert main([str(path)], today=TODAY) == 0
    return capsys.readouterr().out


def total_of(out: str) -> float:
    return float(re.search(r"total: \$([0-9,.]+) a month", out)[1].replace(",", ""))


def plan_of(raw: dict):
    return plan_mesh(parse_mesh_spec(raw, default_region="us-east-1", stack="dev", now=NOW))


def test_every_price_has_a_source_a_date_and_a_region_of_the_committed_stacks():
    regions = {c["region"] for s in STACKS.values() for c in s["config"]["istio-eks-mesh:clusters"]}
    assert regions == {"us-east-1", "us-east-2", "us-west-2"} and regions <= set(PRICES)
    for region, table in PRICES.items():
        for item, price in table.items():
            assert price.usd > 0 and price.per, (region, item)
            assert price.source.url.startswith("https://") and len(price.source.says) > 40, (region, item)
            assert datetime.date.fromisoformat(price.source.read) <= datetime.date.fromisoformat(prices.READ)
            assert item.startswith("ec2:") or item in cost.LABELS, item
        # AWS's words that name no region hold for every region, and only those are copied to each.
        assert table["eks-standard"] == prices.EKS_STANDARD and table["eks-extended"] == prices.EKS_EXTENDED
    # AWS's own Transit Gateway example names US East (Ohio): that is the region it is entered for.
    assert PRICES["us-east-2"]["tgw-attachment-hour"].source == prices.TGW_OHIO
    assert (
        "Ohio" in prices.TGW_OHIO.says
        and "Ohio" in prices.NAT_OHIO.says
        and "'us-west-2': 0.045" in prices.NAT_OREGON.says
    )
    # Every instance type of the committed stacks is priced (in its region or as the fallback's).
    types = {
        t
        for s in STACKS.values()
        for c in s["config"]["istio-eks-mesh:clusters"]
        for t in c.get("nodeGroup", {}).get("instanceTypes", ["m6i.large"])
    }
    assert types == {"m6i.large", "m6i.xlarge"}
    assert all(prices.instance(t) in PRICES[prices.FALLBACK_REGION] for t in types)


def test_prod_costs_each_region_at_its_prices_with_peerings_billed_on_both_sides(capsys):
    out = check_out(capsys, ROOT / "Pulumi.prod.yaml")
    clusters = STACKS["Pulumi.prod.yaml"]["config"]["istio-eks-mesh:clusters"]
    regions = [c["region"] for c in clusters]
    hourly = 0.0
    for region in regions:
        # Kubernetes 1.35 is in standard support on TODAY; 3 m6i.xlarge; a NAT gateway and its
        # address per zone (3); an internal NLB (no public address); the region's VPC attachment and
        # its side of the peering with each of the two other regions.
        hourly += usd(region, "eks-standard") + 3 * usd(region, "ec2:m6i.xlarge")
        hourly += 3 * usd(region, "nat-hour") + usd(region, "nlb-hour") + 3 * usd(region, "public-ipv4-hour")
        hourly += (1 + 2) * usd(region, "tgw-attachment-hour")
        assert (
            f"{region}: Transit Gateway attachments (a peering is billed in both its regions): 1 VPC + 2 peering" in out
        )
    assert total_of(out) == pytest.approx(hourly * HOURS_PER_MONTH, abs=0.01 * 24)
    # Which prices: each region's own table, what it borrows named, and the peering rule's source.
    assert f"prices: components/model/prices.py, read {prices.READ}" in out
    assert "us-east-2: the table's prices for us-east-2; as us-east-1 (none sourced for us-east-2): NLB hour" in out
    assert "m6i.xlarge" in out.split("us-west-2: the table's prices for us-west-2")[1].splitlines()[0]
    assert "each gateway's owner pays its hour (https://aws.amazon.com/de/transit-gateway/pricing/)" in out
    # The page's sample of this output is this output.
    sample = (ROOT / "docs/operations/cost.md").read_text().split("```")[1].splitlines()[1:]
    assert len(sample) > 5
    assert all(line.strip().split("...")[0] in out for line in sample), sample


def test_dev_costs_each_cluster_at_its_regions_prices(capsys):
    out = check_out(capsys, ROOT / "Pulumi.dev.yaml")
    hourly = 0.0
    for region in ("us-east-1", "us-west-2"):
        # A standard control plane, two m6i.large, one NAT gateway, one internet-facing NLB, and four
        # public addresses: the NAT's and one per zone of the NLB (three zones).
        hourly += usd(region, "eks-standard") + 2 * usd(region, "ec2:m6i.large") + usd(region, "nat-hour")
        hourly += usd(region, "nlb-hour") + 4 * usd(region, "public-ipv4-hour")
    assert total_of(out) == pytest.approx(hourly * HOURS_PER_MONTH, abs=0.01 * 10)
    assert "us-east-1: the table's prices for us-east-1\n" in out and "Transit Gateway" not in out


def test_a_region_is_priced_at_its_own_entries_and_an_unknown_one_at_the_named_fallback(monkeypatch):
    # A table where us-west-2's NAT gateway costs twice us-east-1's: the estimate must follow it.
    west = {**PRICES["us-west-2"], "nat-hour": prices.Price(0.09, "hour", prices.NAT_OREGON)}
    monkeypatch.setattr(cost, "PRICES", {**PRICES, "us-west-2": west})
    plan = plan_of(
        {
            "apiAccessCidrs": ["203.0.113.0/24"],
            "clusters": [
                {"name": "east"},
                {"name": "west", "region": "us-west-2"},
                {"name": "dublin", "region": "eu-west-1", "nodeGroup": {"instanceTypes": ["m5.large"]}},
            ],
        }
    )
    lines = cost.cost_lines(plan, TODAY)
    assert "east: NAT gateways: 1 x $0.045/h = $32.85" in lines
    assert f"west: NAT gateways: 1 x $0.09/h = ${0.09 * HOURS_PER_MONTH:,.2f}" in lines
    # eu-west-1 is not in the table: every price as us-east-1's, said once for the region.
    assert f"dublin: NAT gateways: 1 x $0.045/h = ${0.045 * HOURS_PER_MONTH:,.2f}" in lines
    assert "eu-west-1: not in the table: priced as us-east-1 (fallback); its prices may differ" in lines
    # An instance type no region of the table holds is named, not priced, and left out of the total.
    assert "dublin: nodes, m5.large on demand: 2 x price not in the table" in lines
    assert "without 1 item(s) not in the price table" in next(line for line in lines if line.startswith("total:"))


@pytest.mark.parametrize(
    "regions, sides",
    [(["us-east-1"], {"us-east-1": 0}), (["us-east-1", "us-west-2"], {"us-east-1": 1, "us-west-2": 1})]
    + [(["us-east-1", "us-west-2", "us-east-2", "eu-west-1"], dict.fromkeys(["us-east-1", "us-west-2"], 3))],
)
def test_each_region_pays_its_vpc_attachments_and_its_side_of_each_peering(regions, sides):
    raw = {
        "connectivity": "private",
        "meshCidr": "10.0.0.0/8",
        "operatorCidrs": ["198.18.0.0/24"],
        "transitGateways": {"us-east-1": "tgw-0123456789abcdef0"},
        "transitGatewayRouting": {
            "us-east-1": {
                "operatorAttachment": "tgw-attach-0123456789abcdef0",
                "returnRouteTable": "tgw-rtb-0123456789abcdef0",
            }
        },
        # Two clusters in the first region: attachments are per VPC, peerings per region pair.
        "clusters": [{"name": f"c{i}", "region": r} for i, r in enumerate(regions)] + [{"name": "x"}],
    }
    found = {c.region: c for c in cost.transit_costs(plan_of(raw))}
    assert list(found) == regions
    for region, n in sides.items():
        vpcs = 2 if region == "us-east-1" else 1
        assert found[region].count == vpcs + n
        assert found[region].monthly == pytest.approx((vpcs + n) * usd(region, "tgw-attachment-hour") * 730)
    # Every peering is paid twice in all: once in each of its regions.
    pairs = len(regions) * (len(regions) - 1) // 2
    assert sum(c.count for c in found.values()) == len(regions) + 1 + 2 * pairs


def test_a_metrics_stack_pays_collectors_samples_and_storage_per_cluster(capsys, tmp_path):
    stack = tmp_path / "Pulumi.metrics.yaml"
    stack.write_text(
        "config:\n  aws:region: us-east-1\n  istio-eks-mesh:apiAccessCidrs: [203.0.113.0/24]\n"
        "  istio-eks-mesh:deploySamples: true\n  istio-eks-mesh:metrics: amp\n"
        "  istio-eks-mesh:clusters: [{name: east}, {name: west, region: us-west-2}]\n"
    )
    out = check_out(capsys, stack)
    # Per cluster (two primaries, samples on): two istiod pods, each 21 series of the kept metrics
    # and one sync status per other cluster; two gateway pods, each the four istio_tcp_* towards
    # helloworld and `up`; helloworld and curl, each a request counter and 20 buckets per cluster
    # they talk to, and `up`; two API servers, each 500 request series and `up`.
    per_cluster = 2 * (21 + 1) + 2 * (4 + 1) + 2 * (21 * 2 + 1) + 2 * (500 + 1)
    samples = per_cluster * 730 * 60  # a sample a minute (the 60 s interval), 730 hours
    jobs = "istiod 44, east-west gateway 10, samples 86, API servers 1,002"
    assert f"{samples / 1e6:,.1f}M samples ({per_cluster:,} series every 60s: {jobs})" in out
    for name, region in (("east", "us-east-1"), ("west", "us-west-2")):
        assert f"{name}: AMP collector: 1 x ${usd(region, 'amp-collector-hour'):g}/h = $29.20" in out
        price = usd(region, "amp-ingested")
        ingested = f"{samples / 1e7:.2f} x ${price:g} per 10M samples = ${samples / 1e7 * price:.2f}"
        assert f"{name}: AMP samples ingested (first tier): {ingested}" in out
    # AMP's prices are entered for us-east-1 only (their source names no region): us-west-2 says so.
    west = next(line for line in out.splitlines() if line.strip().startswith("us-west-2: the table's"))
    assert "AMP collector hour" in west and "AMP ingestion" in west and "AMP storage" in west
    assert "AMP queries $0.1 per billion samples processed" in out and "its cost: in the estimate below" in out


def test_the_series_estimate_follows_the_scrape_configuration_and_the_topology():
    # Every metric istiod's job keeps has its count, and nothing else does.
    assert set(series.ISTIOD_SERIES) == set(KEPT_METRICS["istiod"])
    assert series.TCP_METRICS == 4 and series.scrape_interval_seconds() == 60
    base = {"apiAccessCidrs": ["203.0.113.0/24"], "metrics": "amp"}
    one = plan_of({**base, "clusters": [{"name": "a"}]})
    three = plan_of({**base, "clusters": [{"name": "a"}, {"name": "b"}, {"name": "c", "region": "us-west-2"}]})
    samples = plan_of({**base, "deploySamples": True, "clusters": [{"name": "a"}]})
    remote = plan_of(
        {**base, "clusters": [{"name": "p"}, {"name": "r", "region": "us-west-2", "role": "remote", "primary": "p"}]}
    )
    canary = plan_of({**base, "istioRevisions": ["1.30.5", "1.31.1"], "clusters": [{"name": "a"}]})
    lone = series.cluster_series(one, "a")
    # Two revisions side by side: twice the istiod pods.
    assert series.cluster_series(canary, "a").istiod == 2 * lone.istiod
    # istiod watches each other cluster; the samples add their sidecars and the gateway's route to
    # them; a primary serving a remote routes istiod through its gateway.
    assert series.cluster_series(three, "a").istiod == lone.istiod + 2 * 2
    assert lone.samples == 0 and series.cluster_series(samples, "a").samples == 2 * (21 + 1)
    assert series.cluster_series(samples, "a").gateway == lone.gateway + 2 * 4
    assert series.cluster_series(remote, "p").gateway == lone.gateway + 2 * 4
    assert lone.apiserver == 2 * 501 and lone.total > lone.apiserver


def test_the_cost_page_shows_the_table_as_it_is():
    text = (ROOT / "docs/operations/cost.md").read_text()
    rows = re.findall(r"^\| `([\w:.-]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|", text, re.M)
    assert len(rows) >= 15
    shown = set()
    for item, *cells in rows:
        for region, cell in zip(("us-east-1", "us-east-2", "us-west-2"), cells, strict=True):
            own = PRICES[region].get(item)
            cents = own is not None and round(own.usd, 2) == own.usd
            expected = "as us-east-1" if own is None else f"${own.usd:.2f}" if cents else f"${own.usd:g}"
            assert cell.strip() == expected, (item, region)
        shown.add(item)
    # Every item of the table is on the page, but the eight further instance types it names in prose.
    listed = {k for table in PRICES.values() for k in table if not k.startswith("ec2:") or "m6i.large" in k}
    assert listed | {"ec2:m6i.xlarge"} <= shown


def test_a_control_plane_past_standard_support_costs_the_extended_price(capsys):
    # Staging pins Kubernetes 1.35 with supportType EXTENDED; on this day 1.35 is out of standard support.
    day = datetime.date(2027, 4, 1)
    assert main([str(ROOT / "Pulumi.staging.yaml")], today=day) == 0
    out = capsys.readouterr().out
    for name, region in (("east", "us-east-1"), ("west", "us-west-2")):
        price = usd(region, "eks-extended")
        assert f"{name}: EKS control plane (extended support): 1 x ${price:g}/h = ${price * 730:,.2f}" in out
