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


def test_the_reference_and_pulumi_yaml_are_made_from_the_schema_as_committed():
    from components.config import schema

    assert (ROOT / "docs/reference/config.md").read_text() == schema.reference_markdown()
    assert (ROOT / "Pulumi.yaml").read_text() == schema.project_file()


def test_every_key_the_program_reads_is_in_the_schema_and_declared_in_pulumi_yaml():
    from components.config import clusters, connectivity, eks, schema, sources

    module_keys = {*eks.TOP_LEVEL_KEYS, *connectivity.TOP_LEVEL_KEYS, *sources.SOURCE_KEYS}
    assert module_keys <= set(schema.TOP_LEVEL_KEYS)
    assert {k.top for k in schema.CLUSTER_KEYS} == set(clusters.CLUSTER_FIELDS)
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    declared = {**project["config"], **project["template"]["config"]}
    assert set(declared) == set(schema.TOP_LEVEL_KEYS)
    assert all(entry["description"] for entry in declared.values())
    # A typed key without a default would be required of every stack: none is declared so.
    assert all("default" in entry for entry in project["config"].values())


def test_the_outputs_reference_names_every_stack_output():
    from components.config import schema
    from tests.harness import cached_run, resolve
    from tests.helpers import mesh_config

    run = cached_run(mesh_config(2))
    assert {o.key.split(".")[0] for o in schema.OUTPUTS} == set(run.exports)
    per_cluster = {o.key.split(".")[2] for o in schema.OUTPUTS if o.key.startswith("clusters.")}
    clusters, _ = resolve(run.exports["clusters"])
    # sampleVersion comes with deploySamples alone.
    assert all(
        set(fields) <= per_cluster and per_cluster - set(fields) <= {"sampleVersion"} for fields in clusters.values()
    )


def test_every_output_the_next_run_reads_back_is_exported_described_and_read():
    from components.config import schema
    from components.config.stack import last_deployment_from_outputs
    from components.model.deployed import LastDeployment
    from components.plan.outputs import RECORDED
    from tests.harness import cached_run
    from tests.helpers import mesh_config

    described = {o.key.split(".")[0] for o in schema.OUTPUTS}
    assert set(RECORDED) <= described and set(RECORDED) <= set(cached_run(mesh_config(2)).exports)
    # Each record alone changes what the next run knows: none is exported for nothing.
    sample = {
        "clusters": {"a": {"region": "us-east-1"}},
        "clusterCreators": {"a": "arn:aws:iam::111122223333:role/x"},
        "addonVersions": {"a": {"kubernetesVersion": "1.35"}},
        "vpcCidrs": {"a": "10.0.0.0/16"},
        "vpcIpamPools": {"a": "ipam-pool-0123456789abcdef0"},
        "sameNetworkPairs": [["a", "b"]],
        "readerTokens": {"a": {"generation": 1, "createdAt": "2026-12-01T00:00:00+00:00"}},
        "mtls": "STRICT",
    }
    assert tuple(sample) == RECORDED
    assert all(last_deployment_from_outputs({key: value}) != LastDeployment() for key, value in sample.items())
