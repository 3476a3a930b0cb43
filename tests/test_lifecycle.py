"""The life of a deployed stack: what `pulumi destroy` needs, what a preview of a change survives,
how replacements run, and what the providers check before any API call."""

from __future__ import annotations

import dataclasses
import ipaddress
import re

import pytest

from tests.harness import Registered, Run, cached_run, resolve, run_program
from tests.helpers import MIXED, OPERATOR_CIDR, PRIMARY_REMOTE, mesh_config, mocks_with
from tests.impact import change_impact, of_kind

RELEASE = "kubernetes:helm.sh/v3:Release"

MODELS = {
    "multi-primary-two-regions": mesh_config(2),
    "primary-remote": PRIMARY_REMOTE,
    "one-network": {
        "clusters": [
            {"name": "a", "region": "us-east-1", "network": "n1"},
            {"name": "b", "region": "us-west-2", "network": "n1"},
        ],
        "apiAccessCidrs": [OPERATOR_CIDR],
    },
    "mixed": MIXED,
}


def model(name: str) -> Run:
    run = cached_run(MODELS[name])
    assert run.error is None, run.error
    return run


def clusters_of(run: Run) -> list[str]:
    return [r.name for r in run.of_type("istio-eks-mesh:cluster:EksCluster")]


def in_cluster(run: Run, cluster: str) -> list[Registered]:
    """Every Kubernetes object of the cluster: whatever goes through its Kubernetes provider."""
    provider = run.one("pulumi:providers:kubernetes", f"{cluster}-k8s").urn
    return [r for r in run.resources if r.provider_urn == provider]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_everything_a_cluster_needs_to_clean_up_outlives_its_kubernetes_objects(name):
    run = model(name)
    for cluster in clusters_of(run):
        network = run.one("istio-eks-mesh:network:Vpc", f"{cluster}-network")
        # Subnets, route tables, associations, default routes, NAT, internet gateway, Elastic IPs.
        needed = [r for r in run.descendants(network) if r.custom]
        needed += [
            run.one("eks:index:Cluster", f"{cluster}-eks"),
            run.one("eks:index:ManagedNodeGroup", f"{cluster}-nodes"),
        ]
        assert {r.type for r in needed} >= {
            "aws:ec2/subnet:Subnet",
            "aws:ec2/routeTable:RouteTable",
            "aws:ec2/routeTableAssociation:RouteTableAssociation",
            "aws:ec2/route:Route",
            "aws:ec2/natGateway:NatGateway",
            "aws:ec2/internetGateway:InternetGateway",
        }
        objects = in_cluster(run, cluster)
        assert len(objects) >= 6, "the cluster's releases, namespace, secrets and CRs"
        for obj in objects:
            missing = [r.name for r in needed if not run.depends_on(obj, r)]
            assert not missing, f"{obj.name} does not wait for (and on destroy may outlive) {missing}"

        # What deletes the NLB (the controller) keeps its AWS permissions until the gateway is gone.
        controller = run.one("istio-eks-mesh:load_balancer:LoadBalancerController", f"{cluster}-lb-controller")
        for gateway in (r for r in run.of_type(RELEASE) if r.name == f"{cluster}-istio-eastwest"):
            for part in run.descendants(controller):
                assert run.depends_on(gateway, part), part.name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_only_reads_are_the_gateway_services_after_their_releases(name):
    # A read fails at preview when its object does not exist: each waits for the release that
    # makes the object, and takes the release's ID, so that a preview that creates it skips it.
    run = model(name)
    for read in (r for r in run.resources if r.read):
        assert read.type == "kubernetes:core/v1:Service" and read.id == "istio-system/istio-eastwestgateway", read.name
        [release] = [r for r in run.of_type(RELEASE) if r.urn in read.dependencies]
        assert release.inputs["name"] == "istio-eastwestgateway" and release.parent == read.parent


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_release_with_a_fixed_name_replaces_delete_first(name):
    releases = model(name).of_type(RELEASE)
    assert releases
    for r in releases:
        assert r.inputs["name"] and r.delete_before_replace, r.name


