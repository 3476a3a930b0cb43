"""`verify --drill failover` against the loopback fake API server: the real client scales the
Deployments over HTTP; requests from `sleep` are answered from the server's replica counts, as
locality load balancing would (the local version while it has replicas, else another cluster's)."""

from __future__ import annotations

import functools
import json
import os
import signal

import pytest

import verify.cli
from tests import helpers as fake
from verify.checks import Unreachable
from verify.cli import main
from verify.drill import Pacing, drill_failover
from verify.kube import KubernetesClusterApi

NAMES = ("east", "west", "north")


class Clock:
    """Time that passes only when the drill sleeps."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class DrillCluster(KubernetesClusterApi):
    """The real client for status and scaling; exec answers from the fake server's state."""

    # Per cluster: "stale" keeps answering locally at zero replicas (endpoints never removed),
    # "lag" answers locally for that many rounds after scaling to zero, "interrupt"/"sigterm"
    # are what happens in the first round of requests, "unreachable" fails every request.
    behaviour: dict[str, dict] = {}

    def __init__(self, target):
        super().__init__(target)
        self.name, self.rounds = target.name, 0

    def run_in_deployment(self, namespace, app, command, timeout):
        assert (namespace, app) == ("sample", "sleep")
        count = int(command[-1].split("seq ")[1].split(")")[0])
        how, local = self.behaviour.get(self.name, {}), version_of(self.name)
        self.rounds += 1
        if how.get("interrupt") and fake.DEPLOYMENTS[self.name][f"helloworld-{local}"] == 0:
            raise KeyboardInterrupt
        if how.get("sigterm") and fake.DEPLOYMENTS[self.name][f"helloworld-{local}"] == 0:
            os.kill(os.getpid(), signal.SIGTERM)
        if how.get("unreachable"):
            raise Unreachable("connection reset")
        up = [version_of(c) for c in NAMES if fake.DEPLOYMENTS[c][f"helloworld-{version_of(c)}"] > 0]
        if local in up or how.get("stale") or how.get("lag", 0) >= self.rounds:
            answers = [local] * count
        else:
            answers = [up[i % len(up)] for i in range(count)]
        return "".join(f"Hello version: {v}, instance: helloworld-{v}-abc\n" for v in answers)

    def scale_deployment(self, namespace, name, replicas):
        if self.behaviour.get(self.name, {}).get("restore-fails") and replicas > 0:
            raise Unreachable("connection refused")
        if self.behaviour.get(self.name, {}).get("second-signal") and replicas > 0:
            # Ctrl-C again while the replicas are being restored.
            os.kill(os.getpid(), signal.SIGINT)
        return super().scale_deployment(namespace, name, replicas)


def version_of(cluster: str) -> str:
    return f"v{NAMES.index(cluster) + 1}"


@pytest.fixture
def mesh(api_server):
    fake.DEPLOYMENTS.clear()
    fake.DEPLOYMENTS.update(
        {c: {f"helloworld-{version_of(c)}": 2 if c == "west" else 1, "sleep": 1, "istiod": 1} for c in NAMES}
    )
    fake.SCALED.clear()
    DrillCluster.behaviour = {}
    return [
        fake.kube_target(f"{api_server}/clusters/{c}", name=c, sample_version=version_of(c), local_first=True)
        for c in NAMES
    ]


def drill(targets, lines=None):
    clock = Clock()
    pacing = Pacing(deadline=30, poll=5, sleep=clock.sleep, clock=clock)
    return drill_failover(
        targets,
        DrillCluster,
        requests=6,
        timeout=10,
        progress=(lines if lines is not None else []).append,
        pacing=pacing,
    )


def restored(targets) -> bool:
    return all(
        fake.DEPLOYMENTS[t.name][f"helloworld-{t.sample_version}"] == (2 if t.name == "west" else 1) for t in targets
    )


def test_each_cluster_fails_over_to_the_others_and_comes_back(mesh):
    lines: list[str] = []
    results = drill(mesh, lines)
    assert [(r.cluster, r.check, r.passed) for r in results] == [
        (c, check, True) for c in NAMES for check in ("failover", "restore")
    ]
    # One cluster down at a time, each back to the replicas it had (west had 2).
    assert fake.SCALED == [
        ("east", "helloworld-v1", 0),
        ("east", "helloworld-v1", 1),
        ("west", "helloworld-v2", 0),
        ("west", "helloworld-v2", 2),
        ("north", "helloworld-v3", 0),
        ("north", "helloworld-v3", 1),
    ]
    failover = {r.cluster: r.detail for r in results if r.check == "failover"}
    assert "v2: 3, v3: 3; local 0%" in failover["east"]
    assert "local 100%" in next(r.detail for r in results if r.cluster == "east" and r.check == "restore")
    assert "[3/3] north: failover drill ..." in lines and any("scaling helloworld-v2 to 0 (was 2)" in l for l in lines)


def test_a_cluster_that_never_fails_over_fails_the_drill_and_is_restored(mesh):
    DrillCluster.behaviour = {"west": {"stale": True}}
    results = drill(mesh)
    west = {r.check: r for r in results if r.cluster == "west"}
    assert not west["failover"].passed and "still answered by west (v2) after 30s" in west["failover"].detail
    assert west["restore"].passed and restored(mesh)
    assert all(r.passed for r in results if r.cluster != "west")


