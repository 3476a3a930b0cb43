"""Named node groups (`nodeGroups`): `nodeGroup` is the one-group shorthand with the same resource,
and a change EKS can only make by replacing a group is done as a new group beside the old one."""

from __future__ import annotations

import datetime

import pytest

from components.config.instance_types import EC2_FAMILIES
from components.config.keys import OUTPUTS
from components.config.node_ami import NEURON_FAMILIES, NVIDIA_FAMILIES, UNSUPPORTED_ACCELERATORS, driverless_warnings
from components.config.node_release import release_age_warnings
from components.config.node_template import launch_template_warnings
from components.config.parse import parse_mesh_spec
from components.config.stack import last_deployment_from_outputs
from components.config.validate import ConfigError
from components.model.deployed import LastDeployment
from components.plan.outputs import node_group_records
from tests.harness import Run, cached_run, resolve, run_program
from tests.helpers import mesh_config, mocks_with, recorded
from tests.impact import UNCHANGED, change_impact

GROUP = "eks:index:ManagedNodeGroup"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
OLD = {"instanceTypes": ["m6i.large"], "desiredSize": 2, "minSize": 2, "maxSize": 4}
NEW = {"instanceTypes": ["m7i.large"], "desiredSize": 2, "minSize": 2, "maxSize": 4}


def ok(config: dict) -> Run:
    run = cached_run(config)
    assert run.error is None, run.error
    return run


def first_with(**fields) -> dict:
    # One cluster: what a group setting does shows in its own cluster. That one cluster's settings
    # leave the others alone is checked where both are compared (test_eks_versions_and_access.py:
    # upgrade policy and pinned add-ons).
    config = mesh_config(1)
    config["clusters"][0] = {**config["clusters"][0], **fields}
    return config


def changes(before: Run, after: Run) -> dict:
    return {k: what for k, what in change_impact(before, after).items() if what != UNCHANGED}


def test_the_shorthand_and_a_list_of_one_default_group_are_the_same_resources():
    shorthand = ok(first_with(nodeGroup=OLD))
    listed = ok(first_with(nodeGroups=[{"name": "default", **OLD}]))
    assert changes(shorthand, listed) == {}
    assert [g.name for g in listed.of_type(GROUP)] == ["c0-nodes"]


def test_an_instance_type_change_is_a_new_group_beside_the_old_one_then_its_removal():
    before = ok(first_with(nodeGroup=OLD))
    # Step 1: the new group beside the old one: created, nothing else touched.
    beside = ok(first_with(nodeGroups=[{"name": "default", **OLD}, {"name": "m7i", **NEW}]))
    assert changes(before, beside) == {
        (GROUP, "c0-nodes-m7i"): "created",
        (TEMPLATE, "c0-nodes-m7i-launch-template"): "created",
    }
    assert beside.one(GROUP, "c0-nodes-m7i").inputs["instanceTypes"] == ["m7i.large"]
    # Nothing in the cluster may outlive a group on destroy: the Kubernetes provider waits for both.
    provider = beside.one("pulumi:providers:kubernetes", "c0-k8s")
    assert all(beside.depends_on(provider, g) for g in beside.of_type(GROUP) if g.name.startswith("c0-"))
    # Step 2 (after draining it): the old group removed, nothing replaced.
    after = ok(first_with(nodeGroups=[{"name": "m7i", **NEW}]))
    assert changes(beside, after) == {(GROUP, "c0-nodes"): "deleted", (TEMPLATE, "c0-nodes-launch-template"): "deleted"}
    # What the shortcut would do: the only group replaced (instanceTypes is ForceNew).
    assert changes(before, ok(first_with(nodeGroup=NEW)))[GROUP, "c0-nodes"] == "replaced"


def test_a_group_can_leave_protection_while_the_cluster_keeps_it():
    config = first_with(nodeGroups=[{"name": "default", **OLD, "protect": False}, {"name": "m7i", **NEW}])
    run = ok({**config, "protect": True})
    assert run.one(GROUP, "c0-nodes").protect is False
    assert run.one(GROUP, "c0-nodes-m7i").protect is True
    assert run.one("aws:ec2/vpc:Vpc", "c0-network-vpc").protect is True


