"""Pulumi.yaml and the example stack file agree with the program."""

from __future__ import annotations

import yaml

from components import versions
from components.parse import TOP_LEVEL_KEYS, parse_mesh_spec
from components.spec import PROJECT
from tests.harness import ROOT, run_program


def test_project_declares_its_defaults_as_the_program_applies_them():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT
    assert project["runtime"]["name"] == "python" and project["runtime"]["options"]["virtualenv"]
    declared = project["config"]
    assert set(declared) <= set(TOP_LEVEL_KEYS)
    spec = parse_mesh_spec({"clusters": [{"name": "a"}]}, default_region="us-east-1", stack="dev")
    assert declared["meshId"]["default"] == spec.mesh_id
    assert declared["istioVersion"]["default"] == versions.DEFAULT_ISTIO_VERSION == spec.istio_version
    assert declared["deploySamples"]["default"] is spec.deploy_samples is False
    assert all(entry["type"] and entry["description"] for entry in declared.values())


def test_example_stack_builds_two_clusters_in_two_regions():
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    prefix = f"{PROJECT}:"
    config = {k[len(prefix) :]: v for k, v in stack.items() if k.startswith(prefix)}
    run = run_program(config, aws_region=stack["aws:region"])
    assert run.error is None, run.error
    clusters = run.of_type("eks:index:Cluster")
    assert len(clusters) == 2
    assert sorted(p.inputs["region"] for p in run.of_type("pulumi:providers:aws")) == ["us-east-1", "us-west-2"]
