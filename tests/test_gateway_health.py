"""East-west gateway rollouts that finish: every NLB listener has a Gateway server behind it, and
every target group's health check passes whenever the pod is Ready, in every model and at every
step of the documented procedures.

The rollout model, from the load balancer controller (v3.5.0) and Istio (1.31):
- one target group per Service port, each health-checked on the `healthcheck-port` annotation
  (default: the traffic port) with its protocol (default: a TCP connect)
  (pkg/service/model_builder.go, model_build_target_group.go);
- istio-system carries the readiness-gate label, so a new gateway pod gets one readiness gate per
  target group and is Ready only once it is healthy in all of them
  (pkg/inject/pod_readiness/pod_readiness_gate.go, docs/deploy/pod_readiness_gate.md);
- Envoy listens on a port only where a Gateway server of its istiod selects the pod; on 15021 it
  answers `/healthz/ready` over HTTP on every proxy (tools/packaging/common/envoy_bootstrap.json);
- a gateway pod's istiod is its cluster's primary's, which reads Gateways from its own cluster only.
"""

from __future__ import annotations

import pytest

from tests.harness import Run, cached_run
from tests.helpers import MIXED, OPERATOR_CIDR, PRIMARY_REMOTE, mesh_config

RELEASE = "kubernetes:helm.sh/v3:Release"
GATEWAY = "kubernetes:networking.istio.io/v1:Gateway"
ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-healthcheck-"
STATUS_PORT = 15021


def _clusters(*specs: dict, **extra) -> dict:
    return {"clusters": list(specs), "apiAccessCidrs": [OPERATOR_CIDR], **extra}


P_N1 = {"name": "p", "region": "us-east-1", "network": "n1"}
CANARY = {"istioVersion": "1.30.5", "istioRevisions": ["1.30.5", "1.31.1"]}
# Each procedure: its steps in order, each a whole stack config.
PROCEDURES = {
    "multi-primary, two networks": [mesh_config(2)],
    "a lone cluster, then a second network": [mesh_config(1), mesh_config(2)],
    "primary-remote, two networks, with samples": [PRIMARY_REMOTE],
    "primary-remote, one network": [
        _clusters(P_N1, {"name": "r", "region": "us-east-1", "network": "n1", "role": "remote", "primary": "p"})
    ],
    "mixed": [MIXED],
    "adding the first remote": [
        _clusters(P_N1, {"name": "q", "region": "us-west-2", "network": "n3"}),
        _clusters(
            P_N1,
            {"name": "q", "region": "us-west-2", "network": "n3"},
            {"name": "r", "region": "us-west-2", "network": "n2", "role": "remote", "primary": "p"},
        ),
    ],
    "canary, primary-remote": [
        {**PRIMARY_REMOTE, "istioVersion": "1.30.5"},
        {**PRIMARY_REMOTE, **CANARY, "istioRevisionTags": {"default": "1.30.5", "canary": "1.31.1"}},
        {**PRIMARY_REMOTE, **CANARY, "istioRevisionTags": {"default": "1.31.1", "canary": "1.31.1"}},
        {
            **PRIMARY_REMOTE,
            "istioRevisions": ["1.31.1"],
            "istioRevisionTags": {"default": "1.31.1", "canary": "1.31.1"},
        },
    ],
    "root rotation, multi-primary": [
        mesh_config(2, pki={"rootGeneration": 1, "trustedRootGenerations": g}) for g in ([1], [1, 2])
    ]
    + [mesh_config(2, pki={"rootGeneration": 2, "trustedRootGenerations": g}) for g in ([1, 2], [2])],
}


def run_of(config: dict) -> Run:
    run = cached_run(config)
    assert run.error is None, run.error
    return run


def cluster_of(run: Run, resource) -> str:
    return run._by_urn[resource.provider_urn].name.removesuffix("-k8s")


def control_planes(config: dict) -> dict[str, str]:
    return {
        c["name"]: c.get("primary", c["name"]) if c.get("role") == "remote" else c["name"] for c in config["clusters"]
    }


def pod_labels(values: dict) -> dict[str, str]:
    """The gateway chart's pod labels (templates/deployment.yaml): `app` and `istio` from the release
    name, `labels`, and the network `networkGateway` would add."""
    labels = {"app": "istio-eastwestgateway", "istio": "eastwestgateway", **values.get("labels", {})}
    if values.get("networkGateway"):
        labels["topology.istio.io/network"] = values["networkGateway"]
    return labels


