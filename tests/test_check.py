"""`python -m check`: a stack file checked offline with the program's parser, then its plan and cost."""

from __future__ import annotations

import datetime
import re

import pytest

from check.cli import main
from tests.harness import ROOT

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
TODAY = datetime.date(2026, 12, 3)


def run_check(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), today=TODAY)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_every_committed_stack_checks_and_its_total_is_the_sum_of_its_lines(capsys, path):
    code, out, err = run_check(capsys, str(path))
    assert code == 0, err
    assert "clusters:" in out and "limits:" in out and "monthly cost estimate:" in out
    lines = [float(m.replace(",", "")) for m in re.findall(r"= \$([0-9,]+\.[0-9]{2})$", out, re.M)]
    total = float(re.search(r"total: \$([0-9,.]+) a month", out)[1].replace(",", ""))
    # Each line is rounded to the cent on its own.
    assert lines and total == pytest.approx(sum(lines), abs=0.005 * len(lines))


def test_the_dev_plan_and_its_cost(capsys):
    code, out, _ = run_check(capsys, str(ROOT / "Pulumi.dev.yaml"))
    assert code == 0
    assert "east: primary in us-east-1, network network1" in out and "discovers west" in out
    # Its cost at each region's prices: tests/test_cost.py.
    assert "east: public IPv4 addresses: 4 x $0.005/h" in out and "west: nodes, m6i.large on demand: 2 x" in out


def test_the_private_prod_plan_counts_transit_gateways_and_no_public_nlb(capsys):
    code, out, _ = run_check(capsys, str(ROOT / "Pulumi.prod.yaml"))
    assert code == 0
    # Internal NLBs have no public addresses, so each cluster pays for its three NAT gateways'
    # addresses alone (the Transit Gateway attachments: tests/test_cost.py).
    assert out.count("public IPv4 addresses: 3 x $0.005/h") == 3
    assert "Transit Gateway peering attachments per gateway: 2 of 50" in out and "EKS public endpoint" not in out
    # Two operator networks: pulumi-eks's node rule, meshCidr and the two, on the control plane's group.
    assert "meshCidr, operatorCidrs): at most 4 of 60" in out and "(default, meshCidr, operatorCidrs): 4 of 50" in out
    # Each quota's use per region, the network team's gateway in us-east-1 counting no Transit Gateway of the mesh.
    assert "us-east-2: VPCs per Region 1 of 5;" in out and "Transit gateways per account 1 of 5" in out
    east = next(line for line in out.splitlines() if line.strip().startswith("us-east-1: VPCs"))
    assert "EC2-VPC Elastic IPs 3 of 5" in east and "Transit gateways" not in east


def test_a_bad_stack_file_exits_2_naming_the_key(capsys, tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(
        "config:\n  aws:region: us-east-1\n  istio-eks-mesh:clusters:\n    - name: east\n      vpcCidr: 10.0.0.0/8\n"
    )
    code, out, err = run_check(capsys, str(bad))
    assert code == 2 and out == ""
    assert "istio-eks-mesh:clusters[0].vpcCidr" in err


def test_encrypted_values_are_named_not_read(capsys, tmp_path):
    stack = tmp_path / "Pulumi.enc.yaml"
    stack.write_text(
        "config:\n  aws:region: us-east-1\n  istio-eks-mesh:clusters: [{name: east}]\n "
        " istio-eks-mesh:istioValues:\n    secure: AAABAB==\n"
    )
    code, out, _ = run_check(capsys, str(stack))
    assert code == 0 and "not checked offline (encrypted): istio-eks-mesh:istioValues" in out


def test_a_missing_or_broken_file_exits_2(capsys, tmp_path):
    assert run_check(capsys, str(tmp_path / "Pulumi.none.yaml"))[0] == 2
    broken = tmp_path / "Pulumi.broken.yaml"
    broken.write_text("config: [unclosed\n")
    assert run_check(capsys, str(broken))[0] == 2


def test_the_plan_shows_how_the_mesh_is_reached_and_the_warnings_pulumi_up_prints(capsys, tmp_path):
    stack = tmp_path / "Pulumi.open.yaml"
    stack.write_text("config:\n  aws:region: us-east-1\n  istio-eks-mesh:clusters: [{name: east}]\n")
    code, out, _ = run_check(capsys, str(stack))
    assert code == 0
    assert "connectivity: public" in out and "meshCidr: 10.0.0.0/8" in out
    # The endpoint open to the internet is said here as `pulumi up` says it.
    assert "warning: istio-eks-mesh:apiAccessCidrs is not set" in out
    # Who reaches what: the other istiods and cross-network traffic come from the VPCs' NAT addresses.
    assert "EKS API endpoints: public, from 0.0.0.0/0, every VPC's NAT addresses" in out
    assert "east-west gateways: internet-facing NLBs, from every VPC's NAT addresses" in out


def test_the_plan_lists_the_pairs_in_build_order(capsys, tmp_path):
    # p1 and r1 share a network (peered); every primary watches every other cluster, each secret
    # made once both its clusters exist: primaries first, then remotes.
    stack = tmp_path / "Pulumi.pairs.yaml"
    stack.write_text(
        "config:\n  aws:region: us-east-1\n  istio-eks-mesh:apiAccessCidrs: [203.0.113.0/24]\n"
        "  istio-eks-mesh:clusters:\n"
        "    - {name: p1, network: n1}\n"
        "    - {name: r1, network: n1, role: remote, primary: p1}\n"
        "    - {name: p2, network: n2}\n"
    )
    code, out, _ = run_check(capsys, str(stack))
    assert code == 0
    pairs = out.split("pairs, in build order:\n")[1].split("limits:")[0].splitlines()
    assert [line.strip() for line in pairs] == [
        "p1 <-> r1: VPC peering",
        "after p2: remote secrets p1 watches p2, p2 watches p1",
        "after r1: remote secrets p1 watches r1, p2 watches r1",
    ]


def test_the_private_prod_plan_names_operators_and_gateways(capsys):
    code, out, _ = run_check(capsys, "Pulumi.prod.yaml")
    assert code == 0 and "connectivity: private" in out
    assert "operatorCidrs: " in out and "Transit Gateways: " in out and "(yours)" in out
    assert (
        "EKS API endpoints: private only, 443 from 10.0.0.0/11, 198.18.0.0/24, 198.18.1.0/24 (the control plane's"
        " own group)" in out
    )
    assert "east-west gateways: internal NLBs, from 10.0.0.0/11" in out
    assert "not checked offline: what AWS says of transitGateways" in out


def test_an_encrypted_cluster_list_is_named_not_taken_for_none(capsys, tmp_path):
    stack = tmp_path / "Pulumi.enc.yaml"
    stack.write_text("config:\n  aws:region: us-east-1\n  istio-eks-mesh:clusters:\n    secure: AAABAB==\n")
    code, _, err = run_check(capsys, str(stack))
    assert code == 2 and "istio-eks-mesh:clusters: stored encrypted" in err and "no clusters" not in err
