"""Cross-cluster discovery: one remote secret per ordered pair, each a kubeconfig istiod accepts."""

from __future__ import annotations

import base64
import datetime
import itertools
import json

import pytest
import yaml
from kubernetes import client, config

from check.cli import main as check_main
from components.config.credentials import rotation_notices
from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from components.model.credentials import ReaderTokens, TokenRecord
from components.model.deployed import LastDeployment
from tests.harness import Run, cached_run, resolve, run_program, unwrap
from tests.helpers import PRIMARY_REMOTE, mesh_config, mocks_with, recorded
from tests.impact import change_impact, of_kind
from tests.mocks import cluster_ca

SECRET = "kubernetes:core/v1:Secret"


def remote_secrets(run: Run):
    return [s for s in run.of_type(SECRET) if s.inputs["metadata"]["name"].startswith("istio-remote-secret-")]


def owner(run: Run, secret) -> str:
    """The cluster whose API server a Secret is written to, from its Kubernetes provider."""
    return run._by_urn[secret.provider_urn].name.removesuffix("-k8s")


@pytest.mark.parametrize("count", [2, 3, 6])
def test_every_ordered_pair_has_exactly_one_remote_secret(count):
    run = cached_run(mesh_config(count))
    assert run.error is None, run.error
    names = [f"c{i}" for i in range(count)]
    found = {}
    for s in remote_secrets(run):
        meta = s.inputs["metadata"]
        peer = meta["name"].removeprefix("istio-remote-secret-")
        pair = (owner(run, s), peer)
        assert pair not in found, f"two secrets for {pair}"
        found[pair] = s
        assert meta["namespace"] == "istio-system"
        assert meta["labels"] == {"istio/multiCluster": "true"}
        assert meta["annotations"] == {"networking.istio.io/cluster": peer}
        assert list(s.inputs["stringData"]) == [peer]
    assert set(found) == {(a, b) for a, b in itertools.permutations(names, 2)}

    tokens = [s for s in run.of_type(SECRET) if s.inputs.get("type") == "kubernetes.io/service-account-token"]
    assert sorted(owner(run, t) for t in tokens) == names
    for t in tokens:
        assert t.inputs["metadata"] == {
            "name": "istio-reader-service-account-istio-remote-secret-token",
            "namespace": "istio-system",
            "annotations": {"kubernetes.io/service-account.name": "istio-reader-service-account"},
        }
        assert run.depends_on(t, run.one("kubernetes:helm.sh/v3:Release", f"{owner(run, t)}-istio-base"))


def test_only_remote_secrets_grow_faster_than_the_cluster_count():
    def per_cluster(count: int) -> float:
        run = cached_run(mesh_config(count))
        pairs = count * (count - 1)
        pair_resources = [r for r in run.resources if "-remote-secret-" in r.name]
        assert len(pair_resources) == 2 * pairs  # a component and its Secret per pair
        shared = (
            len(run.of_type("pulumi:providers:aws"))
            + len(run.of_type("istio-eks-mesh:mesh:IstioMesh"))
            + len(run.descendants(run.one("istio-eks-mesh:pki:RootCa", "root-ca")))
            + 1
        )
        return (len(run.resources) - len(pair_resources) - shared) / count

    assert per_cluster(2) == per_cluster(3) == per_cluster(6)


def test_each_kubeconfig_loads_offline_and_points_at_the_peer():
    run = cached_run(mesh_config(3))
    tokens = {
        owner(run, t): base64.b64decode(unwrap(t.outputs["data"])["token"]).decode()
        for t in run.of_type(SECRET)
        if t.inputs.get("type") == "kubernetes.io/service-account-token"
    }
    assert len(set(tokens.values())) == 3
    for s in remote_secrets(run):
        peer = s.inputs["metadata"]["annotations"]["networking.istio.io/cluster"]
        assert s.is_secret("stringData")
        raw = s.inputs["stringData"][peer]
        kubeconfig = yaml.safe_load(raw)
        # Names and shape as `istioctl create-remote-secret` writes them; nothing istiod rejects.
        assert [c["name"] for c in kubeconfig["clusters"]] == [peer]
        assert kubeconfig["contexts"] == [{"name": peer, "context": {"cluster": peer, "user": peer}}]
        assert kubeconfig["current-context"] == peer
        assert kubeconfig["users"] == [{"name": peer, "user": {"token": tokens[peer]}}]

        loaded = client.Configuration()
        config.load_kube_config_from_dict(kubeconfig, client_configuration=loaded, persist_config=False)
        assert loaded.host.startswith("https://") and loaded.host.endswith(".eks.amazonaws.com")
        assert loaded.api_key == {"BearerToken": f"Bearer {tokens[peer]}"}
        with open(loaded.ssl_ca_cert) as f:
            assert f.read() == cluster_ca(f"{peer}-dev")[0]
        # The peer's endpoint, not the local one.
        assert loaded.host == _endpoint_of(run, peer)
        assert loaded.host != _endpoint_of(run, owner(run, s))


