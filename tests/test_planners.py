"""The pure planners, without the engine: topology, subnet plan, values merge, xDS routes, tag
webhooks and the controller's policy. Each test states an invariant the wiring relies on."""

from __future__ import annotations

import ipaddress
import json
import re

import pytest

from components.aws.load_balancer import controller_policy
from components.config.parse import parse_mesh_spec
from components.istio.revisions import tag_webhooks, xds_routes
from components.model.revisions import IstioRevision, RevisionPlan
from components.plan.istio_values import merge_values
from components.plan.mesh_plan import AccessPlan, EndpointSources, plan_access
from components.plan.ranges import subnet_cidrs
from components.plan.topology import plan_topology


def clusters(*entries: dict):
    spec = parse_mesh_spec({"clusters": list(entries)}, default_region="us-east-1", stack="dev")
    return spec.clusters


def test_topology_gives_gateways_only_where_traffic_crosses_networks_or_istiod_is_exposed():
    # Two networks: each primary has a gateway for the other; the remote on its primary's network has none.
    plan = plan_topology(
        clusters(
            {"name": "p1", "network": "a"},
            {"name": "r1", "network": "a", "role": "remote", "primary": "p1"},
            {"name": "p2", "network": "b"},
        )
    )
    assert {n for n, t in plan.items() if t.east_west_gateway} == {"p1", "p2"}
    assert plan["p1"].exposes_istiod and not plan["p2"].exposes_istiod
    assert plan["r1"].control_plane == "p1" and plan["r1"].discovers == ()
    # Every primary discovers every other cluster; the peers are exactly the same-network clusters.
    assert (
        set(plan["p2"].discovers) == {"p1", "r1"} and plan["p1"].peered_with == ("r1",) and plan["p2"].peered_with == ()
    )
    # One network, no remotes: nothing crosses networks, so no gateway at all.
    one = plan_topology(clusters({"name": "a", "network": "n"}, {"name": "b", "network": "n", "region": "us-west-2"}))
    assert not any(t.east_west_gateway or t.cross_network for t in one.values())


@pytest.mark.parametrize(
    "entries",
    [
        # Remotes listed before their primaries, on the primary's network and on their own.
        (
            {"name": "r1", "role": "remote", "primary": "p1"},
            {"name": "p1"},
            {"name": "r2", "role": "remote", "primary": "p2", "network": "x"},
            {"name": "p2", "network": "y"},
        ),
        ({"name": "a"}, {"name": "b", "region": "us-west-2", "network": "b"}, {"name": "c", "network": "c"}),
    ],
    ids=["primary-remote", "multi-primary"],
)
def test_build_steps_make_each_remote_secret_once_when_both_clusters_exist(entries):
    plan = plan_topology(clusters(*entries))
    built: list[str] = []
    made: list[tuple[str, str]] = []
    for step in plan.build_steps:
        topology = plan[step.cluster]
        # A remote's Istio is configured with its primary's gateway: the primary comes first.
        assert topology.control_plane in built + [step.cluster]
        built.append(step.cluster)
        assert all(local in built and peer in built for local, peer in step.remote_secrets)
        made += step.remote_secrets
        if topology.is_remote and topology.east_west_gateway:
            # Its gateway, made at this step, waits for its primary's secret for it.
            assert (topology.control_plane, step.cluster) in made
    assert sorted(built) == sorted(e["name"] for e in entries)
    assert sorted(made) == sorted(plan.discovery) and len(made) == len(set(made)) > 0


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.20.0.0/18", "192.168.16.0/20"])
@pytest.mark.parametrize("zones", [2, 3, 6])
def test_subnets_fit_the_vpc_and_never_overlap(cidr, zones):
    vpc = ipaddress.IPv4Network(cidr)
    public, private = subnet_cidrs(vpc, zones)
    assert len(public) == len(private) == zones
    nets = [ipaddress.IPv4Network(n) for n in public + private]
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    # Pods take their IPs from the private subnets: each is far larger than a public one.
    assert min(ipaddress.IPv4Network(p).num_addresses for p in private) >= 8 * max(
        ipaddress.IPv4Network(p).num_addresses for p in public
    )


