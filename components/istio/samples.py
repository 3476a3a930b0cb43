"""Sample workloads that prove the mesh works (`deploySamples: true`).

In every cluster: namespace `sample` with sidecar injection, the `helloworld` Service, a
`helloworld-<version>` Deployment answering with that cluster's version (v1, v2, … in cluster
order), and a `sleep` Deployment (curl) to call it from. The Service exists in every cluster, so
each istiod merges the endpoints of all clusters and a call from any cluster can reach every
version (the nearest first, under the mesh's traffic policy). In the clusters whose API server
istiod reads config from (primaries), helloworld's DestinationRule with a subset per cluster and
per network. `python -m verify` checks the calls; `--drill failover` the failover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.model import versions

NAMESPACE = "sample"
SAMPLE_HOST = f"helloworld.{NAMESPACE}.svc.cluster.local"


@dataclass
class SampleWorkloadsArgs:
    version: str
    # Pods must be created after the injection webhook exists, or they start without sidecars:
    # the istiod release(s) that serve this cluster.
    istiod: list[pulumi.Resource]
    # helloworld's DestinationRule (subsets per cluster and network, the mesh's traffic policy), in
    # the clusters whose API server istiod reads config from (primaries); None elsewhere.
    destination_rule: dict[str, Any] | None = None
    # Where helloworld and curl come from (through an image cache, or Docker Hub).
    helloworld_image: str = versions.HELLOWORLD_IMAGE
    curl_image: str = versions.CURL_IMAGE


class SampleWorkloads(pulumi.ComponentResource):
    def __init__(self, name: str, args: SampleWorkloadsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:samples:SampleWorkloads", name, None, opts)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAMESPACE, labels={"istio-injection": "enabled"}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.istiod),
        )
        ns = namespace.metadata.name
        child = pulumi.ResourceOptions(parent=self)

        k8s.core.v1.Service(
            f"{name}-helloworld",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="helloworld", namespace=ns, labels={"app": "helloworld", "service": "helloworld"}
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                ports=[k8s.core.v1.ServicePortArgs(port=5000, name="http")],
                selector={"app": "helloworld"},
            ),
            opts=child,
        )
        self._deployment(
            f"{name}-helloworld",
            f"helloworld-{args.version}",
            ns,
            {"app": "helloworld", "version": args.version},
            k8s.core.v1.PodSpecArgs(
                containers=[
                    k8s.core.v1.ContainerArgs(
                        name="helloworld",
                        image=args.helloworld_image,
                        # The app answers "Hello version: $SERVICE_VERSION".
                        env=[k8s.core.v1.EnvVarArgs(name="SERVICE_VERSION", value=args.version)],
                        ports=[k8s.core.v1.ContainerPortArgs(container_port=5000)],
                        resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "100m"}),
                    )
                ]
            ),
        )
        if args.destination_rule is not None:
            k8s.apiextensions.CustomResource(
                f"{name}-helloworld-rule",
                api_version="networking.istio.io/v1",
                kind="DestinationRule",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="helloworld", namespace=ns),
                spec=args.destination_rule,
                opts=child,
            )
        k8s.core.v1.ServiceAccount(
            f"{name}-sleep", metadata=k8s.meta.v1.ObjectMetaArgs(name="sleep", namespace=ns), opts=child
        )
        self._deployment(
            f"{name}-sleep",
            "sleep",
            ns,
            {"app": "sleep"},
            k8s.core.v1.PodSpecArgs(
                service_account_name="sleep",
                termination_grace_period_seconds=0,
                containers=[
                    k8s.core.v1.ContainerArgs(name="sleep", image=args.curl_image, command=["/bin/sleep", "infinity"])
                ],
            ),
        )
        self.register_outputs({"version": args.version})

    def _deployment(
        self, resource_name: str, name: str, namespace: pulumi.Input[str], labels: dict, pod: k8s.core.v1.PodSpecArgs
    ) -> None:
        k8s.apps.v1.Deployment(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=k8s.core.v1.PodTemplateSpecArgs(metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels), spec=pod),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