def _endpoint_of(run: Run, cluster: str) -> str:
    return resolve(run.exports["clusters"][cluster]["endpoint"])[0]


def test_every_remote_secret_waits_for_the_peers_token(two_cluster_run):
    run = two_cluster_run
    for s in remote_secrets(run):
        peer = s.inputs["metadata"]["annotations"]["networking.istio.io/cluster"]
        token = run.one(SECRET, f"{peer}-reader-token-secret")
        assert token.urn in s.property_dependencies["stringData"]
        assert run.depends_on(s, token)


@pytest.mark.parametrize("count", [2, 6])
def test_every_api_endpoint_admits_every_peers_nat_addresses(count):
    run = cached_run(mesh_config(count))
    for local in range(count):
        cidrs = set(run.one("eks:index:Cluster", f"c{local}-eks").inputs["publicAccessCidrs"])
        for peer in range(count):
            for eip in run.of_type("aws:ec2/eip:Eip"):
                if eip.name.startswith(f"c{peer}-network-"):
                    assert f"{eip.outputs['publicIp']}/32" in cidrs


# --- rotation (`readerTokenGeneration`) ----------------------------------------------------------

TOKEN = "kubernetes.io/service-account-token"
CLOCK = datetime.datetime(2027, 3, 1, 9, 30, tzinfo=datetime.UTC)


def test_a_new_generation_replaces_each_token_create_first_and_moves_every_remote_secret_to_it():
    before, after = cached_run(mesh_config(3)), cached_run(mesh_config(3, readerTokenGeneration=2))
    assert after.error is None, after.error
    impact = change_impact(before, after)
    tokens = {("kubernetes:core/v1:Secret", f"c{i}-reader-token-secret") for i in range(3)}
    pairs = {
        ("kubernetes:core/v1:Secret", f"{a}-remote-secret-{b}-secret")
        for a, b in itertools.permutations(["c0", "c1", "c2"], 2)
    }
    assert of_kind(impact, "replaced") == tokens
    assert of_kind(impact, "updated") == pairs
    assert of_kind(impact, "created") == of_kind(impact, "deleted") == of_kind(impact, "refused") == set()
    for t in after.of_type(SECRET):
        if t.inputs.get("type") == TOKEN:
            assert t.inputs["metadata"]["name"] == "istio-reader-service-account-istio-remote-secret-token-2"
            # Create-first: the old token is deleted at the end of the update, after its dependents
            # (every remote secret reading it) took the new one.
            assert not t.delete_before_replace
    for s in remote_secrets(after):
        peer = s.inputs["metadata"]["annotations"]["networking.istio.io/cluster"]
        token = after.one(SECRET, f"{peer}-reader-token-secret")
        assert token.urn in s.property_dependencies["stringData"]
        new = base64.b64decode(unwrap(token.outputs["data"])["token"]).decode()
        assert yaml.safe_load(s.inputs["stringData"][peer])["users"][0]["user"]["token"] == new


def _pinned_run(monkeypatch, config: dict, last: dict) -> Run:
    monkeypatch.setattr("components.config.clock.now", lambda: CLOCK)
    return run_program(config, mock_factory=mocks_with(last_outputs=last))


def test_the_stack_records_when_each_token_was_made_and_warns_past_the_documented_age(monkeypatch):
    first = cached_run(mesh_config(2))
    old = (CLOCK - datetime.timedelta(days=91)).isoformat()
    # c0 recorded 91 days ago; c1 deployed by a release that recorded nothing.
    last = {**recorded(first), "readerTokens": {"c0": {"generation": 1, "createdAt": old}}}
    run = _pinned_run(monkeypatch, mesh_config(2), last)
    assert run.error is None, run.error
    assert resolve(run.exports["readerTokens"])[0] == {
        "c0": {"generation": 1, "createdAt": old},
        "c1": {"generation": 1, "createdAt": "2027-03-01T09:30:00+00:00"},
    }
    (warning,) = [w for w in run.warnings if "readerTokenGeneration" in w]
    assert "c0 (91 days, since 2026-11-30)" in warning and "c1" not in warning
    assert "set readerTokenGeneration to 2" in warning

    rotated = _pinned_run(monkeypatch, mesh_config(2, readerTokenGeneration=2), last)
    assert {c: r["createdAt"] for c, r in resolve(rotated.exports["readerTokens"])[0].items()} == {
        "c0": "2027-03-01T09:30:00+00:00",
        "c1": "2027-03-01T09:30:00+00:00",
    }
    assert not [w for w in rotated.warnings if "readerTokenGeneration" in w]