def problems_of(cluster: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec({"clusters": [{"name": "east", **cluster}]}, default_region="us-east-1", stack="dev")
    return dict(caught.value.problems)


@pytest.mark.parametrize(
    ("cluster", "key"),
    [
        ({"nodeGroup": OLD, "nodeGroups": [{"name": "a", **OLD}]}, "clusters[0].nodeGroups"),
        ({"nodeGroups": []}, "clusters[0].nodeGroups"),
        ({"nodeGroups": {"name": "a"}}, "clusters[0].nodeGroups"),
        ({"nodeGroups": [{"name": f"g{i}"} for i in range(31)]}, "clusters[0].nodeGroups"),
        ({"nodeGroups": ["a"]}, "clusters[0].nodeGroups[0]"),
        ({"nodeGroups": [OLD]}, "clusters[0].nodeGroups[0].name"),
        ({"nodeGroups": [{"name": "Default"}]}, "clusters[0].nodeGroups[0].name"),
        ({"nodeGroups": [{"name": "a" * 21}]}, "clusters[0].nodeGroups[0].name"),
        ({"nodeGroups": [{"name": "-a"}]}, "clusters[0].nodeGroups[0].name"),
        ({"nodeGroups": [{"name": 7}]}, "clusters[0].nodeGroups[0].name"),
        ({"nodeGroups": [{"name": "a"}, {"name": "a"}]}, "clusters[0].nodeGroups[1].name"),
        (
            {"nodeGroups": [{"name": "a"}, {"name": "b", "instanceTypes": ["m6i"]}]},
            "clusters[0].nodeGroups[1].instanceTypes[0]",
        ),
        ({"nodeGroups": [{"name": "a", "protect": "no"}]}, "clusters[0].nodeGroups[0].protect"),
        ({"nodeGroups": [{"name": "a", "size": 3}]}, "clusters[0].nodeGroups[0].size"),
        ({"nodeGroup": {"diskSize": 19}}, "clusters[0].nodeGroup.diskSize"),
        ({"nodeGroup": {"diskSize": 16_385}}, "clusters[0].nodeGroup.diskSize"),
        ({"nodeGroup": {"diskSize": "50"}}, "clusters[0].nodeGroup.diskSize"),
        ({"nodeGroup": {"diskSize": 50.0}}, "clusters[0].nodeGroup.diskSize"),
        ({"nodeGroup": {"diskSize": True}}, "clusters[0].nodeGroup.diskSize"),
        ({"nodeGroup": {"labels": ["a"]}}, "clusters[0].nodeGroup.labels"),
        ({"nodeGroup": {"labels": {"-a": "x"}}}, "clusters[0].nodeGroup.labels.-a"),
        ({"nodeGroup": {"labels": {"a": "x" * 64}}}, "clusters[0].nodeGroup.labels.a"),
        ({"nodeGroup": {"labels": {"a": 1}}}, "clusters[0].nodeGroup.labels.a"),
        ({"nodeGroup": {"labels": {"a": "b\n"}}}, "clusters[0].nodeGroup.labels.a"),
        ({"nodeGroup": {"taints": {"key": "a"}}}, "clusters[0].nodeGroup.taints"),
        ({"nodeGroup": {"taints": [{"key": "a", "effect": "NoSchedule"}]}}, "clusters[0].nodeGroup.taints[0].effect"),
        ({"nodeGroup": {"taints": [{"key": "a b", "effect": "NO_SCHEDULE"}]}}, "clusters[0].nodeGroup.taints[0].key"),
        (
            {"nodeGroup": {"taints": [{"key": "a", "effect": "NO_SCHEDULE", "x": 1}]}},
            "clusters[0].nodeGroup.taints[0].x",
        ),
        (
            {"nodeGroup": {"taints": [{"key": f"k{i}", "effect": "NO_SCHEDULE"} for i in range(51)]}},
            "clusters[0].nodeGroup.taints",
        ),
        # Nothing left for istiod and the gateways to run on.
        ({"nodeGroup": {"taints": [{"key": "a", "effect": "NO_EXECUTE"}]}}, "clusters[0].nodeGroup.taints"),
        (
            {"nodeGroups": [{"name": n, "taints": [{"key": "a", "effect": "NO_SCHEDULE"}]} for n in ("x", "y")]},
            "clusters[0].nodeGroups",
        ),
    ],
)
def test_bad_node_groups_are_refused_with_their_key(cluster, key):
    assert key in problems_of(cluster)


def deployed(run: Run, **records) -> Run:
    """`run`'s config run again on the stack `first` left, with these `clusters` records changed
    (`c0={"nodeGroupLaunchTemplates": {...}}`)."""
    last = recorded(run)
    for name, fields in records.items():
        last["clusters"][name].update(fields)
    return last


def test_disk_size_goes_into_the_launch_template_and_on_a_group_without_one_replaces_it():
    run = ok(first_with(nodeGroups=[{"name": "default", **OLD}, {"name": "big", **NEW, "diskSize": 100}]))
    # EKS refuses diskSize beside a launch template (the mocks too): the template's root volume has it.
    assert "diskSize" not in run.one(GROUP, "c0-nodes-big").inputs
    [volume] = run.one(TEMPLATE, "c0-nodes-big-launch-template").inputs["blockDeviceMappings"]
    assert volume == {
        "deviceName": "/dev/xvda",
        "ebs": {"volumeSize": 100, "volumeType": "gp3", "deleteOnTermination": "true"},
    }
    assert "blockDeviceMappings" not in run.one(TEMPLATE, "c0-nodes-launch-template").inputs
    # With a template a new size is a new template version, rolled onto the nodes in place.
    bigger = ok(first_with(nodeGroups=[{"name": "default", **OLD}, {"name": "big", **NEW, "diskSize": 200}]))
    assert changes(run, bigger) == {
        (GROUP, "c0-nodes-big"): "updated",
        (TEMPLATE, "c0-nodes-big-launch-template"): "updated",
    }
    # A group deployed without one takes the size itself, which replaces it (ForceNew).
    plain = ok(first_with(nodeGroup=OLD))
    old_stack = deployed(plain, c0={"nodeGroupLaunchTemplates": {}})
    before = run_program(first_with(nodeGroup=OLD), mock_factory=mocks_with(last_outputs=old_stack))
    after = run_program(first_with(nodeGroup={**OLD, "diskSize": 100}), mock_factory=mocks_with(last_outputs=old_stack))
    assert after.one(GROUP, "c0-nodes").inputs["diskSize"] == 100
    assert changes(before, after) == {(GROUP, "c0-nodes"): "replaced"}


def groups_of(*groups: dict, last: LastDeployment = LastDeployment()):
    cluster = {"name": "east", "nodeGroups": [{"name": f"g{i}", **g} for i, g in enumerate(groups)]}
    return parse_mesh_spec({"clusters": [cluster]}, default_region="us-east-1", stack="dev", last=last).clusters


@pytest.mark.parametrize(
    ("types", "ami"),
    [
        (["g5.xlarge", "g6.xlarge"], "AL2023_x86_64_NVIDIA"),
        (["p5.48xlarge"], "AL2023_x86_64_NVIDIA"),
        (["g5g.xlarge"], "AL2023_ARM_64_NVIDIA"),
        (["inf2.xlarge", "trn1.2xlarge"], "AL2023_x86_64_NEURON"),
        (["m7g.large"], "AL2023_ARM_64_STANDARD"),
        (["m6i.large"], None),
    ],
)
def test_accelerated_families_get_the_ami_type_with_their_drivers(types, ami):
    [cluster] = groups_of({"instanceTypes": types})
    assert cluster.node_group.ami_type == ami


@pytest.mark.parametrize(
    ("types", "key"),
    [
        (["g4ad.xlarge"], "clusters[0].nodeGroups[0].instanceTypes[0]"),
        (["m6i.large", "f1.2xlarge"], "clusters[0].nodeGroups[0].instanceTypes[1]"),
        (["p2.xlarge"], "clusters[0].nodeGroups[0].instanceTypes[0]"),
        (["g5.xlarge", "m6i.large"], "clusters[0].nodeGroups[0].instanceTypes"),
        (["g5.xlarge", "inf2.xlarge"], "clusters[0].nodeGroups[0].instanceTypes"),
    ],
)
def test_accelerators_without_an_eks_ami_or_mixed_with_others_are_refused(types, key):
    assert key in problems_of({"nodeGroups": [{"name": "g0", "instanceTypes": types}]})


def test_a_deployed_accelerated_group_keeps_its_ami_and_is_warned_a_new_one_gets_its_drivers():
    gpu = {"instanceTypes": ["g5.xlarge"]}
    # Deployed before the record, with the standard AMI: kept (an AMI change replaces the group).
    before_record = LastDeployment(clusters=frozenset({"east"}))
    cluster = {"name": "east", "nodeGroup": gpu}
    [kept] = parse_mesh_spec(
        {"clusters": [cluster]}, default_region="us-east-1", stack="dev", last=before_record
    ).clusters
    assert kept.node_group.ami_type is None
    [warning] = driverless_warnings([kept])
    assert "'default'" in warning and "AL2023_x86_64_NVIDIA" in warning and "add a group beside it" in warning
    # A group recorded with the NVIDIA AMI keeps it; a new group beside the old one gets it.
    nvidia = LastDeployment(clusters=frozenset({"east"}), node_ami_types={"east": {"g0": "AL2023_x86_64_NVIDIA"}})
    assert [g.ami_type for g in groups_of(gpu, gpu, last=nvidia)[0].node_groups] == ["AL2023_x86_64_NVIDIA"] * 2
    plain = LastDeployment(clusters=frozenset({"east"}), node_ami_types={"east": {"g0": ""}})
    assert [g.ami_type for g in groups_of(gpu, gpu, last=plain)[0].node_groups] == [None, "AL2023_x86_64_NVIDIA"]


def test_the_ami_types_are_recorded_and_a_second_run_changes_nothing():
    config = first_with(nodeGroups=[{"name": "default", **OLD}, {"name": "gpu", **OLD, "instanceTypes": ["g5.xlarge"]}])
    first = ok(config)
    assert resolve(first.exports["clusters"]["c0"]["nodeGroupAmiTypes"])[0] == {
        "default": "",
        "gpu": "AL2023_x86_64_NVIDIA",
    }
    assert first.one(GROUP, "c0-nodes-gpu").inputs["amiType"] == "AL2023_x86_64_NVIDIA"
    second = run_program(config, mock_factory=mocks_with(last_outputs=recorded(first)))
    assert second.error is None, second.error
    assert changes(first, second) == {}


def test_labels_and_taints_reach_their_group_and_change_it_in_place():
    tainted = {"name": "batch", **NEW, "labels": {"example.com/tier": "batch"}}
    tainted["taints"] = [{"key": "dedicated", "value": "batch", "effect": "NO_SCHEDULE"}]
    before = ok(first_with(nodeGroups=[{"name": "default", **OLD}, {"name": "batch", **NEW}]))
    after = ok(first_with(nodeGroups=[{"name": "default", **OLD}, tainted]))
    group = after.one(GROUP, "c0-nodes-batch").inputs
    assert group["labels"] == {"example.com/tier": "batch"}
    assert group["taints"] == [{"key": "dedicated", "value": "batch", "effect": "NO_SCHEDULE"}]
    assert changes(before, after) == {(GROUP, "c0-nodes-batch"): "updated"}
    # One tainted group beside an untainted one is fine; PREFER_NO_SCHEDULE alone repels nothing.
    prefer = {"nodeGroup": {"taints": [{"key": "a", "effect": "PREFER_NO_SCHEDULE"}]}}
    assert parse_mesh_spec({"clusters": [{"name": "east", **prefer}]}, default_region="us-east-1", stack="dev")


def test_new_groups_get_a_launch_template_with_imdsv2_and_hop_limit_1():
    run = ok(first_with(nodeGroups=[{"name": "default", **OLD}, {"name": "hops", **NEW, "imdsHopLimit": 2}]))
    template = run.one(TEMPLATE, "c0-nodes-launch-template")
    assert template.inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
    }
    assert run.one(TEMPLATE, "c0-nodes-hops-launch-template").inputs["metadataOptions"]["httpPutResponseHopLimit"] == 2
    # No AMI, user data or instance type: EKS keeps choosing and bootstrapping them.
    assert not {"imageId", "userData", "instanceType"} & set(template.inputs)
    group = run.one(GROUP, "c0-nodes")
    assert group.inputs["launchTemplate"]["version"] == "1"
    assert run.depends_on(group, template)
    # pulumi-eks leaves `version` unset beside a launch template: the nodes must follow the cluster.
    assert group.inputs["version"] == run.one("eks:index:Cluster", "c0-eks").inputs["version"]


