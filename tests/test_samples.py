"""Sample workloads under mocks, and `verify` reading what the program really exports."""

from __future__ import annotations

import json

import pytest

from tests.harness import cached_run, resolve
from tests.helpers import mesh_config
from verify.cli import targets_from_outputs


@pytest.mark.parametrize("count", [2, 6])
def test_samples_in_every_cluster_with_its_own_version(count):
    run = cached_run(mesh_config(count, deploySamples=True))
    assert run.error is None, run.error
    for i in range(count):
        c, version = f"c{i}", f"v{i + 1}"
        own = run.one("pulumi:providers:kubernetes", f"{c}-k8s").urn
        ns = run.one("kubernetes:core/v1:Namespace", f"{c}-samples-namespace")
        assert ns.inputs["metadata"] == {"name": "sample", "labels": {"istio-injection": "enabled"}}
        # Pods created before istiod's injection webhook would run without sidecars.
        assert run.depends_on(ns, run.one("kubernetes:helm.sh/v3:Release", f"{c}-istio-istiod"))
        service = run.one("kubernetes:core/v1:Service", f"{c}-samples-helloworld").inputs
        assert service["metadata"]["name"] == "helloworld" and service["metadata"]["namespace"] == "sample"
        assert service["spec"] == {"ports": [{"port": 5000, "name": "http"}], "selector": {"app": "helloworld"}}
        hello = run.one("kubernetes:apps/v1:Deployment", f"{c}-samples-helloworld")
        assert hello.inputs["metadata"]["name"] == f"helloworld-{version}"
        template = hello.inputs["spec"]["template"]
        assert template["metadata"]["labels"] == {"app": "helloworld", "version": version}
        container = template["spec"]["containers"][0]
        assert {"name": "SERVICE_VERSION", "value": version} in container["env"]
        assert ":" in container["image"] and not container["image"].endswith(":latest")
        sleep = run.one("kubernetes:apps/v1:Deployment", f"{c}-samples-sleep").inputs
        assert sleep["metadata"]["name"] == "sleep" and sleep["spec"]["template"]["spec"]["containers"][0][
            "image"
        ].startswith("docker.io/curlimages/curl:")
        for r in run.descendants(run.one("istio-eks-mesh:samples:SampleWorkloads", f"{c}-samples")):
            assert r.provider_urn == own
    versions = {resolve(run.exports["clusters"])[0][f"c{i}"]["sampleVersion"] for i in range(count)}
    assert len(versions) == count


def test_no_samples_unless_asked(two_cluster_run):
    assert two_cluster_run.of_type("istio-eks-mesh:samples:SampleWorkloads") == []
    assert all("sampleVersion" not in entry for entry in resolve(two_cluster_run.exports["clusters"])[0].values())


def test_verify_reads_the_outputs_the_program_exports():
    run = cached_run(mesh_config(2, deploySamples=True))
    exported = json.loads(json.dumps({"clusters": resolve(run.exports["clusters"])[0]}))
    targets = targets_from_outputs(exported)
    assert [(t.name, t.sample_version) for t in targets] == [("c0", "v1"), ("c1", "v2")]
    assert all(t.kubeconfig["users"][0]["user"]["exec"]["command"] == "aws" for t in targets)