def test_check_warns_on_old_tokens_from_the_stack_outputs(capsys, tmp_path):
    def stack_file(**keys) -> str:
        config = {"istio-eks-mesh:clusters": [{"name": "east"}], "aws:region": "us-east-1"}
        path = tmp_path / "Pulumi.x.yaml"
        path.write_text(yaml.safe_dump({"config": {**config, **{f"istio-eks-mesh:{k}": v for k, v in keys.items()}}}))
        return str(path)

    outputs = tmp_path / "outputs.json"
    today = datetime.date(2026, 12, 3)
    for days, warned in ((89, False), (91, True)):
        made = datetime.datetime(2026, 12, 3, 12, tzinfo=datetime.UTC) - datetime.timedelta(days=days)
        outputs.write_text(json.dumps({"readerTokens": {"east": {"generation": 3, "createdAt": made.isoformat()}}}))
        assert check_main([stack_file(readerTokenGeneration=3), "--outputs", str(outputs)], today=today) == 0
        assert ("set readerTokenGeneration to 4" in capsys.readouterr().out) is warned
    # The deployed generation is the floor: the default (1) is refused, as `pulumi up` would.
    assert check_main([stack_file(), "--outputs", str(outputs)], today=today) == 2
    assert "readerTokenGeneration: 1 is below 3" in capsys.readouterr().err


@pytest.mark.parametrize(
    "value, message",
    [
        (True, "must be a whole number, got true/false true"),
        ("2", "must be a whole number"),
        (2.0, "must be a whole number"),
        (0, "between 1 and 9999, got 0"),
        (-1, "between 1 and 9999"),
        (10**12, "between 1 and 9999"),
        ({"generation": 2}, "must be a whole number"),
    ],
)
def test_bad_generations_are_one_error_naming_the_key(value, message):
    with pytest.raises(ConfigError) as err:
        parse_mesh_spec(
            {"clusters": [{"name": "east"}], "readerTokenGeneration": value}, default_region="us-east-1", stack="dev"
        )
    ((key, problem),) = err.value.problems
    assert key == "readerTokenGeneration" and message in problem


def test_generations_never_go_down_and_a_recorded_one_keeps_its_date():
    recorded_tokens = {"east": TokenRecord(4, "2026-01-01T00:00:00+00:00")}
    last = LastDeployment(clusters=frozenset({"east"}), reader_tokens=recorded_tokens)
    parse = lambda g: parse_mesh_spec(  # noqa: E731
        {"clusters": [{"name": "east"}], "readerTokenGeneration": g},
        default_region="us-east-1",
        stack="dev",
        last=last,
        now=CLOCK,
    )
    with pytest.raises(ConfigError, match="readerTokenGeneration: 3 is below 4.*set 4 to keep the tokens, or 5"):
        parse(3)
    assert parse(4).reader_tokens.records == recorded_tokens
    assert parse(5).reader_tokens.records == {"east": TokenRecord(5, "2027-03-01T09:30:00+00:00")}


def test_a_rotation_on_an_istiod_without_the_rotation_fixes_warns():
    last = LastDeployment(clusters=frozenset({"east"}), reader_tokens={"east": TokenRecord(1, "2026-01-01T00:00:00")})
    kept, rotated = ReaderTokens(1, last.reader_tokens), ReaderTokens(2, {"east": TokenRecord(2, "2027-01-01")})
    (notice,) = rotation_notices(rotated, last, ["1.30.3", "1.31.1"])
    assert "rotating the tokens of east on Istio 1.30.3 (fixed in 1.30.4)" in notice and "1.31.1" not in notice
    assert "1.31.0 (fixed in 1.31.1)" in rotation_notices(rotated, last, ["1.31.0"])[0]
    assert rotation_notices(rotated, last, ["1.30.4", "1.31.1"]) == []
    assert rotation_notices(kept, last, ["1.30.3"]) == []


def test_a_remotes_reader_is_bound_to_the_programs_role_before_its_istiod_drops_the_charts():
    run = cached_run(PRIMARY_REMOTE)
    binding = run.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "r-istio-reader-binding")
    assert owner(run, binding) == "r"
    assert binding.inputs["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "istio-eks-mesh-reader",
    }
    assert binding.inputs["subjects"] == [
        {"kind": "ServiceAccount", "name": "istio-reader-service-account", "namespace": "istio-system"}
    ]
    role = run.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "r-istio-reader-role")
    assert role.inputs["metadata"]["name"] == "istio-eks-mesh-reader" and run.depends_on(binding, role)
    # The chart's role goes with the istiod upgrade, so that waits for ours; the token waits too.
    assert run.depends_on(run.one("kubernetes:helm.sh/v3:Release", "r-istio-istiod"), binding)
    assert run.depends_on(run.one(SECRET, "r-reader-token-secret"), binding)
    # Primaries keep the chart's role: their istiod reads nothing their reader cannot.
    assert not [
        r for r in run.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole") if r.name.startswith("p-")
    ]