def test_a_deployed_group_keeps_having_no_launch_template_is_warned_and_opts_in_by_replacement():
    plain = ok(first_with(nodeGroup=OLD))
    # Deployed before the record: no group had a template.
    old_stack = recorded(plain)
    for c in old_stack["clusters"].values():
        del c["nodeGroupLaunchTemplates"]
    before = run_program(first_with(nodeGroup=OLD), mock_factory=mocks_with(last_outputs=old_stack))
    assert before.error is None, before.error
    assert "launchTemplate" not in before.one(GROUP, "c0-nodes").inputs
    assert not before.of_type(TEMPLATE)
    deployed_spec = parse_mesh_spec(
        first_with(nodeGroup=OLD),
        default_region="us-east-1",
        stack="dev",
        last=last_deployment_from_outputs(old_stack),
    )
    [warning] = launch_template_warnings(deployed_spec.clusters)
    assert "`clusters[0].nodeGroup.launchTemplate: true`" in warning and "REPLACES" in warning
    # A group beside it gets one; opting the deployed one in replaces it.
    beside = run_program(
        first_with(nodeGroups=[{"name": "default", **OLD}, {"name": "m7i", **NEW}]),
        mock_factory=mocks_with(last_outputs=old_stack),
    )
    assert changes(before, beside) == {
        (GROUP, "c0-nodes-m7i"): "created",
        (TEMPLATE, "c0-nodes-m7i-launch-template"): "created",
    }
    opted = run_program(
        first_with(nodeGroup={**OLD, "launchTemplate": True}), mock_factory=mocks_with(last_outputs=old_stack)
    )
    assert changes(before, opted) == {
        (GROUP, "c0-nodes"): "replaced",
        (TEMPLATE, "c0-nodes-launch-template"): "created",
    }
    # `false` keeps it as it is, without the warning.
    declined = first_with(nodeGroup={**OLD, "launchTemplate": False})
    spec = parse_mesh_spec(
        declined, default_region="us-east-1", stack="dev", last=last_deployment_from_outputs(old_stack)
    )
    assert launch_template_warnings(spec.clusters) == []


