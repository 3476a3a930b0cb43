"""Hostile-review leftovers of config validation (issue 34): each test failed before its fix."""

from __future__ import annotations

import datetime

import pytest

from components.config.validate import ConfigError
from components.config.whole import check_stack_config

NOW = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)


def _error(raw: dict, aws: dict | None = None, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        check_stack_config(raw, {"region": "us-east-1", **(aws or {})}, stack="dev", now=NOW, **kwargs)
    return caught.value


# --- item 1: the keys of a secret map are part of the secret ---------------------------------------

SECRET_NAMES = ("acme-prod-eu-payments", "zz-hidden-region-9", "TeamPhoenixTag", "privateChartKey")


@pytest.mark.parametrize(
    ("raw", "aws", "secret", "aws_secret"),
    [
        # A map: the region key of a bad workspace entry, and its ARN's region beside it.
        (
            {
                "clusters": [{"name": "a"}],
                "metrics": "amp",
                "metricsWorkspaces": {
                    "zz-hidden-region-9": "arn:aws:aps:us-east-1:123456789012:workspace/ws-1",
                    "us-east-1": "arn:aws:aps:eu-west-1:123456789012:workspace/ws-acme-prod-eu-payments",
                },
            },
            {},
            {"metricsWorkspaces"},
            set(),
        ),
        # Maps at every depth: a typo'd chart key, a typo'd key deep inside, a bad quantity under a user key.
        (
            {
                "clusters": [{"name": "a"}],
                "istioValues": {
                    "privateChartKey": {},
                    "istiod": {"acme-prod-eu-payments": {"x": "registry.istio.io/release"}},
                    "gateway": {"resources": {"limits": {"memory": "2 GB"}}},
                },
            },
            {},
            {"istioValues"},
            set(),
        ),
        # A list of maps: an unknown field of a cluster entry.
        ({"clusters": [{"name": "a", "acme-prod-eu-payments": 1}]}, {}, {"clusters"}, set()),
        # The provider's tags: a tag key AWS refuses, under an encrypted aws:defaultTags.
        ({"clusters": [{"name": "a"}]}, {"defaultTags": {"tags": {"TeamPhoenixTag=x": "v"}}}, set(), {"defaultTags"}),
    ],
)
def test_no_key_of_a_secret_map_appears_in_a_problem(raw, aws, secret, aws_secret):
    error = _error(raw, aws, secret_keys=frozenset(secret), aws_secret_keys=frozenset(aws_secret))
    text = str(error) + repr(error.problems)
    assert error.problems, "the config has problems to report"
    leaked = [name for name in (*SECRET_NAMES, "zz-hidden", "eu-west-1") if name in text]
    assert not leaked, text
    # The path still names the key, and says the rest is withheld.
    (top,) = secret or {f"aws:{k}" for k in aws_secret}
    paths = [path for path, _ in error.problems]
    assert all(path.startswith(top) and "(secret entry" in path for path in paths), paths


def test_entries_of_a_secret_map_stay_apart_and_collapse_when_alike():
    workspaces = {f"secret-region-{i}": 5 for i in range(50)}
    error = _error(
        {"clusters": [{"name": "a"}], "metrics": "amp", "metricsWorkspaces": workspaces},
        secret_keys=frozenset({"metricsWorkspaces"}),
    )
    # Each entry is its own problem (the user fixes them all in one go), in a few lines.
    assert len(error.problems) == 50
    assert "secret-region" not in str(error) and len(str(error).splitlines()) <= 8
    # A secret list of plain values has no keys: its positions stay.
    error = _error(
        {"clusters": [{"name": "a"}], "clusterAdmins": ["arn:aws:iam::111122223333:role/ok", "nope-secret-text"]},
        secret_keys=frozenset({"clusterAdmins"}),
    )
    assert [p for p, _ in error.problems] == ["clusterAdmins[1]"]


def test_a_huge_secret_map_of_bad_entries_is_checked_in_seconds():
    import time

    start = time.monotonic()
    error = _error(
        {"clusters": [{"name": "a"}], "metrics": "amp", "metricsWorkspaces": {f"secret-{i}": 5 for i in range(5_000)}},
        secret_keys=frozenset({"metricsWorkspaces"}),
    )
    assert time.monotonic() - start < 3 and len(error.problems) == 5_000
    assert "secret-" not in str(error)


# --- item 2: aws:allowedAccountIds / aws:forbiddenAccountIds -----------------------------------------

ROLE = {"roleArn": "arn:aws:iam::111122223333:role/deployer"}


@pytest.mark.parametrize(
    ("aws", "paths"),
    [
        # What the provider compares with the caller's account, as text: 12 digits, nothing else.
        ({"allowedAccountIds": ["1111-2222-3333"]}, ["aws:allowedAccountIds[0]"]),
        ({"allowedAccountIds": ["111122223333\n"]}, ["aws:allowedAccountIds[0]"]),
        ({"allowedAccountIds": [" 111122223333"]}, ["aws:allowedAccountIds[0]"]),
        ({"forbiddenAccountIds": ["11112222333"]}, ["aws:forbiddenAccountIds[0]"]),
        ({"forbiddenAccountIds": ["١١١١٢٢٢٢٣٣٣٣"]}, ["aws:forbiddenAccountIds[0]"]),  # digits, not ASCII ones
        # A YAML number: 012345678901 would reach the provider as 12345678901.
        ({"allowedAccountIds": [111122223333]}, ["aws:allowedAccountIds[0]"]),
        ({"allowedAccountIds": "111122223333"}, ["aws:allowedAccountIds"]),
        ({"allowedAccountIds": [["111122223333"]]}, ["aws:allowedAccountIds[0]"]),
        # The provider refuses the two together (ConflictsWith): one problem naming both.
        (
            {"allowedAccountIds": ["111122223333"], "forbiddenAccountIds": ["444455556666"]},
            ["aws:allowedAccountIds"],
        ),
        # The role the providers assume is the caller: its account must be allowed, and not forbidden.
        ({"assumeRoles": [ROLE], "forbiddenAccountIds": ["111122223333"]}, ["aws:forbiddenAccountIds[0]"]),
        ({"assumeRoles": [ROLE], "allowedAccountIds": ["444455556666"]}, ["aws:allowedAccountIds"]),
    ],
)
def test_account_id_lists_are_refused_as_the_provider_would_refuse_them(aws, paths):
    from components.config.aws_settings import parse_aws_settings

    error = _error({"clusters": [{"name": "a"}]}, aws)
    assert [p for p, _ in error.problems] == paths
    if "forbiddenAccountIds" in aws and "allowedAccountIds" in aws:
        assert "aws:forbiddenAccountIds" in error.problems[0][1]
    # Lists that fit reach the providers as written, leading zeros kept.
    settings = parse_aws_settings({"assumeRoles": [ROLE], "allowedAccountIds": ["111122223333", "012345678901"]})
    assert settings.others["allowed_account_ids"] == ("111122223333", "012345678901")


# --- item 4: a hint never suggests moving a deployed VPC ---------------------------------------------


def _deployed(**ranges: str):
    from components.model.deployed import LastDeployment

    return LastDeployment(
        clusters=frozenset(ranges), regions=dict.fromkeys(ranges, "us-east-1"), vpc_cidrs=dict(ranges)
    )


def test_an_overlap_with_a_recorded_vpc_names_the_recorded_range_only():
    # 'b' was deployed at 10.200.0.0/16 (its `vpcCidrs` record), not where the old name-ordered
    # defaults would have put it (10.157.0.0/16): the hint names the recorded range, nothing else.
    error = _error(
        {"clusters": [{"name": "b"}, {"name": "a", "vpcCidr": "10.200.0.0/16"}]}, last=_deployed(b="10.200.0.0/16")
    )
    (problem,) = error.problems
    assert problem[0] == "clusters[1].vpcCidr"
    assert "10.200.0.0/16" in problem[1] and "10.157." not in problem[1]


def test_an_overlap_between_a_deployed_vpc_and_a_new_one_asks_only_the_new_one_to_move():
    # 'b' is deployed at the range it lists; 'a', earlier in the list, is new and takes the same range.
    error = _error(
        {"clusters": [{"name": "a", "vpcCidr": "10.1.0.0/16"}, {"name": "b", "vpcCidr": "10.1.0.0/16"}]},
        last=_deployed(b="10.1.0.0/16"),
    )
    (problem,) = error.problems
    assert problem[0] == "clusters[0].vpcCidr", problem
    assert "'b'" in problem[1] and "deployed" in problem[1]


def test_two_vpcs_deployed_before_ranges_were_recorded_are_never_told_to_move_to_a_free_range():
    from components.model.deployed import LastDeployment

    # c6 and c7 hash to one name-hash default (10.133.0.0/16); the release that made them gave c7
    # the next slot. The hint asks for the range the VPC has, never for a free one.
    last = LastDeployment(clusters=frozenset({"c6", "c7"}), regions={"c6": "us-east-1", "c7": "us-east-1"})
    error = _error({"clusters": [{"name": "c6"}, {"name": "c7"}]}, last=last)
    (problem,) = error.problems
    assert problem[0] == "clusters[1].vpcCidr" and "10.134.0.0/16" in problem[1], problem
    assert "free range" not in problem[1]


# --- item 3: istiod's fit, by role, on what a node really gives pods ---------------------------------


def _cluster(name: str, types: list[str], **fields) -> dict:
    return {"name": name, "nodeGroup": {"instanceTypes": types}, **fields}


def test_istiod_is_refused_a_node_too_small_for_it_whatever_its_family():
    # a1.medium has 2 GiB (1 vCPU): 1451Mi allocatable, and a primary's istiod requests 2048Mi.
    error = _error({"clusters": [_cluster("a", ["a1.medium"])]})
    assert [p for p, _ in error.problems] == ["clusters[0].nodeGroup.instanceTypes"]
    assert "a1.medium 1451Mi" in error.problems[0][1] and "a1.large" in error.problems[0][1]


def test_a_remote_is_sized_for_its_injector_istiod():
    from components.config.parse import parse_mesh_spec

    primary = _cluster("p", ["m6i.large"])
    # A remote's injector istiod requests 512Mi: a t3.small (1451Mi allocatable) holds it.
    remote = _cluster("r", ["t3.small"], role="remote", primary="p")
    spec = parse_mesh_spec({"clusters": [primary, remote]}, default_region="us-east-1", stack="dev", now=NOW)
    assert spec.clusters[1].node_group.instance_types == ("t3.small",)
    # A t3.nano (74Mi) does not; nor does a t3.small once the user's resources ask for 2Gi everywhere.
    nano = _cluster("r", ["t3.nano"], role="remote", primary="p")
    assert [p for p, _ in _error({"clusters": [primary, nano]}).problems] == ["clusters[1].nodeGroup.instanceTypes"]
    sized = {"istiod": {"resources": {"requests": {"memory": "2Gi"}}}}
    error = _error({"clusters": [primary, remote], "istioValues": sized})
    assert [p for p, _ in error.problems] == ["clusters[1].nodeGroup.instanceTypes"]


def test_istiod_needs_one_untainted_group_it_fits_on():
    small = {"name": "small", "instanceTypes": ["t3.small"]}
    big = {"name": "big", "instanceTypes": ["m6i.large"]}
    tainted = {**big, "taints": [{"key": "dedicated", "value": "batch", "effect": "NO_SCHEDULE"}]}
    from components.config.parse import parse_mesh_spec

    assert parse_mesh_spec(
        {"clusters": [{"name": "a", "nodeGroups": [small, big]}]}, default_region="us-east-1", stack="dev", now=NOW
    )
    # Big nodes istiod may not run on do not count: the small group is named.
    error = _error({"clusters": [{"name": "a", "nodeGroups": [small, tainted]}]})
    assert [p for p, _ in error.problems] == ["clusters[0].nodeGroups[0].instanceTypes"]


# --- more of the same classes, in the keys added lately ----------------------------------------------

PRIVATE = {
    "connectivity": "private",
    "meshCidr": "10.64.0.0/12",
    "transitGateways": {"us-east-1": "tgw-0123456789abcdef0"},
}
ENTRY = {"operatorAttachment": "tgw-attach-0123456789abcdef0", "returnRouteTable": "tgw-rtb-0123456789abcdef0"}


def _group(**fields) -> dict:
    return {"clusters": [{"name": "a", "nodeGroups": [{"name": "x", **fields}, {"name": "y"}]}]}


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        # A workspace ARN whose partition is not its region's: no collector could write to it.
        (
            {
                "clusters": [{"name": "a"}],
                "metrics": "amp",
                "metricsWorkspaces": {"us-east-1": "arn:aws-cn:aps:us-east-1:123456789012:workspace/ws-1"},
            },
            "metricsWorkspaces.us-east-1",
        ),
        # What EKS takes for a node group's labels and taints (API reference: labels, Taint): keys
        # of 1-63 characters, label values of 1-63.
        (_group(labels={"tier": ""}), "clusters[0].nodeGroups[0].labels.tier"),
        (
            _group(labels={"a" * 50 + ".example.com/tier": "x"}),
            "clusters[0].nodeGroups[0].labels." + "a" * 50 + ".example.com/tier",
        ),
        (
            _group(taints=[{"key": "b" * 50 + ".example.com/t", "effect": "NO_SCHEDULE"}]),
            "clusters[0].nodeGroups[0].taints[0].key",
        ),
        # The kubelet refuses node labels in the kubernetes.io and k8s.io namespaces but its own.
        (
            _group(labels={"node-role.kubernetes.io/mesh": "true"}),
            "clusters[0].nodeGroups[0].labels.node-role.kubernetes.io/mesh",
        ),
        (_group(labels={"k8s.io/team": "mesh"}), "clusters[0].nodeGroups[0].labels.k8s.io/team"),
    ],
)
def test_values_the_provider_or_aws_would_refuse_later_are_refused_now(raw, path):
    error = _error(raw)
    assert [p for p, _ in error.problems] == [path], error.problems


