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
    # Not declared: a default in Pulumi.yaml would reach the program as if the stack had set it,
    # and next to istioRevisions a set istioVersion names the unrevisioned release.
    assert "istioVersion" not in declared and spec.istio_version == versions.DEFAULT_ISTIO_VERSION
    assert declared["deploySamples"]["default"] is spec.deploy_samples is False
    assert all(entry["type"] and entry["description"] for entry in declared.values())