def test_the_node_group_records_are_exported_and_described():
    exported = resolve(ok(first_with(nodeGroup=OLD)).exports["clusters"])[0]["c0"]
    assert exported["nodeGroupLaunchTemplates"] == {"default": True}
    assert exported["nodeGroupReleaseVersions"] == {"default": ""}
    described = {o.key for o in OUTPUTS}
    assert {"clusters.<name>.nodeGroupLaunchTemplates", "clusters.<name>.nodeGroupReleaseVersions"} <= described


@pytest.mark.parametrize(
    ("group", "key"),
    [
        ({"launchTemplate": "yes"}, "clusters[0].nodeGroup.launchTemplate"),
        ({"launchTemplate": 1}, "clusters[0].nodeGroup.launchTemplate"),
        ({"imdsHopLimit": 0}, "clusters[0].nodeGroup.imdsHopLimit"),
        ({"imdsHopLimit": 65}, "clusters[0].nodeGroup.imdsHopLimit"),
        ({"imdsHopLimit": 10**30}, "clusters[0].nodeGroup.imdsHopLimit"),
        ({"imdsHopLimit": "1"}, "clusters[0].nodeGroup.imdsHopLimit"),
        ({"imdsHopLimit": 1.0}, "clusters[0].nodeGroup.imdsHopLimit"),
        ({"imdsHopLimit": True}, "clusters[0].nodeGroup.imdsHopLimit"),
        ({"imdsHopLimit": 2, "launchTemplate": False}, "clusters[0].nodeGroup.imdsHopLimit"),
    ],
)
def test_bad_launch_template_settings_are_refused_with_their_key(group, key):
    assert key in problems_of({"nodeGroup": group})