def service_ports(values: dict) -> list[int]:
    """The Service's ports (templates/service.yaml): `networkGateway` replaces `service.ports` with four."""
    if values.get("networkGateway"):
        return [15021, 15443, 15012, 15017]
    return [int(p["port"]) for p in values["service"]["ports"]]


def listening_ports(run: Run, cluster: str, labels: dict[str, str], config: dict) -> set[int]:
    """Where Envoy in a gateway pod with `labels` listens: the servers of the Gateways its istiod reads."""
    config_cluster = control_planes(config)[cluster]
    ports = set()
    for gateway in run.of_type(GATEWAY):
        selector = gateway.inputs["spec"]["selector"]
        if cluster_of(run, gateway) == config_cluster and all(labels.get(k) == v for k, v in selector.items()):
            ports |= {int(s["port"]["number"]) for s in gateway.inputs["spec"]["servers"]}
    return ports


def target_groups(values: dict) -> list[tuple[int, int, str]]:
    """(traffic port, health-check port, protocol) of each target group the controller makes."""
    annotations = values["service"]["annotations"]
    checks = []
    for port in service_ports(values):
        check_port = annotations.get(ANNOTATION + "port", "traffic-port")
        checks.append(
            (
                port,
                port if check_port == "traffic-port" else int(check_port),
                annotations.get(ANNOTATION + "protocol", "tcp").lower(),
            )
        )
    return checks


def check_passes(port: int, protocol: str, path: str | None, listening: set[int]) -> bool:
    """Whether a check passes on a Ready pod: the status port answers `/healthz/ready` (HTTP 200)
    and accepts TCP; another port only where a server listens (a TLS listener fails an HTTP check)."""
    if port == STATUS_PORT:
        return protocol == "tcp" or (protocol == "http" and path == "/healthz/ready")
    return port in listening and protocol == "tcp"


def gateway_problems(run: Run, config: dict) -> list[str]:
    problems, checked = [], 0
    for release in (r for r in run.of_type(RELEASE) if r.inputs["name"] == "istio-eastwestgateway"):
        cluster, values = cluster_of(run, release), release.inputs["values"]
        listening = listening_ports(run, cluster, pod_labels(values), config)
        path = values["service"]["annotations"].get(ANNOTATION + "path")
        for traffic, check, protocol in target_groups(values):
            checked += 1
            if traffic not in listening:
                problems.append(f"{cluster}: NLB listener {traffic} has no Gateway server behind it")
            if not check_passes(check, protocol, path, listening):
                problems.append(
                    f"{cluster}: the target group of {traffic} checks {protocol}:{check}, which a Ready pod fails"
                )
    assert checked, "no gateway target group was checked"
    return problems


@pytest.mark.parametrize("procedure", sorted(PROCEDURES))
def test_every_listener_has_a_server_and_every_health_check_passes_at_every_step(procedure):
    for step, config in enumerate(PROCEDURES[procedure], 1):
        assert gateway_problems(run_of(config), config) == [], f"step {step}"


def test_the_model_finds_the_stalled_rollouts_of_the_chart_defaults():
    """`networkGateway` and the controller's default checks: the defect a real cluster showed."""
    config = PRIMARY_REMOTE
    run = run_of(config)
    release = next(r for r in run.of_type(RELEASE) if r.name == "r-istio-eastwest")
    values = {**release.inputs["values"], "networkGateway": "n2"}
    values["service"] = {
        **values["service"],
        "annotations": {k: v for k, v in values["service"]["annotations"].items() if not k.startswith(ANNOTATION)},
    }
    listening = listening_ports(run, "r", pod_labels(values), config)
    assert listening == {15443}, "the remote's gateway takes its one server from the primary's Gateway"
    failing = [
        traffic
        for traffic, check, protocol in target_groups(values)
        if not check_passes(check, protocol, None, listening)
    ]
    assert failing == [15012, 15017]


def test_a_remotes_gateway_takes_its_servers_from_its_primary():
    run = run_of(PRIMARY_REMOTE)
    gateways = {(cluster_of(run, g), g.inputs["metadata"]["name"]) for g in run.of_type(GATEWAY)}
    assert gateways == {("p", "cross-network-gateway"), ("p", "istiod-gateway")}
    remote = next(r for r in run.of_type(RELEASE) if r.name == "r-istio-eastwest").inputs["values"]
    # The istiod exposure selects the primary's network: the remote's pods do not pass 15012 on.
    assert listening_ports(run, "r", pod_labels(remote), PRIMARY_REMOTE) == {15443}