def test_user_values_merge_deep_and_never_alias_the_users_objects():
    users = {"global": {"logAsJson": True}, "pilot": {"resources": {"requests": {"cpu": "1"}}}}
    merged = merge_values({"global": {"meshID": "m", "network": "n"}, "autoscaleMin": 2}, users)
    assert merged == {
        "global": {"meshID": "m", "network": "n", "logAsJson": True},
        "autoscaleMin": 2,
        "pilot": {"resources": {"requests": {"cpu": "1"}}},
    }
    merged["pilot"]["resources"]["requests"]["cpu"] = "2"
    assert users["pilot"]["resources"]["requests"]["cpu"] == "1"
    # A non-mapping replaces, as Helm's own merge does.
    assert merge_values({"env": {"A": "1"}}, {"env": None}) == {"env": None}


def test_xds_routes_send_each_revisions_remotes_to_that_revision_and_the_rest_to_one_fallback():
    plan = RevisionPlan(
        revisions=(IstioRevision("1.30.5", ""), IstioRevision("1.31.1", "1-31-1")), tags={"default": "1.31.1"}
    )
    routes = xds_routes(plan)
    by_sni = {r["match"][0]["sniHosts"][0]: r["route"][0]["destination"]["host"] for r in routes}
    assert by_sni == {
        "istiod-1-31-1-remote.istio-system.svc": "istiod-1-31-1.istio-system.svc.cluster.local",
        # The unrevisioned release's remotes dial `istiod-remote`: the catch-all goes to it, even
        # while `default` points at the new revision.
        "*": "istiod.istio-system.svc.cluster.local",
    }
    assert routes[-1]["match"][0]["sniHosts"] == ["*"], "the catch-all comes last"
    assert all(r["match"][0]["port"] == 15012 for r in routes)


def test_tag_webhooks_partition_pods_so_no_pod_meets_two_of_one_tag():
    revision = IstioRevision("1.31.1", "1-31-1")
    default = tag_webhooks("default", revision, "/inject", "QlVORExF")
    canary = tag_webhooks("canary", revision, "/inject", "QlVORExF")
    assert {w["name"] for w in default} == {
        "rev.namespace.sidecar-injector.istio.io",
        "rev.object.sidecar-injector.istio.io",
        "namespace.sidecar-injector.istio.io",
        "object.sidecar-injector.istio.io",
    }
    assert len(canary) == 2, "only `default` serves istio-injection=enabled"
    for hook in [*default, *canary]:
        assert hook["clientConfig"]["service"] == {
            "name": "istiod-1-31-1",
            "namespace": "istio-system",
            "path": "/inject",
            "port": 443,
        }
        assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None"
        # `sidecar.istio.io/inject: "false"` always opts out.
        assert any(
            e["key"] == "sidecar.istio.io/inject" and e["operator"] in ("NotIn", "In")
            for e in hook["objectSelector"]["matchExpressions"]
        )


# Mutations the policy cannot scope by the cluster's tag, each for a stated reason: the ELB
# service-linked role (scoped to that service); CreateSecurityGroup (as in the controller's published
# policy; its tags at creation are scoped); the tags of listeners and rules (unscoped in the published
# policy too, docs/install/iam_policy.json@v3.5.0). Listener edits, unscoped there, are scoped here.
UNSCOPED = {
    ("iam:CreateServiceLinkedRole",),
    ("ec2:CreateSecurityGroup",),
    ("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"),
}


def test_the_controller_policy_scopes_every_other_mutation_to_its_own_cluster():
    policy = json.loads(controller_policy("aws", "east-dev", "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1"))
    mutating = re.compile(r":(Create|Delete|Modify|Add|Remove|Set|Register|Deregister|Authorize|Revoke)")
    unscoped = set()
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(a.endswith(":*") for a in actions)
        if statement["Effect"] == "Allow" and any(mutating.search(a) for a in actions):
            text = json.dumps({k: v for k, v in statement.items() if k != "Action"})
            if "east-dev" not in text and "vpc/vpc-1" not in text:
                unscoped.add(tuple(actions))
    assert unscoped == UNSCOPED
    assert "west-dev" not in json.dumps(policy)


# Property tests: whatever the clusters and their order, and whatever is added or removed later.
from hypothesis import HealthCheck, given, settings  # noqa: E402 - kept beside the tests that use it
from hypothesis import strategies as st  # noqa: E402

from components.model.deployed import LastDeployment  # noqa: E402