def test_the_ami_release_is_pinned_by_config_and_rolled_in_place():
    june = ok(first_with(kubernetesVersion="1.35", nodeGroup={**OLD, "releaseVersion": "1.35.3-20260612"}))
    assert june.one(GROUP, "c0-nodes").inputs["releaseVersion"] == "1.35.3-20260612"
    unpinned = ok(first_with(kubernetesVersion="1.35", nodeGroup=OLD))
    assert "releaseVersion" not in unpinned.one(GROUP, "c0-nodes").inputs
    july = ok(first_with(kubernetesVersion="1.35", nodeGroup={**OLD, "releaseVersion": "1.35.3-20260710"}))
    assert changes(june, july) == {(GROUP, "c0-nodes"): "updated"}
    spec = parse_mesh_spec(
        first_with(kubernetesVersion="1.35", nodeGroup={**OLD, "releaseVersion": "1.35.3-20260612"}),
        default_region="us-east-1",
        stack="dev",
    )
    assert node_group_records(spec.clusters[0])["nodeGroupReleaseVersions"] == {"default": "1.35.3-20260612"}
    # A month and a half later the pinned release is warned; before, not.
    assert release_age_warnings(spec.clusters, datetime.date(2026, 7, 27)) == []
    [warning] = release_age_warnings(spec.clusters, datetime.date(2026, 7, 28))
    assert "46 days old" in warning and "/aws/service/eks/optimized-ami/1.35/" in warning