def test_node_labels_the_kubelet_keeps_for_itself_may_be_set_where_it_allows():
    from components.config.parse import parse_mesh_spec

    labels = {"node.kubernetes.io/pool": "mesh", "topology.kubernetes.io/zone": "us-east-1a", "example.com/tier": "x"}
    spec = parse_mesh_spec(_group(labels=labels), default_region="us-east-1", stack="dev", now=NOW)
    assert spec.clusters[0].node_group.labels == labels
    # And a label the kubelet refuses is named once even beside others.
    error = _error(_group(labels={**labels, "kubernetes.io/role": "mesh"}))
    assert [p for p, _ in error.problems] == ["clusters[0].nodeGroups[0].labels.kubernetes.io/role"]


def test_transit_gateway_routing_is_refused_where_it_routes_nothing():
    a = {"clusters": [{"name": "a"}], **PRIVATE}
    # Valid alone, not together: an entry point for operators while no operatorCidrs enter.
    alone = {**a, "transitGatewayRouting": {"us-east-1": ENTRY}}
    assert [p for p, _ in _error(alone).problems] == ["transitGatewayRouting"]
    # An empty map is no entry point: as unset, which operatorCidrs over the gateways need.
    empty = {**a, "operatorCidrs": ["192.168.0.0/16"], "transitGatewayRouting": {}}
    assert [p for p, _ in _error(empty).problems] == ["transitGatewayRouting"]
    # Refused operatorCidrs are not blamed on the routing too.
    refused = {**a, "operatorCidrs": ["nope"], "transitGatewayRouting": {"us-east-1": ENTRY}}
    assert [p for p, _ in _error(refused).problems] == ["operatorCidrs[0]"]


