"""The `verify` command's logic against fake clusters: reading outputs, judging answers, messages."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from components.model.kubeconfig import kubeconfig_document
from tests.helpers import FakeCluster
from verify.checks import NOT_DEPLOYED, judge_traffic, parse_versions
from verify.cli import main


def outputs(names, samples=True, roles=None, gateways=None):
    roles, gateways = roles or {}, gateways or {}
    return {
        "clusters": {
            n: {
                "kubeconfig": json.dumps(kubeconfig_document(n, f"https://{n}.example", "Y2E=", {"token": "t"})),
                "endpoint": f"https://{n}.eks.example",
                "role": roles.get(n, "primary"),
                "eastWestAddress": f"{n}.elb.example" if gateways.get(n, True) else None,
                **({"sampleVersion": f"v{i + 1}"} if samples else {}),
            }
            for i, n in enumerate(names)
        }
    }


def run_verify(tmp_path, capsys, clusters: dict, out: dict, *extra):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(out))
    code = main(["--outputs", str(path), *extra], connect=lambda t: clusters[t.name])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def healthy(names):
    versions = [f"v{i + 1}" for i in range(len(names))]
    return {n: FakeCluster(n, [p for p in names if p != n], versions) for n in names}


@pytest.mark.parametrize("names", [["east", "west"], [f"c{i}" for i in range(6)]])
def test_a_healthy_mesh_passes_with_a_table(tmp_path, capsys, names):
    code, out, err = run_verify(tmp_path, capsys, healthy(names), outputs(names))
    assert code == 0, out
    assert "mesh OK" in out
    assert out.count(" pass ") == 5 * len(names) and "FAIL" not in out
    # 10 requests per cluster by default, spread over every version.
    assert all(f"v{i + 1}: " in out for i in range(len(names)))
    assert f"[{len(names)}/{len(names)}]" in err  # progress


def test_a_cluster_that_never_reaches_a_peer_fails_and_says_which(tmp_path, capsys):
    clusters = healthy(["east", "west"])
    clusters["east"].reaches = ["v1"]  # only its own version answers
    code, out, _ = run_verify(tmp_path, capsys, clusters, outputs(["east", "west"]))
    assert code == 1
    line = next(l for l in out.splitlines() if l.startswith("east") and "traffic" in l)
    assert "FAIL" in line and "v1: 20" in line and "never reached west (v2)" in line
    assert "mesh NOT OK: 1 of 10" in out


def test_missing_remote_secret_not_ready_istiod_and_no_address_fail(tmp_path, capsys):
    clusters = healthy(["east", "west"])
    clusters["west"].peers = []
    clusters["west"].deployments[("istio-system", "istiod")] = (0, 1)
    clusters["west"].address = None
    code, out, _ = run_verify(tmp_path, capsys, clusters, outputs(["east", "west"]))
    assert code == 1
    west = [l for l in out.splitlines() if l.startswith("west")]
    assert any("remote secrets" in l and "missing for east" in l for l in west)
    assert any("istiod" in l and "0/1 ready" in l and "FAIL" in l for l in west)
    assert any("gateway address" in l and "no external address" in l for l in west)


def test_unreachable_api_server_is_named_with_a_hint(tmp_path, capsys):
    clusters = healthy(["east", "west"])
    clusters["west"].unreachable = True
    code, out, _ = run_verify(tmp_path, capsys, clusters, outputs(["east", "west"]))
    assert code == 1
    assert "cannot reach https://west.eks.example" in out and "apiAccessCidrs" in out


def test_samples_not_deployed(tmp_path, capsys):
    code, out, _ = run_verify(tmp_path, capsys, healthy(["east", "west"]), outputs(["east", "west"], samples=False))
    assert code == 1
    assert out.count(NOT_DEPLOYED) == 2
    clusters = healthy(["east", "west"])
    del clusters["east"].deployments[("sample", "sleep")]
    code, out, _ = run_verify(tmp_path, capsys, clusters, outputs(["east", "west"]))
    assert code == 1 and NOT_DEPLOYED in out


def test_timeouts_are_reported(tmp_path, capsys):
    clusters = healthy(["east", "west"])
    clusters["east"].slow = True
    code, out, _ = run_verify(
        tmp_path, capsys, clusters, outputs(["east", "west"]), "--timeout", "30", "--requests", "7"
    )
    assert code == 1
    assert "7 requests took longer than 30s" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({}, "no stack outputs"),
        ({"clusters": {}}, "no stack outputs"),
        ({"clusters": {"east": {"kubeconfig": "[secret]"}}}, "--show-secrets"),
        ("not json", "not JSON"),
    ],
)
def test_unusable_outputs_exit_2_with_a_message(tmp_path, capsys, content, message):
    path = tmp_path / "outputs.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    assert main(["--outputs", str(path)], connect=lambda t: pytest.fail("must not connect")) == 2
    assert message in capsys.readouterr().err


def test_missing_outputs_file(capsys, tmp_path):
    assert main(["--outputs", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_answers_are_counted_by_version_and_failures_kept():
    counts = parse_versions(
        "Hello version: v1, instance: a\nHello version: v2, instance: b\nFAILED\nupstream connect"
        " error\n\nHello version: v1, instance: c\n"
    )
    assert counts == Counter({"v1": 2, "v2": 1, "failed": 2})
    result = judge_traffic("east", counts, {"east": "v1", "west": "v2", "north": "v3"})
    assert (
        not result.passed and "never reached north (v3)" in result.detail and "2 of 5 requests failed" in result.detail
    )
    # Every version answered, but failed requests still fail the check.
    assert not judge_traffic("east", counts, {"east": "v1", "west": "v2"}).passed
    assert judge_traffic("east", Counter({"v1": 3, "v2": 1}), {"east": "v1", "west": "v2"}).passed


def test_remotes_and_gatewayless_clusters_are_checked_for_what_they_have(tmp_path, capsys):
    # Primary-remote on one network: the remote has its local injector, no gateway, no remote secrets.
    names = ["p", "r"]
    clusters = {
        "p": FakeCluster("p", ["r"], ["v1", "v2"]),
        "r": FakeCluster("r", [], ["v1", "v2"], role="remote", gateway=False),
    }
    code, out, _ = run_verify(tmp_path, capsys, clusters, outputs(names, roles={"r": "remote"}, gateways={"r": False}))
    assert code == 0, out
    remote_checks = [l.split()[1] for l in out.splitlines() if l.startswith("r ")]
    assert remote_checks == ["istiod", "traffic"]
    # A remote whose injector is down fails: its pods would start without sidecars.
    clusters["r"].deployments[("istio-system", "istiod")] = (0, 1)
    code, out, _ = run_verify(tmp_path, capsys, clusters, outputs(names, roles={"r": "remote"}, gateways={"r": False}))
    assert code == 1 and any(l.startswith("r ") and "istiod" in l and "FAIL" in l for l in out.splitlines())
    clusters["r"].deployments[("istio-system", "istiod")] = (1, 1)
    # The primary still has to hold a remote secret for its remote.
    clusters["p"].peers = []
    code, out, _ = run_verify(tmp_path, capsys, clusters, outputs(names, roles={"r": "remote"}, gateways={"r": False}))
    assert code == 1 and "missing for r" in out


def test_a_clusters_only_output_file_is_accepted(tmp_path, capsys):
    # `pulumi stack output clusters --json --show-secrets`, the form the README's commands use.
    names = ["east", "west"]
    code, out, _ = run_verify(tmp_path, capsys, healthy(names), outputs(names)["clusters"])
    assert code == 0, out
    # A cluster may be called `clusters` itself.
    code, out, _ = run_verify(
        tmp_path, capsys, {"clusters": FakeCluster("clusters", [], ["v1"])}, outputs(["clusters"])["clusters"]
    )
    assert code == 0, out


KUBECONFIG = json.dumps(kubeconfig_document("east", "https://east.example", "Y2E=", {"token": "t"}))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([], "must be a JSON object, got a list"),
        ("null", "must be a JSON object, got null"),
        ('"east"', "must be a JSON object, got a string"),
        ({"clusters": []}, "`clusters` output must be an object of clusters, got a list"),
        ({"clusters": "east"}, "got a string"),
        ({"clusters": None}, "no stack outputs"),
        ({"rootCertPem": "-----BEGIN CERTIFICATE-----"}, "no stack outputs"),
        ({"clusters": {"east": 5}}, "cluster 'east': its outputs must be an object, got a number"),
        ({"clusters": {"east": []}}, "got a list"),
        ({"east": {"kubeconfig": KUBECONFIG}, "west": None}, "cluster 'west': its outputs must be an object, got null"),
        ({"clusters": {"east": {"kubeconfig": "apiVersion: v1\nkind: Config"}}}, "kubeconfig is not JSON"),
        ({"clusters": {"east": {"kubeconfig": "[1, 2]"}}}, "kubeconfig must be a JSON object, got a list"),
        ({"clusters": {"east": {"kubeconfig": 5}}}, "kubeconfig must be a JSON object, got a number"),
        # Valid JSON, but no kubeconfig: a usage error, not a failing cluster with an AWS CLI hint.
        ({"clusters": {"east": {"kubeconfig": "{}"}}}, "no clusters, contexts, users and current-context"),
        (
            {"clusters": {"east": {"kubeconfig": json.dumps({"clusters": 5})}}},
            "no clusters, contexts, users and current-context",
        ),
        ({"clusters": {"east": {"kubeconfig": "[" * 100000 + "]" * 100000}}}, "kubeconfig is not JSON"),
        ({"clusters": {"east": {"endpoint": "https://e"}}}, "no readable kubeconfig"),
        (
            {"clusters": {"east": {"kubeconfig": KUBECONFIG, "role": "secondary"}}},
            "`role` must be primary or remote, got a string 'secondary'",
        ),
        ({"clusters": {"east": {"kubeconfig": KUBECONFIG, "role": None}}}, "got null"),
        (
            {"clusters": {"east": {"kubeconfig": KUBECONFIG, "endpoint": 443}}},
            "`endpoint` must be a string, got a number 443",
        ),
        (
            {"clusters": {"east": {"kubeconfig": KUBECONFIG, "sampleVersion": ["v1"]}}},
            "`sampleVersion` must be a string, got a list",
        ),
        (
            {"clusters": {"east": {"kubeconfig": KUBECONFIG, "eastWestAddress": {"hostname": "x"}}}},
            "`eastWestAddress` must be a string",
        ),
        ({"clusters": {"x" * 5000: {"kubeconfig": "[secret]"}}}, "characters) has no readable kubeconfig"),
        ("", "no stack outputs"),
        ("{", "not JSON"),
    ],
)
def test_any_unusable_shape_exits_2_with_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "outputs.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    assert main(["--outputs", str(path)], connect=lambda t: pytest.fail("must not connect")) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err) < 400 and err.count("\n") == 1


def test_a_binary_outputs_file_exits_2(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_bytes(b"\xff\xfe\x00\x01")
    assert main(["--outputs", str(path)]) == 2
    assert "not a text file" in capsys.readouterr().err
    assert main(["--outputs", str(tmp_path)]) == 2  # a directory
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "-5"], "out of range; use 1 to 3600"),
        (["--timeout", "0"], "out of range"),
        (["--timeout", "1.5"], "not a whole number"),
        (["--timeout", "soon"], "not a whole number"),
        (["--requests", "0"], "out of range; use 1 to 1000"),
        (["--requests", "1000000000"], "out of range"),
        (["--outputs", "o.json", "--stack", "dev"], "exclude each other"),
        (["--colour"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_exit_2_before_anything_is_read(capsys, args, message):
    with pytest.raises(SystemExit) as caught:
        main(args, connect=lambda t: pytest.fail("must not connect"))
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_unexpected_client_failure_is_one_line_not_a_traceback(tmp_path, capsys):
    class Broken(FakeCluster):
        def deployment_status(self, namespace, name):
            raise ValueError("Invalid value for `conditions`, must not be `None`")

    code, _, err = run_verify(tmp_path, capsys, {"east": Broken("east", [], ["v1"])}, outputs(["east"]))
    assert code == 2
    assert "unexpected ValueError: Invalid value for `conditions`" in err and "Traceback" not in err