@pytest.mark.parametrize(
    ("cluster", "key"),
    [
        ({"nodeGroup": {"releaseVersion": "1.35.3-20260612"}}, "clusters[0].nodeGroup.releaseVersion"),
        (
            {"kubernetesVersion": "1.35", "nodeGroups": [{"name": "a", "releaseVersion": "1.34.2-20260612"}]},
            "clusters[0].nodeGroups[0].releaseVersion",
        ),
        (
            {"kubernetesVersion": "1.35", "nodeGroup": {"releaseVersion": "1.35-20260612"}},
            "clusters[0].nodeGroup.releaseVersion",
        ),
        (
            {"kubernetesVersion": "1.35", "nodeGroup": {"releaseVersion": "v1.35.3-20260612"}},
            "clusters[0].nodeGroup.releaseVersion",
        ),
        (
            {"kubernetesVersion": "1.35", "nodeGroup": {"releaseVersion": "1.35.3-20261340"}},
            "clusters[0].nodeGroup.releaseVersion",
        ),
        (
            {"kubernetesVersion": "1.35", "nodeGroup": {"releaseVersion": "1.35.3-20260612\n"}},
            "clusters[0].nodeGroup.releaseVersion",
        ),
        (
            {"kubernetesVersion": "1.35", "nodeGroup": {"releaseVersion": "1.35.3-" + "2" * 10**4}},
            "clusters[0].nodeGroup.releaseVersion",
        ),
        ({"kubernetesVersion": "1.35", "nodeGroup": {"releaseVersion": 1.35}}, "clusters[0].nodeGroup.releaseVersion"),
        (
            {"kubernetesVersion": "1.35", "nodeGroup": {"releaseVersion": ["1.35.3-20260612"]}},
            "clusters[0].nodeGroup.releaseVersion",
        ),
    ],
)
def test_bad_release_versions_are_refused_with_their_key(cluster, key):
    assert key in problems_of(cluster)