def test_slow_convergence_is_retried_within_the_deadline(mesh):
    DrillCluster.behaviour = {"east": {"lag": 2}}
    lines: list[str] = []
    results = drill(mesh[:2], lines)
    assert all(r.passed for r in results), results
    assert "round 3" in results[0].detail
    assert sum("failover: still answered by east (v1), retrying" in l for l in lines) == 2


def test_an_api_error_mid_drill_fails_the_cluster_and_still_restores(mesh):
    DrillCluster.behaviour = {"east": {"unreachable": True}}
    results = drill(mesh[:2])
    east = {r.check: r for r in results if r.cluster == "east"}
    assert not east["failover"].passed and "connection reset" in east["failover"].detail
    assert restored(mesh)


def test_a_failed_restore_says_how_to_restore_by_hand(mesh):
    DrillCluster.behaviour = {"west": {"restore-fails": True}}
    results = drill(mesh)
    west = [r for r in results if r.cluster == "west"]
    assert [r.check for r in west] == ["failover", "restore"] and not west[1].passed
    assert (
        "connection refused" in west[1].detail
        and "`kubectl -n sample scale deployment/helloworld-v2 --replicas=2`" in west[1].detail
    )
    # The drill goes on with the next cluster.
    assert all(r.passed for r in results if r.cluster == "north")


@pytest.mark.parametrize("how", ["interrupt", "sigterm", "second-signal"])
def test_an_interrupted_drill_restores_the_replicas_then_stops(mesh, how):
    DrillCluster.behaviour = {"east": {"interrupt": True} if how != "sigterm" else {"sigterm": True}}
    if how == "second-signal":
        DrillCluster.behaviour["east"]["second-signal"] = True
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        drill(mesh, lines)
    assert fake.SCALED == [("east", "helloworld-v1", 0), ("east", "helloworld-v1", 1)] and restored(mesh)
    assert "    scaled helloworld-v1 back to 1" in lines
    # The drill leaves the process's signal handlers as it found them.
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_cluster_already_at_zero_comes_back_with_one_replica(mesh):
    fake.DEPLOYMENTS["east"]["helloworld-v1"] = 0
    results = drill(mesh[:2])
    assert fake.DEPLOYMENTS["east"]["helloworld-v1"] == 1 and results[0].passed


def test_nothing_to_fail_over_to_or_no_samples(mesh, api_server):
    assert [r.detail for r in drill(mesh[:1])] == ["no other cluster to fail over to"]
    missing = fake.kube_target(f"{api_server}/clusters/south", name="south", sample_version="v9")
    results = drill([mesh[0], missing])
    assert "deployment sample/helloworld-v9 not found" in results[-1].detail and not results[-1].passed
    assert fake.SCALED[-1] == ("east", "helloworld-v1", 1)
    assert (
        "samples not deployed"
        in drill([mesh[0], fake.kube_target(api_server, name="x", sample_version=None)])[0].detail
    )
    assert fake.SCALED.count(("east", "helloworld-v1", 0)) == 1


def run_cli(tmp_path, capsys, targets, *extra):
    # Remotes without gateways: the plain checks need only istiod and `sleep`.
    out = {
        "clusters": {
            t.name: {
                "kubeconfig": json.dumps(t.kubeconfig),
                "endpoint": t.endpoint,
                "sampleVersion": t.sample_version,
                "role": "remote",
                "eastWestAddress": None,
                "localityLoadBalancing": True,
            }
            for t in targets
        }
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(out))
    code = main(["--outputs", str(path), *extra], connect=DrillCluster)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_verify_reports_the_local_share_and_drills_only_when_asked(mesh, tmp_path, capsys):
    code, out, _ = run_cli(tmp_path, capsys, mesh)
    assert code == 0, out
    # Local-first: each cluster answers itself, which passes without every version answering.
    assert [l.split(None, 3)[1:] for l in out.splitlines() if l.startswith(("east", "west"))] == [
        ["istiod", "pass", "1/1 ready"],
        ["traffic", "pass", "v1: 30; local 100%"],
        ["istiod", "pass", "1/1 ready"],
        ["traffic", "pass", "v2: 30; local 100%"],
    ]
    assert fake.SCALED == []
    code, out, err = run_cli(tmp_path, capsys, mesh, "--drill", "failover", "--requests", "4")
    assert code == 0, out
    assert out.count(" failover ") == out.count(" restore ") == 3 and "mesh OK: all 12 checks passed" in out
    assert "east     failover  pass    all requests answered by other clusters (v2: 2, v3: 2; local 0%; round 1)" in out
    assert "[3/3] north: failover drill ..." in err


def test_a_failed_drill_exits_1(mesh, tmp_path, capsys, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(
        verify.cli, "drill_failover", functools.partial(drill_failover, pacing=Pacing(sleep=clock.sleep, clock=clock))
    )
    DrillCluster.behaviour = {"north": {"stale": True}}
    code, out, _ = run_cli(tmp_path, capsys, mesh, "--drill", "failover")
    assert code == 1 and "mesh NOT OK: 1 of 12 checks failed" in out
    assert "north    failover  FAIL    still answered by north (v3) after 120s" in out and restored(mesh)
