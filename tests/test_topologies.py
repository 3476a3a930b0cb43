"""The four Istio multi-cluster models (and a mixed mesh) from one config, under mocks."""

from __future__ import annotations

import ipaddress
import json

import pytest

from components.config.validate import ConfigError
from tests.harness import Run, cached_run, resolve, run_program
from tests.helpers import OPERATOR_CIDR, without_ha
from tests.impact import change_impact

RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
CR = "kubernetes:networking.istio.io/v1:{}"


def mesh(*clusters: dict) -> Run:
    run = cached_run({"clusters": list(clusters), "apiAccessCidrs": [OPERATOR_CIDR]})
    assert run.error is None, run.error
    return run


def values(run: Run, cluster: str, role: str) -> dict:
    return run.one(RELEASE, f"{cluster}-istio-{role}").inputs.get("values", {})


def has(run: Run, type_: str, name: str) -> bool:
    return any(r.type == type_ and r.name == name for r in run.resources)


def secret_pairs(run: Run) -> set[tuple[str, str]]:
    pairs = set()
    for s in run.of_type(SECRET):
        meta = s.inputs["metadata"]
        if meta["name"].startswith("istio-remote-secret-"):
            owner = run._by_urn[s.provider_urn].name.removesuffix("-k8s")
            pairs.add((owner, meta["annotations"]["networking.istio.io/cluster"]))
    return pairs


def peerings(run: Run) -> list:
    return run.of_type("istio-eks-mesh:peering:VpcPeering")


PRIMARY_REMOTE_NETWORKS = (
    {"name": "p", "region": "us-east-1", "network": "n1"},
    {"name": "r", "region": "us-west-2", "network": "n2", "role": "remote", "primary": "p"},
)
PRIMARY_REMOTE_ONE_NETWORK = (
    {"name": "p", "region": "us-east-1", "network": "n1"},
    {"name": "r", "region": "us-east-1", "network": "n1", "role": "remote", "primary": "p"},
)
MULTI_PRIMARY_ONE_NETWORK = (
    {"name": "a", "region": "us-east-1", "network": "n1"},
    {"name": "b", "region": "us-west-2", "network": "n1"},
)
MIXED = (
    {"name": "p1", "region": "us-east-1", "network": "n1"},
    {"name": "r1", "region": "us-east-1", "network": "n1", "role": "remote", "primary": "p1"},
    {"name": "p2", "region": "us-west-2", "network": "n2"},
)


def test_the_default_model_is_unchanged():
    run = mesh({"name": "a", "region": "us-east-1"}, {"name": "b", "region": "us-west-2"})
    assert peerings(run) == []
    for c in ("a", "b"):
        assert "env" not in values(run, c, "istiod") and "profile" not in values(run, c, "istiod")
        annotations = values(run, c, "eastwest")["service"]["annotations"]
        assert not any("eip-allocations" in k or "subnets" in k for k in annotations)
        assert has(run, CR.format("Gateway"), f"{c}-istio-cross-network-gateway")
        assert not has(run, CR.format("Gateway"), f"{c}-istio-istiod-gateway")
        assert "annotations" not in run.one("kubernetes:core/v1:Namespace", f"{c}-istio-namespace").inputs["metadata"]
    assert not [e for e in run.of_type("aws:ec2/eip:Eip") if "-eastwest-" in e.name]
    assert secret_pairs(run) == {("a", "b"), ("b", "a")}


