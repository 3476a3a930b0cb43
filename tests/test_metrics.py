"""`metrics: amp`: the config keys, the collectors' scrape configuration, and what the program builds
(workspaces, collectors, their network access) per model, with the destroy order."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
import yaml

from check.cli import main
from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from components.plan.alert_rules import rules_document
from components.plan.scrape_config import scrape_configuration
from tests.harness import cached_run, resolve
from tests.helpers import PRIMARY_REMOTE, mesh_config
from tests.impact import change_impact
from tests.mocks import OPERATOR_TABLE

WEST_ARN = "arn:aws:aps:us-west-2:123456789012:workspace/ws-0123abcd-5678-ef90-ab12-cdef3456a789"
SCRAPER = "aws:amp/scraper:Scraper"
WORKSPACE = "aws:amp/workspace:Workspace"


def problems_of(raw: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_mesh_spec(raw, default_region="us-east-1", stack="dev")
    return caught.value.problems


@pytest.mark.parametrize(
    ("extra", "key", "says"),
    [
        ({"metrics": "AMP"}, "metrics", 'did you mean "amp"'),
        ({"metrics": True}, "metrics", "must be one of none, amp, got true/false true"),
        ({"metrics": {"mode": "amp"}}, "metrics", "must be one of none, amp"),
        ({"metrics": "amp", "metricsWorkspaces": ["x"]}, "metricsWorkspaces", "must be an object"),
        ({"metricsWorkspaces": {"us-west-2": WEST_ARN}}, "metricsWorkspaces", "metrics is unset"),
        ({"metrics": "none", "metricsWorkspaces": {"us-west-2": WEST_ARN}}, "metricsWorkspaces", 'metrics is "none"'),
        ({"metrics": "amp", "metricsWorkspaces": {"eu-west-1": WEST_ARN}}, "metricsWorkspaces.eu-west-1", "no cluster"),
        ({"metrics": "amp", "metricsWorkspaces": {"us-west-2": "ws-0123"}}, "metricsWorkspaces.us-west-2", "the ARN"),
        ({"metrics": "amp", "metricsWorkspaces": {"us-west-2": 7}}, "metricsWorkspaces.us-west-2", "got a number 7"),
        (
            {"metrics": "amp", "metricsWorkspaces": {"us-west-2": WEST_ARN + "x" * 64}},
            "metricsWorkspaces.us-west-2",
            "the ARN",
        ),
        (
            {"metrics": "amp", "metricsWorkspaces": {"us-east-1": WEST_ARN}},
            "metricsWorkspaces.us-east-1",
            'the workspace is in "us-west-2", not "us-east-1"',
        ),
        (
            {"metrics": "amp", "metricsWorkspaces": {"us-west-2": WEST_ARN.replace("aps", "s3", 1)}},
            "metricsWorkspaces.us-west-2",
            "the ARN",
        ),
    ],
)
def test_bad_metrics_config_gets_one_problem_naming_the_key(extra, key, says):
    problems = problems_of(mesh_config(2, **extra))
    assert len(problems) == 1, problems
    assert problems[0][0] == key and says in problems[0][1], problems


def test_metrics_default_to_none_and_a_named_workspace_is_kept_by_region():
    assert not parse_mesh_spec(mesh_config(2), default_region=None, stack="dev").metrics.enabled
    spec = parse_mesh_spec(
        mesh_config(2, metrics="amp", metricsWorkspaces={"us-west-2": WEST_ARN}), default_region=None, stack="dev"
    )
    assert spec.metrics.enabled and dict(spec.metrics.workspaces) == {"us-west-2": WEST_ARN}


def _kept(job: dict, name: str) -> bool:
    (rule,) = job["metric_relabel_configs"]
    return rule["action"] == "keep" and re.fullmatch(rule["regex"], name) is not None


def test_scrape_configuration_is_prometheus_yaml_with_the_mesh_jobs_and_labels():
    config = yaml.safe_load(scrape_configuration("east", "network1"))
    # AWS's collectors refuse intervals under 30 s; 60 s is the documented cost choice.
    assert config["global"] == {"scrape_interval": "60s"}
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert set(jobs) == {"istiod", "istio-proxies", "eastwest-gateway", "kubernetes-apiservers"}
    for job in jobs.values():
        static = {r["target_label"]: r.get("replacement") for r in job["relabel_configs"] if "source_labels" not in r}
        assert static == {"cluster": "east", "network": "network1"}, job["job_name"]
        assert all(sd == {"role": sd["role"]} for sd in job["kubernetes_sd_configs"])
        assert _kept(job, "up")
    ports = {
        name: next(r["replacement"] for r in j["relabel_configs"] if r.get("target_label") == "__address__")
        for name, j in jobs.items()
        if name != "kubernetes-apiservers"
    }
    assert ports == {"istiod": "$1:15014", "istio-proxies": "$1:15020", "eastwest-gateway": "$1:15020"}
    assert jobs["istiod"]["metrics_path"] == "/metrics"
    assert jobs["istio-proxies"]["metrics_path"] == jobs["eastwest-gateway"]["metrics_path"] == "/stats/prometheus"
    # The proxies' job leaves the gateways to their own job, which takes only them.
    proxies = [r for r in jobs["istio-proxies"]["relabel_configs"] if r.get("action") == "drop"]
    gateways = [r for r in jobs["eastwest-gateway"]["relabel_configs"] if r.get("action") == "keep"]
    assert {
        "source_labels": ["__meta_kubernetes_pod_label_istio"],
        "regex": "eastwestgateway",
        "action": "drop",
    } in proxies
    assert {
        "source_labels": ["__meta_kubernetes_pod_label_istio"],
        "regex": "eastwestgateway",
        "action": "keep",
    } in gateways
    api = jobs["kubernetes-apiservers"]
    assert api["scheme"] == "https"
    assert api["authorization"]["credentials_file"] == "/var/run/secrets/kubernetes.io/serviceaccount/token"
    # Only what the dashboards and alerts read: not Envoy's thousands of series.
    assert _kept(jobs["istio-proxies"], "istio_requests_total")
    assert not _kept(jobs["istio-proxies"], "envoy_cluster_upstream_rq_total")
    assert not _kept(jobs["istio-proxies"], "istio_requests_total_extra")
    assert _kept(jobs["istiod"], "pilot_total_xds_rejects") and _kept(
        jobs["istiod"], "remote_cluster_sync_timeouts_total"
    )
    assert not _kept(jobs["kubernetes-apiservers"], "apiserver_request_duration_seconds_bucket")


@pytest.fixture(scope="module")
def run():
    # Primary-remote across two regions: us-east-1 gets the program's workspace, us-west-2 the user's.
    return cached_run({**PRIMARY_REMOTE, "metrics": "amp", "metricsWorkspaces": {"us-west-2": WEST_ARN}})


def test_a_collector_per_cluster_into_its_regions_workspace_and_a_named_one_is_never_made(run):
    (workspace,) = run.of_type(WORKSPACE)
    assert workspace.name == "metrics-us-east-1-workspace" and workspace.inputs["alias"] == "mesh1-us-east-1"
    assert workspace.provider_urn == run.one("pulumi:providers:aws", "aws-us-east-1").urn
    created_arn = resolve(run.exports["metricsEndpoints"])[0]
    assert created_arn["us-west-2"] == (
        "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-0123abcd-5678-ef90-ab12-cdef3456a789/"
    )
    assert created_arn["us-east-1"].startswith("https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-")
    scrapers = {s.name: s for s in run.of_type(SCRAPER)}
    assert set(scrapers) == {"p-metrics-collector", "r-metrics-collector"}
    assert scrapers["r-metrics-collector"].inputs["destination"]["amp"]["workspaceArn"] == WEST_ARN
    assert (
        scrapers["p-metrics-collector"]
        .inputs["destination"]["amp"]["workspaceArn"]
        .startswith("arn:aws:aps:us-east-1:123456789012:workspace/ws-")
    )
    for cluster, scraper in (("p", scrapers["p-metrics-collector"]), ("r", scrapers["r-metrics-collector"])):
        eks = run.inner[f"{cluster}-eks-eksCluster"]
        source = scraper.inputs["source"]["eks"]
        assert source["clusterArn"] == eks["arn"]
        private = sorted(
            s.id for s in run.of_type("aws:ec2/subnet:Subnet") if s.name.startswith(f"{cluster}-network-private")
        )
        assert sorted(source["subnetIds"]) == private and len(private) >= 2
        config = yaml.safe_load(scraper.inputs["scrapeConfiguration"])
        labels = {
            r["target_label"]: r["replacement"]
            for r in config["scrape_configs"][0]["relabel_configs"]
            if "replacement" in r and "source_labels" not in r
        }
        assert labels == {"cluster": cluster, "network": {"p": "n1", "r": "n2"}[cluster]}


def test_a_collector_reaches_only_its_clusters_metrics_ports_and_goes_first_on_destroy(run):
    for cluster in ("p", "r"):
        scraper = run.one(SCRAPER, f"{cluster}-metrics-collector")
        metrics = next(r for r in run.resources if r.urn == scraper.parent)
        group = run.one("aws:ec2/securityGroup:SecurityGroup", f"{cluster}-metrics-collector-sg")
        assert scraper.inputs["source"]["eks"]["securityGroupIds"] == [group.id]
        assert group.inputs["vpcId"] == run.one("aws:ec2/vpc:Vpc", f"{cluster}-network-vpc").id
        cluster_group = run.inner[f"{cluster}-eks-eksCluster"]["vpcConfig"]["clusterSecurityGroupId"]
        egress = [
            r
            for r in run.children(metrics)
            if r.type.endswith("SecurityGroupEgressRule") and r.name.startswith(cluster)
        ]
        ingress = [
            r
            for r in run.children(metrics)
            if r.type.endswith("SecurityGroupIngressRule") and r.name.startswith(cluster)
        ]
        # Egress: only to the cluster security group (control plane and nodes); no address range at all.
        assert {
            (
                r.inputs["securityGroupId"],
                r.inputs["referencedSecurityGroupId"],
                r.inputs["fromPort"],
                r.inputs["toPort"],
            )
            for r in egress
        } == {(group.id, cluster_group, port, port) for port in (443, 15014, 15020)}
        assert {
            (r.inputs["securityGroupId"], r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"]) for r in ingress
        } == {(cluster_group, group.id, port) for port in (443, 15014, 15020)}
        assert not any("cidrIpv4" in r.inputs for r in egress + ingress)
        # Destroy: the collector goes before the rules, its group, the subnets and the cluster it reads.
        order = run.destroy_order()
        eks = run.one("eks:index:Cluster", f"{cluster}-eks")
        subnets = [s for s in run.of_type("aws:ec2/subnet:Subnet") if s.name.startswith(f"{cluster}-network-private")]
        for read in [group, *egress, *ingress, eks, *subnets]:
            assert run.depends_on(scraper, read), read.name
            assert order.index(scraper.urn) < order.index(read.urn), read.name
    # AMP makes the collectors' access entries itself (API authentication): the program adds none,
    # nor any Kubernetes object, and every cluster authenticates by access entries only.
    metrics = [r for r in run.resources if r.type == "istio-eks-mesh:metrics:RegionMetrics"]
    made = {r.type for m in metrics for r in run.descendants(m)}
    assert made == {
        WORKSPACE,
        "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
        SCRAPER,
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    }
    assert {c.inputs["authenticationMode"] for c in run.of_type("eks:index:Cluster")} == {"API"}


def test_private_mode_collectors_use_the_private_subnets_and_the_endpoint_stays_private():
    private = {
        "connectivity": "private",
        "meshCidr": "10.64.0.0/10",
        "operatorCidrs": ["192.168.10.0/24"],
        # The operators' VPN attachment on the network team's gateway, as tests/test_private_mesh.py has it.
        "transitGateways": {"us-east-1": "tgw-0123456789abcdef0"},
        "transitGatewayRouting": {
            "us-east-1": {"operatorAttachment": "tgw-attach-0123456789abcdef0", "returnRouteTable": OPERATOR_TABLE}
        },
        "clusters": [{"name": "c0", "region": "us-east-1"}, {"name": "c1", "region": "us-west-2"}],
        "metrics": "amp",
    }
    run = cached_run(private)
    assert run.error is None, run.error
    assert len(run.of_type(SCRAPER)) == 2
    for cluster in ("c0", "c1"):
        eks = run.one("eks:index:Cluster", f"{cluster}-eks")
        # The collector reaches the API server through its private endpoint (AMP-collector-how-to.html).
        assert eks.inputs["endpointPrivateAccess"] is True and eks.inputs["endpointPublicAccess"] is False
        source = run.one(SCRAPER, f"{cluster}-metrics-collector").inputs["source"]["eks"]
        private = {
            s.id for s in run.of_type("aws:ec2/subnet:Subnet") if s.name.startswith(f"{cluster}-network-private")
        }
        assert set(source["subnetIds"]) == private


def test_turning_metrics_on_or_off_creates_or_deletes_only_the_metrics_resources():
    before, after = cached_run(mesh_config(2)), cached_run(mesh_config(2, metrics="amp"))
    metrics_types = {SCRAPER, WORKSPACE, "aws:amp/ruleGroupNamespace:RuleGroupNamespace"}
    on, off = change_impact(before, after), change_impact(after, before)
    created = {key for key, what in on.items() if what == "created"}
    assert {t for t, _ in created} >= metrics_types
    assert all(t in metrics_types or "metrics-collector" in name for t, name in created)
    assert {what for key, what in on.items() if key not in created} == {"unchanged"}
    assert {key for key, what in off.items() if what == "deleted"} == created
    assert {what for key, what in off.items() if key not in created} == {"unchanged"}


# Labels of Istio's standard metrics (istio.io/latest/docs/reference/config/metrics/, "Labels"), and
# those the collectors add (components/plan/scrape_config.py) or Prometheus gives every target.
ISTIO_LABELS = {
    "reporter", "source_workload", "source_workload_namespace", "source_principal", "source_app", "source_version",
    "source_cluster", "source_canonical_service", "source_canonical_revision", "destination_workload",
    "destination_workload_namespace", "destination_principal", "destination_app", "destination_version",
    "destination_service", "destination_service_name", "destination_service_namespace", "destination_cluster",
    "destination_canonical_service", "destination_canonical_revision", "request_protocol", "response_code",
    "grpc_response_status", "response_flags", "connection_security_policy",
}  # fmt: skip
TARGET_LABELS = {"cluster", "network", "namespace", "pod", "job", "instance"}


def _labels(expr: str, metric: str) -> set[str]:
    """Label names an expression reads of `metric`: its matchers, and the `by` of a sum over it."""
    found = set()
    for match in re.finditer(rf"(?:sum by \(([a-z_, ]+)\) \(\w+\()?{metric}\{{([^}}]*)\}}", expr):
        found |= {b.strip() for b in (match[1] or "").split(",") if b.strip()}
        found |= set(re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", match[2]))
    return found


def test_every_alert_reads_kept_metrics_and_labels_and_has_its_runbook():
    config = yaml.safe_load(scrape_configuration("east", "n1"))
    jobs = config["scrape_configs"]
    # Every label survives the collectors: they only keep or drop whole series by name.
    assert {r["action"] for j in jobs for r in j["metric_relabel_configs"]} == {"keep"}
    assert all(r["source_labels"] == ["__name__"] for j in jobs for r in j["metric_relabel_configs"])
    (group,) = yaml.safe_load(rules_document("us-east-1", ["east", "west"], locality_first=True))["groups"]
    headings = set(
        re.findall(r"^### (\S+)$", (Path(__file__).parent.parent / "docs/operations/metrics.md").read_text(), re.M)
    )
    assert len(group["rules"]) >= 10
    for rule in group["rules"]:
        expr = rule["expr"]
        # No promtool here: at least every bracket closes, in order, and quotes pair up.
        stack = []
        for char in re.sub(r'"[^"]*"', '""', expr):
            if char in "([{":
                stack.append(char)
            elif char in ")]}":
                assert stack and "([{"[")]}".index(char)] == stack.pop(), rule["alert"]
        assert not stack and expr.count('"') % 2 == 0, rule["alert"]
        names = re.findall(r"([a-z_][a-z0-9_]*)\s*[{\[]", expr) + re.findall(r"(?<!by )\(([a-z_][a-z0-9_]*)\)", expr)
        assert names, rule["alert"]
        # A metric the collectors drop would leave the alert silent for ever.
        for name in names:
            assert any(_kept(job, name) for job in jobs), (rule["alert"], name)
            if name.startswith("istio_"):
                # A misspelt label matches nothing: the alert would never fire.
                assert _labels(expr, name) <= ISTIO_LABELS | TARGET_LABELS, (rule["alert"], _labels(expr, name))
        # Jobs named in a rule are jobs the collectors run.
        for job in re.findall(r'job="([^"]+)"', expr):
            assert job in {j["job_name"] for j in jobs}, (rule["alert"], job)
        assert re.fullmatch(r"\d+[mh]", rule["for"]), rule["alert"]
        assert rule["annotations"]["runbook"] == f"docs/operations/metrics.md#{rule['alert'].lower()}"
        assert rule["alert"] in headings, rule["alert"]
    # The label reader itself finds what the alerts read.
    unhealthy = next(r["expr"] for r in group["rules"] if r["alert"] == "MeshUpstreamUnhealthy")
    assert _labels(unhealthy, "istio_requests_total") == {
        "source_cluster", "destination_service", "reporter", "response_flags",
    }  # fmt: skip


def _failover(document: str) -> dict | None:
    (group,) = yaml.safe_load(document)["groups"]
    return next((r for r in group["rules"] if r["alert"] == "MeshLocalityFailover"), None)


def test_unhealthy_upstreams_read_envoys_no_healthy_host_and_connect_failure_flags():
    (group,) = yaml.safe_load(rules_document())["groups"]
    rules = {r["alert"]: r["expr"] for r in group["rules"]}
    flags = re.compile(r'response_flags=~"([^"]+)"')
    for name in ("MeshUpstreamUnhealthy", "EastWestGatewayUpstreamUnhealthy"):
        (regex,) = flags.findall(rules[name])
        # Envoy joins several flags with commas; "-" is none (envoyproxy.io access log, response flags).
        for value in ("UH", "UF", "UF,URX", "URX", "DC,UH"):
            assert re.fullmatch(regex, value), (name, value)
        for value in ("-", "NR", "DC", "UT", "RL"):
            assert not re.fullmatch(regex, value), (name, value)
    assert 'job="eastwest-gateway"' in rules["EastWestGatewayUpstreamUnhealthy"]
    assert "istio_tcp_connections_closed_total" in rules["EastWestGatewayUpstreamUnhealthy"]


def test_each_workspace_gets_the_mesh_alerts_the_named_one_too(run):
    namespaces = {r.name: r for r in run.of_type("aws:amp/ruleGroupNamespace:RuleGroupNamespace")}
    assert set(namespaces) == {"metrics-us-east-1-alerts", "metrics-us-west-2-alerts"}
    (workspace,) = run.of_type(WORKSPACE)
    east, west = namespaces["metrics-us-east-1-alerts"], namespaces["metrics-us-west-2-alerts"]
    assert east.inputs["workspaceId"] == workspace.id and run.depends_on(east, workspace)
    assert west.inputs["workspaceId"] == WEST_ARN.rsplit("/", 1)[1]
    assert east.inputs["name"] == west.inputs["name"] == "mesh1"
    # The same alerts in both, but failover reads each region's own callers (p in us-east-1, r in
    # us-west-2) leaving for any cluster not in the region.
    (common,) = yaml.safe_load(rules_document())["groups"]
    for namespace, here in ((east, "p"), (west, "r")):
        (group,) = yaml.safe_load(namespace.inputs["data"])["groups"]
        assert [r for r in group["rules"] if r["alert"] != "MeshLocalityFailover"] == common["rules"]
        failover = _failover(namespace.inputs["data"])
        assert f'source_cluster=~"{here}"' in failover["expr"]
        assert f'destination_cluster!~"{here}|unknown"' in failover["expr"]


def test_locality_failover_is_alerted_only_where_callers_stay_local():
    assert _failover(rules_document("eu-west-1", ["a", "b"], locality_first=False)) is None
    failover = _failover(rules_document("eu-west-1", ["a", "b"], locality_first=True))
    # Requests from a or b to any cluster but a and b, over 10 % of all their requests.
    numerator, denominator = failover["expr"].split(" / ")
    assert 'source_cluster=~"a|b",destination_cluster!~"a|b|unknown"' in numerator
    assert 'source_cluster=~"a|b"}' in denominator and "destination_cluster" not in denominator
    assert denominator.endswith("> 0.1") and "leave eu-west-1" in failover["annotations"]["summary"]


def test_a_mesh_without_locality_load_balancing_gets_no_failover_alert():
    # Callers there spread over every cluster by design: requests leaving the region are no failover.
    run = cached_run(mesh_config(2, metrics="amp", trafficPolicy={"localityLoadBalancing": False}))
    assert run.error is None, run.error
    namespaces = run.of_type("aws:amp/ruleGroupNamespace:RuleGroupNamespace")
    assert namespaces and all(_failover(n.inputs["data"]) is None for n in namespaces)


def test_check_says_where_the_metrics_go_and_counts_their_cost(capsys, tmp_path):
    stack = tmp_path / "Pulumi.metrics.yaml"
    stack.write_text(
        "config:\n  aws:region: us-east-1\n  istio-eks-mesh:apiAccessCidrs: [203.0.113.0/24]\n"
        "  istio-eks-mesh:clusters: [{name: east}, {name: west, region: us-west-2}]\n"
        f"  istio-eks-mesh:metrics: amp\n  istio-eks-mesh:metricsWorkspaces: {{us-west-2: {WEST_ARN}}}\n"
    )
    # A date inside the support windows of the default Kubernetes version (the check warns past them).
    assert main([str(stack)], today=datetime.date(2026, 12, 3)) == 0
    out = capsys.readouterr().out
    assert f"workspaces: us-east-1: the mesh's own; us-west-2: {WEST_ARN} (yours)" in out
    # Their cost, per cluster: tests/test_cost.py.
    assert "its cost: in the estimate below" in out and "west: AMP collector: 1 x" in out