def test_the_node_model_reserves_what_nodeadm_reserves_on_instances_as_ec2_sizes_them():
    from components.plan.node_capacity import instance_size, kube_reserved

    # nodeadm's own expectation for a 2-vCPU node of 110 pods (amazon-eks-ami@v20260724,
    # nodeadm/test/e2e/cases/kubelet-config-new-instance-type/expected-kubelet-config.json).
    assert kube_reserved(2, 110) == (1465, 70)
    # vCPUs, memory and the VPC CNI's pods as EC2's specifications and eni-max-pods give them.
    assert instance_size("a1.medium") == (1, 2048, 8)
    assert instance_size("m5.large") == (2, 8192, 29)
    assert instance_size("m6g.medium") == (1, 4096, 8)
    assert instance_size("t3.small")[:2] == (2, 2048) and instance_size("t2.micro")[:2] == (1, 1024)
    assert instance_size("r6i.xlarge")[:2] == (4, 32768) and instance_size("c7g.4xlarge")[:2] == (16, 32768)
    # Types whose name does not say their memory are not judged.
    assert instance_size("c5n.large") is None and instance_size("x2idn.16xlarge") is None


def test_raising_vpcs_per_region_raises_internet_gateways_with_it():
    from components.config.parse import parse_mesh_spec

    six = [{"name": f"c{i}", "vpcCidr": f"10.{i}.0.0/16"} for i in range(6)]
    # AWS raises internet gateways per Region only with VPCs per Region, by the same amount.
    raised = {"vpcsPerRegion": 6, "natGatewaysPerAz": 6, "elasticIpsPerRegion": 6}
    spec = parse_mesh_spec({"clusters": six, "serviceQuotas": raised}, default_region="us-east-1", stack="dev", now=NOW)
    assert spec.service_quotas["internetGatewaysPerRegion"] == 6
    # Short of them, the hint raises the quota AWS lets you raise.
    error = _error({"clusters": six, "serviceQuotas": {"natGatewaysPerAz": 6, "elasticIpsPerRegion": 6}})
    said = dict(error.problems)
    assert set(said) == {"serviceQuotas.vpcsPerRegion", "serviceQuotas.internetGatewaysPerRegion"}
    assert "set serviceQuotas.vpcsPerRegion" in said["serviceQuotas.internetGatewaysPerRegion"]