def remote_values_served_by(run: Run, remote: str, primary: str, network: str) -> None:
    """A remote's istiod: a local injector and validator; xDS from the primary by the NLB's name."""
    clusters, _ = resolve(run.exports["clusters"])
    # HA values are tested in test_revisions.
    remote_istiod = without_ha(values(run, remote, "istiod"))
    address = remote_istiod["global"].pop("remotePilotAddress")
    # The local injector's proxy defaults (trafficPolicy.dnsProxy; tests/test_traffic.py).
    assert remote_istiod.pop("meshConfig") == {"defaultConfig": {"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}}
    assert address == clusters[primary]["eastWestAddress"]
    # A DNS name: the chart renders `istiod-remote` as an ExternalName to the NLB, whose nodes in
    # every zone answer, rather than one Elastic IP in one zone.
    with pytest.raises(ValueError):
        ipaddress.ip_address(address)
    assert remote_istiod == {
        "profile": "remote",
        # The mesh config carries discoveryAddress istiod-remote.istio-system.svc:15012.
        "configMap": True,
        "global": {
            "meshID": "mesh1",
            "multiCluster": {"clusterName": remote},
            "network": network,
            # No `configCluster`: with the local injector the chart renders the same without it.
            "omitSidecarInjectorConfigMap": False,
            # Its reader is bound to the program's narrower role (tests/test_remote_secrets.py).
            "enableReaderRBAC": False,
            "hub": "docker.io/istio",
        },
        "istiodRemote": {
            "enabledLocalInjectorIstiod": True,
            "injectionPath": f"/inject/cluster/{remote}/net/{network}",
        },
        "podAnnotations": {"istio-eks-mesh/ca-checksum": remote_istiod["podAnnotations"]["istio-eks-mesh/ca-checksum"]},
    }
    assert values(run, remote, "base") == {"profile": "remote", "global": {"hub": "docker.io/istio"}}
    ns = run.one("kubernetes:core/v1:Namespace", f"{remote}-istio-namespace").inputs["metadata"]
    assert ns["annotations"] == {"topology.istio.io/controlPlaneClusters": primary}
    # The local istiod signs workload and webhook certificates: it has its own intermediate.
    assert has(run, SECRET, f"{remote}-istio-cacerts")


def test_primary_remote_on_two_networks():
    run = mesh(*PRIMARY_REMOTE_NETWORKS)
    # No Elastic IPs: the primary's NLB keeps the subnets the controller picks, one per zone.
    assert not [e for e in run.of_type("aws:ec2/eip:Eip") if "-eastwest-" in e.name]
    annotations = values(run, "p", "eastwest")["service"]["annotations"]
    assert not any("eip-allocations" in k or "aws-load-balancer-subnets" in k for k in annotations)
    assert (
        annotations["service.beta.kubernetes.io/aws-load-balancer-attributes"]
        == "load_balancing.cross_zone.enabled=true"
    )
    clusters, _ = resolve(run.exports["clusters"])
    assert clusters["p"]["eastWestStaticIps"] == [] and clusters["r"]["role"] == "remote"

    # The primary serves remotes and exposes xDS (15012) only on its gateway.
    # Without EXTERNAL_ISTIOD: the remote's local istiod alone writes its webhooks and root ConfigMaps.
    assert "env" not in values(run, "p", "istiod")
    gateway = run.one(CR.format("Gateway"), "p-istio-istiod-gateway").inputs["spec"]
    # Only the primary's own gateway pods: its istiod configures the remote's gateway (network n2)
    # too, which must not pass 15012 to the remote's local istiod.
    assert gateway["selector"] == {"istio": "eastwestgateway", "topology.istio.io/network": "n1"}
    assert [(s["port"]["number"], s["tls"]["mode"]) for s in gateway["servers"]] == [(15012, "PASSTHROUGH")]
    routes = run.one(CR.format("VirtualService"), "p-istio-istiod-vs").inputs["spec"]["tls"]
    assert [(r["match"][0]["port"], r["route"][0]["destination"]["port"]["number"]) for r in routes] == [(15012, 15012)]
    assert routes[0]["route"][0]["destination"]["host"] == "istiod.istio-system.svc.cluster.local"

    remote_values_served_by(run, "r", "p", "n2")
    # Its own network, so its own east-west gateway, which takes its cross-network server from the
    # primary's Gateway (Istio reads config from the primary's API server only); no istiod to expose.
    assert has(run, RELEASE, "r-istio-eastwest") and has(run, CR.format("Gateway"), "p-istio-cross-network-gateway")
    assert not has(run, CR.format("Gateway"), "r-istio-cross-network-gateway")
    assert not has(run, CR.format("Gateway"), "r-istio-istiod-gateway")
    assert [p["port"] for p in values(run, "p", "eastwest")["service"]["ports"]] == [15443, 15012]
    assert [p["port"] for p in values(run, "r", "eastwest")["service"]["ports"]] == [15443]
    # The primary watches the remote; the remote holds nothing.
    assert secret_pairs(run) == {("p", "r")}
    assert peerings(run) == []


def test_a_primary_with_remotes_is_open_only_to_the_mesh():
    run = mesh(*PRIMARY_REMOTE_NETWORKS)
    nats = sorted(f"{e.outputs['publicIp']}/32" for e in run.of_type("aws:ec2/eip:Eip") if "-nat-" in e.name)
    for c in ("p", "r"):
        assert values(run, c, "eastwest")["service"]["loadBalancerSourceRanges"] == nats
    assert run.of_type("aws:ec2/securityGroup:SecurityGroup") == []
    assert not [
        r.name for r in run.resources if "0.0.0.0/0" in json.dumps(r.inputs) and r.type != "aws:ec2/route:Route"
    ]


def test_primary_remote_ordering():
    run = mesh(*PRIMARY_REMOTE_NETWORKS)
    primary_gateway = run.one(RELEASE, "p-istio-eastwest")
    exposure = [
        run.one(CR.format(k), f"p-istio-{n}")
        for k, n in (("Gateway", "istiod-gateway"), ("VirtualService", "istiod-vs"))
    ]
    served = run.one(SECRET, "p-remote-secret-r-secret")
    for role in ("base", "istiod", "eastwest"):
        r = run.one(RELEASE, f"r-istio-{role}")
        assert run.depends_on(r, primary_gateway)
        assert all(run.depends_on(r, x) for x in exposure)
    # The remote's gateway pods take xDS from the primary, which must know the remote first.
    assert run.depends_on(run.one(RELEASE, "r-istio-eastwest"), served)
    assert run.depends_on(served, run.one(SECRET, "r-reader-token-secret"))


def test_adding_the_first_remote_is_one_update_that_leaves_the_primarys_gateway_alone():
    two = {
        "clusters": [dict(PRIMARY_REMOTE_NETWORKS[0]), {"name": "q", "region": "us-west-2", "network": "n3"}],
        "apiAccessCidrs": [OPERATOR_CIDR],
    }
    with_remote = {**two, "clusters": [*two["clusters"], dict(PRIMARY_REMOTE_NETWORKS[1])]}
    before, after = cached_run(two), cached_run(with_remote)
    impact = change_impact(before, after)
    # The gateway admits the new cluster's NAT address and listens on 15012 too, and that is all:
    # the NLB keeps its annotations, so the controller adds a listener and security group rules
    # and recreates nothing.
    old, new = values(before, "p", "eastwest"), values(after, "p", "eastwest")
    assert old["service"]["annotations"] == new["service"]["annotations"]
    assert set(new["service"]["loadBalancerSourceRanges"]) > set(old["service"]["loadBalancerSourceRanges"])
    assert [p["port"] for p in old["service"]["ports"]] == [15443] and [p["port"] for p in new["service"]["ports"]] == [
        15443,
        15012,
    ]
    same = lambda v: {**v, "service": {**v["service"], "loadBalancerSourceRanges": [], "ports": []}}  # noqa: E731
    assert same(old) == same(new)
    # istiod grows by one watched cluster; it gets no EXTERNAL_ISTIOD (the remote's own istiod writes
    # the remote's webhooks and root ConfigMaps).
    assert impact[(RELEASE, "p-istio-istiod")] == "updated"
    assert "env" not in values(after, "p", "istiod")
    assert values(before, "p", "istiod")["resources"] != values(after, "p", "istiod")["resources"]
    assert {name for (_, name), what in impact.items() if what in ("replaced", "deleted")} == set()
    assert {"p-istio-istiod-gateway", "p-istio-istiod-vs", "r-istio-istiod"} <= {
        n for (_, n), what in impact.items() if what == "created"
    }


def test_samples_in_a_remote_wait_for_the_primary_to_serve_it():
    run = cached_run(
        {"clusters": list(PRIMARY_REMOTE_NETWORKS), "apiAccessCidrs": [OPERATOR_CIDR], "deploySamples": True}
    )
    assert run.error is None, run.error
    namespace = run.one("kubernetes:core/v1:Namespace", "r-samples-namespace")
    assert run.depends_on(namespace, run.one(RELEASE, "p-istio-istiod"))
    assert run.depends_on(namespace, run.one(SECRET, "p-remote-secret-r-secret"))
    clusters, _ = resolve(run.exports["clusters"])
    assert {n: (c["role"], c["sampleVersion"]) for n, c in clusters.items()} == {
        "p": ("primary", "v1"),
        "r": ("remote", "v2"),
    }
    # Destroy removes the remote's pods while the primary's istiod still knows the remote.
    order = run.destroy_order()
    for served_by in (run.one(RELEASE, "p-istio-istiod"), run.one(SECRET, "p-remote-secret-r-secret")):
        assert order.index(namespace.urn) < order.index(served_by.urn)


def test_primary_remote_on_one_network():
    run = mesh(*PRIMARY_REMOTE_ONE_NETWORK)
    remote_values_served_by(run, "r", "p", "n1")
    # The primary's gateway exposes istiod only: nothing crosses networks.
    assert has(run, CR.format("Gateway"), "p-istio-istiod-gateway")
    assert not has(run, CR.format("Gateway"), "p-istio-cross-network-gateway")
    assert not has(run, RELEASE, "r-istio-eastwest")
    assert secret_pairs(run) == {("p", "r")}
    assert len(peerings(run)) == 1


def test_multi_primary_on_one_network_peers_the_vpcs_across_regions():
    run = mesh(*MULTI_PRIMARY_ONE_NETWORK)
    for c in ("a", "b"):
        assert values(run, c, "istiod")["global"] == {
            "meshID": "mesh1",
            "multiCluster": {"clusterName": c},
            "network": "n1",
            "hub": "docker.io/istio",
        }
        assert "env" not in values(run, c, "istiod") and values(run, c, "base") == {
            "global": {"hub": "docker.io/istio"}
        }
    clusters, _ = resolve(run.exports["clusters"])
    assert clusters["a"]["eastWestAddress"] is None and clusters["b"]["eastWestAddress"] is None
    assert not has(run, RELEASE, "a-istio-eastwest") and not has(run, RELEASE, "b-istio-eastwest")
    assert secret_pairs(run) == {("a", "b"), ("b", "a")}
    providers = {p.urn: p.inputs["region"] for p in run.of_type("pulumi:providers:aws")}
    connection = run.one("aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "a-b-peering-connection")
    vpc_a, vpc_b = (run.one("aws:ec2/vpc:Vpc", f"{c}-network-vpc") for c in ("a", "b"))
    assert (connection.inputs["vpcId"], connection.inputs["peerVpcId"]) == (vpc_a.id, vpc_b.id)
    assert connection.inputs["peerRegion"] == "us-west-2" and not connection.inputs["autoAccept"]
    assert providers[connection.provider_urn] == "us-east-1"
    accepter = run.one("aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter", "a-b-peering-accepter")
    assert accepter.inputs["autoAccept"] and providers[accepter.provider_urn] == "us-west-2"
    # Routes both ways, in every route table of each VPC, through the peering.
    for side, other, region in (("a", vpc_b, "us-east-1"), ("b", vpc_a, "us-west-2")):
        tables = {t.id for t in run.of_type("aws:ec2/routeTable:RouteTable") if t.name.startswith(f"{side}-network-")}
        routes = [r for r in run.of_type("aws:ec2/route:Route") if r.name.startswith(f"a-b-peering-{side}-route-")]
        assert {r.inputs["routeTableId"] for r in routes} == tables
        for r in routes:
            assert r.inputs["destinationCidrBlock"] == other.inputs["cidrBlock"]
            assert r.inputs["vpcPeeringConnectionId"] == connection.id
            assert providers[r.provider_urn] == region
            assert run.depends_on(r, accepter)
        rule = run.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", f"a-b-peering-{side}-ingress")
        eks = run.one("eks:index:Cluster", f"{side}-eks")
        inner = run._monitor_state(eks)
        assert rule.inputs["securityGroupId"] == inner["vpcConfig"]["clusterSecurityGroupId"]
        assert rule.inputs["cidrIpv4"] == other.inputs["cidrBlock"] and rule.inputs["ipProtocol"] == "-1"


def test_same_region_peering_is_accepted_at_once():
    run = mesh(*PRIMARY_REMOTE_ONE_NETWORK)
    connection = run.one("aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "p-r-peering-connection")
    assert connection.inputs["autoAccept"] and "peerRegion" not in connection.inputs
    assert run.of_type("aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter") == []


def test_mixed_mesh():
    run = mesh(*MIXED)
    assert [(p.name) for p in peerings(run)] == ["p1-r1-peering"]
    assert has(run, CR.format("Gateway"), "p1-istio-istiod-gateway") and has(
        run, CR.format("Gateway"), "p1-istio-cross-network-gateway"
    )
    assert has(run, CR.format("Gateway"), "p2-istio-cross-network-gateway") and not has(
        run, CR.format("Gateway"), "p2-istio-istiod-gateway"
    )
    assert not has(run, RELEASE, "r1-istio-eastwest")
    assert "env" not in values(run, "p2", "istiod")
    remote_values_served_by(run, "r1", "p1", "n1")
    # Primaries watch every other cluster, the other primary's remote included; remotes nothing.
    assert secret_pairs(run) == {("p1", "r1"), ("p1", "p2"), ("p2", "p1"), ("p2", "r1")}


def test_bad_topology_registers_nothing():
    run = run_program(
        {"clusters": [{"name": "a", "role": "remote", "primary": "b"}, {"name": "b", "role": "remote", "primary": "a"}]}
    )
    assert isinstance(run.error, ConfigError) and run.resources == []
    assert "at least one must be a primary" in str(run.error)


def test_static_addresses_without_a_gateway_are_refused():
    run = run_program(
        {"clusters": [{"name": "a", "network": "n"}, {"name": "b", "network": "n", "eastWestStaticIps": True}]}
    )
    assert isinstance(run.error, ConfigError) and run.resources == []
    assert "clusters[1].eastWestStaticIps" in dict(run.error.problems)


def test_elastic_ips_past_the_quota_stop_the_run_before_anything_is_created():
    clusters = [
        {"name": "p", "region": "us-east-1", "natGateways": "perAz", "eastWestStaticIps": True},
        {"name": "r", "region": "us-west-2", "role": "remote", "primary": "p"},
    ]
    run = cached_run({"clusters": clusters, "apiAccessCidrs": [OPERATOR_CIDR]})
    assert isinstance(run.error, ConfigError) and run.resources == []
    assert "needs 6 in us-east-1" in dict(run.error.problems)["serviceQuotas.elasticIpsPerRegion"]


def test_a_primary_with_remotes_is_told_its_gateway_no_longer_has_elastic_ips_by_default():
    run = mesh(*PRIMARY_REMOTE_NETWORKS)
    assert [w for w in run.warnings if "clusters[0].eastWestStaticIps is unset" in w]
    kept = mesh({**PRIMARY_REMOTE_NETWORKS[0], "eastWestStaticIps": True}, PRIMARY_REMOTE_NETWORKS[1])
    assert not [w for w in kept.warnings if "eastWestStaticIps" in w]
    # Kept addresses stay an allow-list option: one Elastic IP per public subnet, pinned.
    eips = sorted(
        (e for e in kept.of_type("aws:ec2/eip:Eip") if e.name.startswith("p-network-eastwest-")), key=lambda e: e.name
    )
    annotations = values(kept, "p", "eastwest")["service"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-eip-allocations"] == ",".join(
        e.outputs["allocationId"] for e in eips
    )
    assert len(eips) == 3


def test_istiod_services_are_cluster_local_on_every_primary():
    # The gateway's routes to istiod must never reach the same-named local injectors of remotes;
    # other Services of istio-system (an ingress gateway, a user's) stay reachable mesh-wide.
    canary = {
        "istioVersion": "1.30.5",
        "istioRevisions": ["1.30.5", "1.31.1"],
        "istioRevisionTags": {"default": "1.30.5"},
    }
    runs = [
        mesh(*PRIMARY_REMOTE_NETWORKS),
        mesh(*MIXED),
        cached_run({"clusters": list(PRIMARY_REMOTE_NETWORKS), "apiAccessCidrs": [OPERATOR_CIDR], **canary}),
    ]
    checked = 0
    for run in runs:
        assert run.error is None, run.error
        istiods = [r for r in run.of_type(RELEASE) if r.inputs["chart"] == "istiod"]
        for r in istiods:
            cluster = r.name.split("-istio-")[0]
            mesh_config = r.inputs["values"].get("meshConfig", {})
            if cluster.startswith("r"):
                assert "serviceSettings" not in mesh_config
                continue
            in_cluster = sorted(
                f"{o.inputs['name']}.istio-system.svc.cluster.local"
                for o in istiods
                if o.name.startswith(f"{cluster}-istio-")
            )
            assert mesh_config["serviceSettings"] == [{"settings": {"clusterLocal": True}, "hosts": in_cluster}], r.name
            checked += 1
    assert checked == 5  # p, p1, p2, and both revisions of p in the canary
