"""Named node groups (`nodeGroups`): `nodeGroup` is the one-group shorthand with the same resource,
and a change EKS can only make by replacing a group is done as a new group beside the old one."""

from __future__ import annotations

import pytest

from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from tests.harness import Run, cached_run
from tests.helpers import mesh_config
from tests.impact import UNCHANGED, change_impact

GROUP = "eks:index:ManagedNodeGroup"
OLD = {"instanceTypes": ["m6i.large"], "desiredSize": 2, "minSize": 2, "maxSize": 4}
NEW = {"instanceTypes": ["m7i.large"], "desiredSize": 2, "minSize": 2, "maxSize": 4}


def ok(config: dict) -> Run:
    run = cached_run(config)
    assert run.error is None, run.error
    return run


def first_with(**fields) -> dict:
    config = mesh_config(2)
    config["clusters"][0] = {**config["clusters"][0], **fields}
    return config


def changes(before: Run, after: Run) -> dict:
    return {k: what for k, what in change_impact(before, after).items() if what != UNCHANGED}


def test_the_shorthand_and_a_list_of_one_default_group_are_the_same_resources():
    shorthand = ok(first_with(nodeGroup=OLD))
    listed = ok(first_with(nodeGroups=[{"name": "default", **OLD}]))
    assert changes(shorthand, listed) == {}
    assert [g.name for g in listed.of_type(GROUP)] == ["c0-nodes", "c1-nodes"]


def test_an_instance_type_change_is_a_new_group_beside_the_old_one_then_its_removal():
    before = ok(first_with(nodeGroup=OLD))
    # Step 1: the new group beside the old one: created, nothing else touched.
    beside = ok(first_with(nodeGroups=[{"name": "default", **OLD}, {"name": "m7i", **NEW}]))
    assert changes(before, beside) == {(GROUP, "c0-nodes-m7i"): "created"}
    assert beside.one(GROUP, "c0-nodes-m7i").inputs["instanceTypes"] == ["m7i.large"]
    # Nothing in the cluster may outlive a group on destroy: the Kubernetes provider waits for both.
    provider = beside.one("pulumi:providers:kubernetes", "c0-k8s")
    assert all(beside.depends_on(provider, g) for g in beside.of_type(GROUP) if g.name.startswith("c0-"))
    # Step 2 (after draining it): the old group removed, nothing replaced.
    after = ok(first_with(nodeGroups=[{"name": "m7i", **NEW}]))
    assert changes(beside, after) == {(GROUP, "c0-nodes"): "deleted"}
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
    ],
)
def test_bad_node_groups_are_refused_with_their_key(cluster, key):
    assert key in problems_of(cluster)


def test_disk_size_reaches_its_group_and_replaces_it_on_a_deployed_one():
    run = ok(first_with(nodeGroups=[{"name": "default", **OLD}, {"name": "big", **NEW, "diskSize": 100}]))
    assert run.one(GROUP, "c0-nodes-big").inputs["diskSize"] == 100
    assert "diskSize" not in run.one(GROUP, "c0-nodes").inputs
    assert changes(ok(first_with(nodeGroup=OLD)), ok(first_with(nodeGroup={**OLD, "diskSize": 100}))) == {
        (GROUP, "c0-nodes"): "replaced"
    }
