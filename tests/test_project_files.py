"""Pulumi.yaml agrees with the program (the stack files: tests/test_environments.py)."""

from __future__ import annotations

import yaml

from components.config.parse import TOP_LEVEL_KEYS, parse_mesh_spec
from components.model import versions
from components.model.spec import PROJECT
from tests.harness import ROOT


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
