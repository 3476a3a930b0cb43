"""The list prices `python -m check` estimates the monthly cost with (components/plan/cost.py): per
region, each with the page it was read on, when, and what that page says. Pure data, in USD,
on demand, before taxes, the free tier and discounts.

AWS's pricing pages draw their per-region tables in the browser from a price feed; the copies this
project could read (no internet: stored copies and public records of them) hold the pages' text
and pricing examples only. So each price says what it rests on:
- AWS's own words that name no region (EKS's control plane, the public IPv4 charge): the same in
  every region, entered for each;
- AWS's pricing example, which names one region (Transit Gateway in US East (Ohio)): entered for
  that region;
- a third party that quotes AWS's price for a named region: entered for that region, quoted.
A region or an item the table does not hold is priced as `FALLBACK_REGION`, and `check` says which
(components/plan/cost.py, `price_lines`); an instance type no region holds is named, not priced.
Never enter a number without its source; re-read the pages and move `READ` when refreshing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The day the table was last read.
READ = "2026-12-07"
# Where a region or an item the table lacks is priced from (named by `check`).
FALLBACK_REGION = "us-east-1"
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Source:
    url: str
    # The day the page was read (by this project, or by the record named in `says`).
    read: str
    # What the page says, quoted where it could be, and what kind of source it is.
    says: str


@dataclass(frozen=True)
class Price:
    usd: float
    # What one `usd` buys: "hour", "GB", "NLCU-hour", "10M samples", ...
    per: str
    source: Source


# --- sources --------------------------------------------------------------------------------------

EKS = Source(
    "https://aws.amazon.com/blogs/containers/amazon-eks-extended-support-for-kubernetes-versions-pricing/",
    READ,
    "AWS: clusters in extended support 'will be charged a total of $0.60 per cluster per hour', in standard"
    " support 'you will continue to pay $0.10 per cluster per hour'; no region named",
)
PUBLIC_IPV4 = Source(
    "https://community.aws/content/2c6cKl0W4KQZIO6dWnnDHs1tHSp/aws-to-charge-public-ipv4-addresses",
    READ,
    "AWS's community site: 'Effective February 1, 2024, every resource with a Public IPv4 address (NAT Gateway,"
    " EC2 Instance, Load balancer, VPN etc.) will be charged $0.005 per IP per hour'; every region ('All AWS"
    " regions are affected by the introduction of the fee without exception', haufe-akademie.de/en/skill-it/blog/"
    "aws-gebuehren-ipv4-adressen)",
)
TGW_OHIO = Source(
    "https://aws.amazon.com/transit-gateway/pricing/",
    "2026-09-20",
    "AWS's pricing example, US East (Ohio): '$0.05 per VPC attachment' an hour and data processing 'a charge of"
    " $0.02' per GB (quoted verbatim from the page, read 2026-09-20, by api-evangelist/amazon-transit-gateway"
    " plans/amazon-transit-gateway-plans-pricing.yml; the page's tables are not in its text)",
)
TGW_US = Source(
    "https://cloud-horizons.com/blog/transit-gateway-the-tax-on-multi-vpc/",
    READ,
    "third party, 2026-05-08: '$0.05 per attachment per hour, $0.02 per GB processed. Same in US and EU'",
)
NAT_VIRGINIA = Source(
    "https://basavytix.com/blog/aws-nat-gateway-pricing",
    READ,
    "third party: '$0.045/hr' per NAT gateway and '$0.045/GB' processed, 'These are the us-east-1 rates'",
)
NAT_OHIO = Source(
    "https://cloudburn.io/blog/aws-nat-gateway-pricing",
    READ,
    "third party, 2026-02-24: 'A single NAT Gateway in US East Ohio running 24/7 with 100 GB of monthly data"
    " processing costs approximately $36.90/month ($32.40 hourly + $4.50 data processing)': $0.045 an hour"
    " (720 h) and per GB",
)
NAT_OREGON = Source(
    "https://github.com/aws-samples/sample-cfm-tips-mcp/blob/main/services/pricing.py",
    READ,
    "AWS's sample code, its known prices when the Price List API fails: NAT gateway hours"
    " 'us-east-1': 0.045, 'us-east-2': 0.045, ... 'us-west-2': 0.045, and 'data_processing_price_per_gb': 0.045;"
    " the same in a third party's regional table: 'US West (Oregon, N. California) | ~$0.045 | ~$0.045'"
    " (cloudpipelines.pages.dev/guides/aws-nat-gateway-pricing-2026/)",
)
NLB_VIRGINIA = Source(
    "https://aws.amazon.com/elasticloadbalancing/pricing/",
    "2026-12-03",
    "as this project recorded the page for us-east-1 on 2026-12-03 ($0.0225 per NLB-hour, $0.006 per"
    " NLCU-hour); the hour also in clustercost.com/blog/network-load-balancer-pricing-2025 ('NLB: $0.0225 per"
    " hour', US-East-1)",
)
EC2_VIRGINIA = Source(
    "https://aws.amazon.com/ec2/pricing/on-demand/",
    "2026-12-03",
    "Linux on demand, us-east-1, as this project recorded the page on 2026-12-03 (the stored copy read on"
    f" {READ} holds no prices); m6i.large $0.096 and m6i.xlarge $0.192 also in public tables of us-east-1"
    " prices",
)
INTER_REGION = Source(
    "https://www.usage.ai/blogs/aws-network-costs/",
    READ,
    "third party, 'All rates are for US East (N. Virginia), May 2026': 'standard cross-region rates ($0.02/GB"
    " for most US corridors)'",
)
AMP = Source(
    "https://aws.amazon.com/prometheus/pricing/",
    "2026-10-02",
    "as a public project's decision record 16 ('Prometheus for the EKS/Spark layer') quotes the page it"
    " 'verified on 2026-10-02': '$0.90 per 10M samples ingested (first tier), $0.03 per GB-month stored, $0.10"
    " per billion query samples'; the managed collector '$0.04 per collector-hour ... plus $0.03 per 10M"
    " samples collected'; no region named, entered for us-east-1",
)

# --- prices ---------------------------------------------------------------------------------------

EKS_STANDARD = Price(0.10, "cluster-hour", EKS)
EKS_EXTENDED = Price(0.60, "cluster-hour", EKS)
_IPV4 = Price(0.005, "address-hour", PUBLIC_IPV4)
_EC2_VIRGINIA = {
    "m6i.large": 0.096,
    "m6i.xlarge": 0.192,
    "m6i.2xlarge": 0.384,
    "m7i.large": 0.1008,
    "m7i.xlarge": 0.2016,
    "m6g.large": 0.077,
    "m7g.large": 0.0816,
    "m7g.xlarge": 0.1632,
    "c6i.large": 0.085,
    "r6i.large": 0.126,
}


def instance(name: str) -> str:
    """The table's key of an EC2 instance type's hour."""
    return f"ec2:{name}"


def _nat(source: Source) -> dict[str, Price]:
    return {"nat-hour": Price(0.045, "hour", source), "nat-gb": Price(0.045, "GB", source)}


def _tgw(source: Source) -> dict[str, Price]:
    return {"tgw-attachment-hour": Price(0.05, "attachment-hour", source), "tgw-gb": Price(0.02, "GB", source)}


_EVERY_REGION = {"eks-standard": EKS_STANDARD, "eks-extended": EKS_EXTENDED, "public-ipv4-hour": _IPV4}

# Region -> item -> price. Items: eks-standard, eks-extended, nat-hour, nat-gb, nlb-hour, nlb-nlcu-hour,
# public-ipv4-hour, tgw-attachment-hour, tgw-gb, inter-region-gb, ec2:<type>, amp-* (components/plan/cost.py).
PRICES: Mapping[str, Mapping[str, Price]] = {
    "us-east-1": {
        **_EVERY_REGION,
        **_nat(NAT_VIRGINIA),
        "nlb-hour": Price(0.0225, "hour", NLB_VIRGINIA),
        "nlb-nlcu-hour": Price(0.006, "NLCU-hour", NLB_VIRGINIA),
        **_tgw(TGW_US),
        "inter-region-gb": Price(0.02, "GB", INTER_REGION),
        **{instance(t): Price(usd, "hour", EC2_VIRGINIA) for t, usd in _EC2_VIRGINIA.items()},
        "amp-ingested": Price(0.90, "10M samples", AMP),
        "amp-storage": Price(0.03, "GB-month", AMP),
        "amp-query": Price(0.10, "billion samples", AMP),
        "amp-collector-hour": Price(0.04, "collector-hour", AMP),
        "amp-collected": Price(0.03, "10M samples", AMP),
    },
    "us-east-2": {**_EVERY_REGION, **_nat(NAT_OHIO), **_tgw(TGW_OHIO)},
    "us-west-2": {**_EVERY_REGION, **_nat(NAT_OREGON), **_tgw(TGW_US)},
}

# Who pays a Transit Gateway peering attachment's hour: each gateway's owner, so a peering of two
# gateways of one account bills two attachment-hours an hour, one in each gateway's region. AWS's
# page, in its German edition (aws.amazon.com/de/transit-gateway/pricing/, read 2026-12-07; the
# English page's stored copy was not found): "Bei Peering-Anhängen wird jedem Transit
# Gateway-Besitzer stündlich der Peering-Anhang mit dem anderen Transit-Gateway in Rechnung
# gestellt" (for peering attachments, each Transit Gateway owner is billed hourly for the peering
# attachment with the other Transit Gateway). The program requires every gateway it peers to be the
# caller's (components/aws/transit.py, `check_owner`), so the stack's account pays both sides.
PEERING_SOURCE = "https://aws.amazon.com/de/transit-gateway/pricing/"