NAMES = [f"c{i}" for i in range(10)]
# No example database: nothing is written into the checkout.
PROPERTY = settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _entries(names: list[str], networks: dict[str, str]) -> list[dict]:
    # Two regions, so AWS's default quotas (5 VPCs a region) hold for up to 10 clusters.
    return [{"name": n, "region": ("us-east-1", "us-west-2")[int(n[1:]) % 2], "network": networks[n]} for n in names]


def _spec(entries: list[dict], last: LastDeployment = LastDeployment()):
    return parse_mesh_spec({"clusters": entries}, default_region="us-east-1", stack="dev", last=last)


@st.composite
def deployments(draw):
    """A first deployment, and a later config: some clusters kept (in any order), some removed, some added."""
    first = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    networks = {n: draw(st.sampled_from(["n1", "n2", f"own-{n}"])) for n in NAMES}
    kept = draw(st.lists(st.sampled_from(first), min_size=1, max_size=len(first), unique=True))
    added = draw(st.lists(st.sampled_from([n for n in NAMES if n not in first]), max_size=3, unique=True))
    later = draw(st.permutations(kept + added))
    return first, later, networks


@PROPERTY
@given(deployments())
def test_deployed_ranges_never_move_and_no_two_ranges_overlap(case):
    first, later, networks = case
    deployed = _spec(_entries(first, networks))
    recorded = {c.name: str(c.vpc_cidr) for c in deployed.clusters}
    last = LastDeployment(
        clusters=frozenset(first), regions={c.name: c.region for c in deployed.clusters}, vpc_cidrs=recorded
    )
    spec = _spec(_entries(later, networks), last)
    ranges = {c.name: c.vpc_cidr for c in spec.clusters}
    assert all(str(ranges[n]) == recorded[n] for n in later if n in recorded)
    values = list(ranges.values())
    assert not any(a.overlaps(b) for i, a in enumerate(values) for b in values[i + 1 :])


@PROPERTY
@given(deployments())
def test_pairs_follow_the_networks_not_the_order_and_deployed_pairs_keep_their_orientation(case):
    first, later, networks = case
    deployed = plan_topology(_spec(_entries(first, networks)).clusters)
    plan = plan_topology(_spec(_entries(later, networks)).clusters, deployed.peerings)
    # Exactly the pairs of clusters on one network, each once.
    expected = {frozenset((a, b)) for a in later for b in later if a < b and networks[a] == networks[b]}
    assert {frozenset(p) for p in plan.peerings} == expected and len(plan.peerings) == len(expected)
    # A pair deployed before keeps its requester, however the clusters are reordered.
    assert all(p in plan.peerings for p in deployed.peerings if set(p) <= set(later))
    # Every primary discovers every other cluster once; each remote secret comes at one build step.
    assert sorted(plan.discovery) == sorted((a, b) for a in later for b in later if a != b)
    made = [pair for step in plan.build_steps for pair in step.remote_secrets]
    assert sorted(made) == sorted(plan.discovery)


def test_access_is_planned_from_the_keys_that_open_endpoints():
    def access(**keys):
        raw = {"clusters": [{"name": "a"}, {"name": "b", "region": "us-west-2"}], **keys}
        return plan_access(parse_mesh_spec(raw, default_region="us-east-1", stack="dev"))

    nat = EndpointSources((), nat_addresses=True)
    public = access(apiAccessCidrs=["203.0.113.0/24"])
    # The other istiods call each API server, and cross-network traffic arrives, from the VPCs' NAT addresses.
    assert public == AccessPlan(
        public_api=EndpointSources(("203.0.113.0/24",), nat_addresses=True),
        private_api=None,
        east_west=nat,
        internal_load_balancers=False,
    )
    # eastWestAllowedCidrs replaces the NAT addresses on the gateways, never adds to them.
    assert access(eastWestAllowedCidrs=["198.51.100.0/24"]).east_west == EndpointSources(("198.51.100.0/24",))
    private = access(
        connectivity="private", meshCidr="10.64.0.0/12", transitGateways={"us-east-1": "tgw-0123456789abcdef0"}
    )
    assert private == AccessPlan(
        public_api=None,
        private_api=("10.64.0.0/12",),
        east_west=EndpointSources(("10.64.0.0/12",)),
        internal_load_balancers=True,
    )