@pytest.mark.parametrize(
    ("types", "key", "says"),
    [
        (["m6x.large"], "clusters[0].nodeGroups[0].instanceTypes[0]", "did you mean"),
        (["m6i.large", "m6i.7xlarge"], "clusters[0].nodeGroups[0].instanceTypes[1]", "comes in"),
        (["mac2.metal"], "clusters[0].nodeGroups[0].instanceTypes[0]", "macOS"),
        (["g7.2xlarge"], "clusters[0].nodeGroups[0].instanceTypes[0]", "no EKS AMI type"),
        (["g3.4xlarge"], "clusters[0].nodeGroups[0].instanceTypes[0]", "no EKS AMI type"),
    ],
)
def test_instance_types_ec2_does_not_sell_or_eks_cannot_run_are_refused(types, key, says):
    assert says in problems_of({"nodeGroups": [{"name": "g0", "instanceTypes": types}]})[key]


def test_every_unknown_instance_type_is_named_in_one_run():
    problems = problems_of({"nodeGroup": {"instanceTypes": ["zz9.large", "m6i.large", "c7g.9xlarge"]}})
    assert {"clusters[0].nodeGroup.instanceTypes[0]", "clusters[0].nodeGroup.instanceTypes[2]"} <= set(problems)


@pytest.mark.parametrize(
    ("types", "ami"),
    [
        (["p6-b200.48xlarge"], "AL2023_x86_64_NVIDIA"),
        (["g7e.2xlarge"], "AL2023_x86_64_NVIDIA"),
        (["p6e-gb200.36xlarge"], "AL2023_ARM_64_NVIDIA"),
    ],
)
def test_the_newest_gpu_families_get_their_drivers(types, ami):
    [cluster] = groups_of({"instanceTypes": types})
    assert cluster.node_group.ami_type == ami


def test_every_accelerated_family_ec2_sells_has_an_ami_type_or_a_refusal():
    # GPUs (g, p), Inferentia, Trainium, Gaudi (dl), FPGAs (f), video (vt): a family pulumi-aws adds
    # must be classified from EKS's table of accelerated AMIs, or it would run without drivers.
    prefixes = ("g", "p", "inf", "trn", "dl", "f", "vt", "cg")
    accelerated = {f for f in EC2_FAMILIES if f.startswith(prefixes) and not f.startswith("gr") or f.startswith("gr6")}
    assert len(accelerated) > 30
    unclassified = accelerated - NVIDIA_FAMILIES - NEURON_FAMILIES - UNSUPPORTED_ACCELERATORS
    assert not unclassified, f"classify {sorted(unclassified)} in components/config/node_ami.py"


def test_a_pinned_release_older_than_the_recorded_one_is_refused():
    config = first_with(kubernetesVersion="1.35", nodeGroup={**OLD, "releaseVersion": "1.35.3-20260612"})
    last = recorded(ok(first_with(kubernetesVersion="1.35", nodeGroup={**OLD})))
    last["clusters"]["c0"]["nodeGroupReleaseVersions"] = {"default": "1.35.3-20260710"}
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec(config, default_region="us-east-1", stack="dev", last=last_deployment_from_outputs(last))
    assert "cannot roll" in dict(caught.value.problems)["clusters[0].nodeGroup.releaseVersion"]
    # The same or a newer one is fine.
    last["clusters"]["c0"]["nodeGroupReleaseVersions"] = {"default": "1.35.3-20260612"}
    assert parse_mesh_spec(config, default_region="us-east-1", stack="dev", last=last_deployment_from_outputs(last))