def test_the_gateway_address_is_the_nlb_name_in_its_services_status():
    run = model("multi-primary-two-regions")
    clusters, _ = resolve(run.exports["clusters"])
    for cluster, region in (("c0", "us-east-1"), ("c1", "us-west-2")):
        [service] = [r for r in run.resources if r.read and r.name == f"{cluster}-istio-eastwest-service"]
        [ingress] = service.outputs["status"]["loadBalancer"]["ingress"]
        assert clusters[cluster]["eastWestAddress"] == ingress["hostname"]
        assert ingress["hostname"].endswith(f".elb.{region}.amazonaws.com")
    # A remote reaches its primary's istiod by that name.
    run = cached_run(PRIMARY_REMOTE)
    clusters, _ = resolve(run.exports["clusters"])
    [istiod] = [r for r in run.of_type(RELEASE) if r.name == "r-istio-istiod"]
    assert istiod.inputs["values"]["global"]["remotePilotAddress"] == clusters["p"]["eastWestAddress"]


def test_a_gateway_without_an_nlb_stops_an_update_with_one_line_and_not_a_preview():
    # The controller made no NLB for p's gateway, and its first install timed out waiting for it:
    # the stack holds the release, and the next preview must not fail (the update retries the
    # release). An update whose release still finds no NLB stops with the cause and where to look.
    preview = run_program(PRIMARY_REMOTE, mock_factory=mocks_with(unaddressed=frozenset({"p"})), preview_creating=())
    assert preview.error is None, preview.error
    update = run_program(PRIMARY_REMOTE, mock_factory=mocks_with(unaddressed=frozenset({"p"})))
    message = str(update.error)
    assert "cluster p:" in message and "istio-system/istio-eastwestgateway has no load balancer address" in message
    assert "kubectl -n istio-system describe service istio-eastwestgateway" in message and "\n" not in message
    assert "cluster r" not in message


@pytest.mark.parametrize(
    ("deployed", "adds_gateway_to"),
    [
        # Two clusters on one network split into two networks: each gets a gateway.
        ({"clusters": [{"name": "a", "network": "n1"}, {"name": "b", "network": "n2", "region": "us-west-2"}]}, "b"),
        # A primary gets its first remote (one network): it exposes istiod through a new gateway.
        (
            {
                "clusters": [
                    {"name": "a", "network": "n1"},
                    {"name": "b", "network": "n1"},
                    {"name": "r", "network": "n1", "role": "remote", "primary": "a"},
                ]
            },
            "a",
        ),
    ],
)
def test_a_preview_that_adds_a_gateway_to_a_deployed_cluster_succeeds(deployed, adds_gateway_to):
    config = {**deployed, "apiAccessCidrs": [OPERATOR_CIDR]}
    new = {f"{adds_gateway_to}-istio-eastwest", f"{adds_gateway_to}-istio-cross-network-gateway"}
    run = run_program(config, preview_creating=new)
    assert run.error is None, run.error
    # The Service is read by the release's ID, so not while the gateway does not exist.
    [read] = [r for r in run.resources if r.read and r.name == f"{adds_gateway_to}-istio-eastwest-service"]
    assert read.outputs == {}


# --- what the providers check before any API call ----------------------------------------------

# EC2 allows only these characters in security group and rule descriptions, at most 255.
EC2_DESCRIPTION = re.compile(r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}")
EKS_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9\-_]{0,99}")
# Pulumi auto-names a resource `<name>-<7 random characters>`; IAM role names hold 64.
AUTONAME_SUFFIX = 8
# Ranges EKS refuses in publicAccessCidrs: RFC 1918, loopback, link-local, shared (CGNAT),
# "this network", multicast and reserved. Documentation ranges are ordinary addresses to it.
NOT_PUBLIC = [
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "0.0.0.0/8",
        "224.0.0.0/3",
    )
]


def _descriptions(r: Registered) -> list[str]:
    found = [r.inputs.get("description")] if "description" in r.inputs else []
    for rule in [*r.inputs.get("ingress", []), *r.inputs.get("egress", [])]:
        if "description" in rule:
            found.append(rule["description"])
    return found


