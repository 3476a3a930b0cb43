"""Mesh-wide mTLS (`mtls`): a PeerAuthentication in every primary; STRICT for new stacks, what it
ran for deployed ones."""

from __future__ import annotations

import pytest

from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from tests.harness import Run, cached_run, resolve, run_program
from tests.helpers import MIXED, mesh_config, mocks_with, recorded
from tests.impact import change_impact, of_kind

POLICY = "kubernetes:security.istio.io/v1:PeerAuthentication"


def policies(run: Run) -> dict[str, dict]:
    """Per cluster (from its Kubernetes provider), its PeerAuthentication's inputs."""
    found = {}
    for p in run.of_type(POLICY):
        cluster = run._by_urn[p.provider_urn].name.removesuffix("-k8s")
        assert cluster not in found
        found[cluster] = p
    return found


def test_a_new_stack_is_strict_in_every_primary_and_waits_for_its_istiod():
    run = cached_run(MIXED)
    assert run.error is None, run.error
    primaries = {c["name"] for c in MIXED["clusters"] if c.get("role", "primary") == "primary"}
    found = policies(run)
    assert set(found) == primaries and len(primaries) >= 2
    for cluster, p in found.items():
        assert p.inputs["metadata"] == {"name": "default", "namespace": "istio-system"}
        # No selector: mesh-wide, from the root namespace.
        assert p.inputs["spec"] == {"mtls": {"mode": "STRICT"}}
        istiod = [r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.name == f"{cluster}-istio-istiod"]
        assert istiod and run.depends_on(p, istiod[0])
    assert resolve(run.exports["mtls"])[0] == "STRICT"
    assert not [w for w in run.warnings if "mtls" in w]


def _deployed(before: Run, **outputs) -> dict:
    last = {**recorded(before), **outputs}
    last.pop("mtls") if "mtls" not in outputs else None
    return last


def test_a_stack_deployed_before_keeps_permissive_until_the_user_sets_it():
    config = mesh_config(2)
    before = cached_run(config)
    legacy = run_program(config, mock_factory=mocks_with(last_outputs=_deployed(before)))
    assert {p.inputs["spec"]["mtls"]["mode"] for p in policies(legacy).values()} == {"PERMISSIVE"}
    assert resolve(legacy.exports["mtls"])[0] == "PERMISSIVE"
    (warning,) = [w for w in legacy.warnings if "mtls is unset" in w]
    assert "Set mtls STRICT" in warning

    # Recorded, it stays PERMISSIVE while the key is unset, even on a stack that has never seen it.
    kept = run_program(config, mock_factory=mocks_with(last_outputs=_deployed(before, mtls="PERMISSIVE")))
    assert resolve(kept.exports["mtls"])[0] == "PERMISSIVE"

    # The user's STRICT changes the policies in place, and nothing else.
    strict = run_program({**config, "mtls": "STRICT"}, mock_factory=mocks_with(last_outputs=_deployed(before)))
    assert not [w for w in strict.warnings if "mtls is unset" in w]
    impact = change_impact(legacy, strict)
    assert of_kind(impact, "updated") == {
        (POLICY, "c0-mtls-peer-authentication"),
        (POLICY, "c1-mtls-peer-authentication"),
    }
    assert of_kind(impact, "replaced") == of_kind(impact, "created") == of_kind(impact, "deleted") == set()
    # Confirmed PERMISSIVE: no warning.
    confirmed = run_program({**config, "mtls": "PERMISSIVE"}, mock_factory=mocks_with(last_outputs=_deployed(before)))
    assert not [w for w in confirmed.warnings if "mtls" in w]


@pytest.mark.parametrize(
    "value, message",
    [
        ("strict", 'got a string "strict"; did you mean "STRICT"?'),
        ("DISABLE", 'must be one of STRICT, PERMISSIVE, got a string "DISABLE"'),
        (True, "got true/false true"),
        (None, "got null"),
        (["STRICT"], "got a list"),
        ("S" * 10_000, "must be one of STRICT, PERMISSIVE"),
    ],
)
def test_a_bad_mode_is_one_error_naming_the_key(value, message):
    with pytest.raises(ConfigError) as err:
        parse_mesh_spec({"clusters": [{"name": "east"}], "mtls": value}, default_region="us-east-1", stack="dev")
    ((key, problem),) = err.value.problems
    assert key == "mtls" and message in problem and len(problem) < 300