def provider_violations(run: Run) -> list[str]:
    problems = []
    for r in run.resources:
        if r.type in (
            "aws:ec2/securityGroup:SecurityGroup",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        ):
            problems += [f"{r.name}: description {d!r}" for d in _descriptions(r) if not EC2_DESCRIPTION.fullmatch(d)]
        for key, value in (r.inputs.get("tags") or {}).items():
            if not 1 <= len(key) <= 128 or len(str(value)) > 256 or key.lower().startswith("aws:"):
                problems.append(f"{r.name}: tag {key}={value}")
        if (
            r.type == "aws:iam/role:Role"
            and len(r.inputs.get("name") or "") > 64
            or (r.type == "aws:iam/role:Role" and "name" not in r.inputs and len(r.name) + AUTONAME_SUFFIX > 64)
        ):
            problems.append(f"{r.name}: IAM role name too long")
        if r.type == "eks:index:Cluster":
            if not EKS_NAME.fullmatch(r.inputs["name"]):
                problems.append(f"{r.name}: EKS cluster name {r.inputs['name']!r}")
            cidrs = r.inputs["publicAccessCidrs"]
            if len(cidrs) > 40:
                problems.append(f"{r.name}: {len(cidrs)} publicAccessCidrs")
            for cidr in cidrs:
                network = ipaddress.ip_network(cidr)
                if network.prefixlen and any(network.overlaps(n) for n in NOT_PUBLIC):
                    problems.append(f"{r.name}: publicAccessCidrs has the non-public {cidr}")
    return problems


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_input_passes_the_providers_own_checks(name):
    assert provider_violations(model(name)) == []


def test_the_provider_check_catches_what_ec2_and_eks_refuse():
    run = model("one-network")
    rule = run.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "a-b-peering-a-ingress")
    broken = dataclasses.replace(rule, raw_inputs={**rule.raw_inputs, "description": "the peers' pods"})
    eks = run.one("eks:index:Cluster", "a-eks")
    private = dataclasses.replace(eks, raw_inputs={**eks.raw_inputs, "publicAccessCidrs": ["10.0.0.0/8"]})
    violations = provider_violations(Run(resources=[broken, private], exports={}, error=None, warnings=[]))
    assert len(violations) == 2


# --- what each change does to a deployed stack ------------------------------------------------

TWO = mesh_config(2)
INFRASTRUCTURE = ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "eks:index:Cluster", "eks:index:ManagedNodeGroup")
CHANGES = {
    # name: (deployed config, changed config, resources replaced besides none)
    "add a cluster": (TWO, mesh_config(3), set()),
    "remove a cluster": (mesh_config(3), TWO, set()),
    "add a remote": (
        TWO,
        {
            **TWO,
            "clusters": [*TWO["clusters"], {"name": "r", "region": "us-east-1", "role": "remote", "primary": "c0"}],
        },
        set(),
    ),
    "join one network": (TWO, {**TWO, "clusters": [{**c, "network": "shared"} for c in TWO["clusters"]]}, set()),
    "split a network": ({**TWO, "clusters": [{**c, "network": "shared"} for c in TWO["clusters"]]}, TWO, set()),
    "Istio patch upgrade": (TWO, {**TWO, "istioVersion": "1.30.4"}, set()),
    "pki edits": (
        TWO,
        {**TWO, "pki": {"organization": "Example Corp"}},
        {f"c{i}-ca-{r}" for i in range(2) for r in ("csr", "cert")},
    ),
    "samples on": (TWO, {**TWO, "deploySamples": True}, set()),
    "samples off": ({**TWO, "deploySamples": True}, TWO, set()),
    "east-west sources": (TWO, {**TWO, "eastWestAllowedCidrs": ["198.51.100.0/24"]}, set()),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_no_change_replaces_the_network_or_cluster_of_an_existing_cluster(change):
    before_config, after_config, replaced = CHANGES[change]
    before, after = cached_run(before_config), cached_run(after_config)
    assert before.error is None and after.error is None
    impact = change_impact(before, after)
    kept = {c.name for c in before.of_type("istio-eks-mesh:cluster:EksCluster")} & {
        c.name for c in after.of_type("istio-eks-mesh:cluster:EksCluster")
    }
    for (type_, name), what in impact.items():
        if type_ in INFRASTRUCTURE and name.split("-")[0] in kept:
            assert what in ("unchanged", "updated"), f"{change}: {name} is {what}"
    assert {name for (_, name), what in impact.items() if what == "replaced"} == replaced


def _with_first(config: dict, **fields) -> dict:
    return {**config, "clusters": [{**config["clusters"][0], **fields}, *config["clusters"][1:]]}


PINNED = _with_first(TWO, vpcCidr="10.10.0.0/16")


@pytest.mark.parametrize(
    "change, after",
    [
        # A new VPC, then an EKS update AWS refuses (a cluster cannot move to another VPC): both VPCs stay.
        ("vpcCidr", _with_first(PINNED, vpcCidr="10.11.0.0/16")),
        # The mock's default zones are a, b and d (use1-az3 is refused by EKS): d becomes e, so the
        # third subnets are replaced create-first with the same CIDRs, which EC2 refuses.
        ("availabilityZones", _with_first(PINNED, availabilityZones=["us-east-1a", "us-east-1b", "us-east-1e"])),
    ],
)
def test_network_changes_of_a_deployed_cluster_never_complete_and_protect_stops_them_at_preview(change, after):
    impact = change_impact(cached_run(PINNED), cached_run(after))
    refused = {name for (_, name), what in impact.items() if what == "refused"}
    if change == "vpcCidr":
        assert refused == {"c0-eks"} and ("aws:ec2/vpc:Vpc", "c0-network-vpc") in of_kind(impact, "replaced")
    else:
        # And EKS takes no subnet in a zone it was not created with (the config check refuses all
        # of this up front when the stack recorded the zones).
        assert refused == {"c0-network-public-2", "c0-network-private-2", "c0-eks"}
    # With protect, the preview stops before anything is created: every replacement is refused.
    protected = change_impact(cached_run({**PINNED, "protect": True}), cached_run({**after, "protect": True}))
    assert {name for (t, name), what in protected.items() if what == "replaced" and t in INFRASTRUCTURE} == set()
    assert {name for (_, name), what in protected.items() if what == "refused"} >= refused - {"c0-eks"}


def test_protect_covers_the_network_and_cluster_and_a_cluster_can_opt_out():
    run = cached_run(
        {**TWO, "protect": True, "clusters": [TWO["clusters"][0], {**TWO["clusters"][1], "protect": False}]}
    )
    assert run.error is None, run.error
    protected = {r.name for r in run.resources if r.protect}
    assert protected == {
        "c0-network-vpc",
        "c0-eks",
        "c0-nodes",
        *(f"c0-network-{k}-{i}" for k in ("public", "private") for i in range(3)),
    }
    assert not any(r.protect for r in cached_run(TWO).resources)
    for bad in ("yes", 1, [True]):
        assert "istio-eks-mesh:protect: must be true or false" in str(cached_run({**TWO, "protect": bad}).error)
        assert "clusters[0].protect: must be true or false" in str(cached_run(_with_first(TWO, protect=bad)).error)


def test_what_each_change_does():
    def summary(change: str) -> dict[str, set[str]]:
        before_config, after_config, _ = CHANGES[change]
        impact = change_impact(cached_run(before_config), cached_run(after_config))
        return {
            kind: {name for (_, name), what in impact.items() if what == kind}
            for kind in ("updated", "created", "deleted")
        }

    upgrade = summary("Istio patch upgrade")
    assert upgrade["updated"] == {f"c{i}-istio-{r}" for i in range(2) for r in ("base", "istiod", "eastwest")}
    assert upgrade["created"] == upgrade["deleted"] == set()
    sources = summary("east-west sources")
    assert (
        sources["updated"] == {"c0-istio-eastwest", "c1-istio-eastwest"} and not sources["created"] | sources["deleted"]
    )
    samples = summary("samples on")
    assert (
        samples["updated"] == set() and samples["deleted"] == set() and all("-samples" in n for n in samples["created"])
    )
    added = summary("add a cluster")
    # The existing endpoints admit the new NAT address; the new cluster and its pairs are created.
    assert {"c0-eks", "c1-eks"} <= added["updated"] and added["deleted"] == set()
    assert {"c0-remote-secret-c2-secret", "c2-remote-secret-c0-secret", "c2-eks", "c2-network-vpc"} <= added["created"]
    removed = summary("remove a cluster")
    assert {"c2-eks", "c2-network-vpc", "c0-remote-secret-c2-secret"} <= removed["deleted"]
    assert not any(n.startswith(("c0-network", "c1-network")) for n in removed["deleted"])
    joined = summary("join one network")
    # One network: the gateways go, the VPCs are peered.
    assert {"c0-istio-eastwest", "c1-istio-eastwest"} <= joined["deleted"] and "c0-c1-peering-connection" in joined[
        "created"
    ]
