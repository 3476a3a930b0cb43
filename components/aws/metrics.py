"""Metrics of one region's clusters in Amazon Managed Service for Prometheus (`metrics: amp`).

Per region a workspace, unless `metricsWorkspaces` names one (never created, changed or deleted
here); per cluster an agentless managed collector (`aws.amp.Scraper`) in the cluster's private
subnets, with a security group of its own; and per workspace a rule group namespace with the mesh's
alerts (components/plan/alert_rules.py). Nothing runs in the clusters and nothing listens on a
public address: the collector reaches the pods and the API server's private endpoint through its
network interfaces in the VPC, and writes to the workspace inside AWS
(docs.aws.amazon.com/prometheus/latest/userguide/AMP-collector.html). The cluster, its collector and
the workspace share a region (AMP-collector-how-to.html, "Scraper limitations").

Kubernetes access: the clusters authenticate by access entries only (`authentication_mode` API,
components/aws/cluster.py), for which AMP creates the collector's access entry and its access policy
itself (AMP-collector-how-to.html, "Configure Amazon EKS for scraper access with access entries";
announced 2024-05, aws.amazon.com/about-aws/whats-new/2024/05/amazon-managed-service-prometheus-
collector-eks-access-management-controls/). So the program adds neither an access entry (EKS refuses
a second entry for one principal: EKS API reference, CreateAccessEntry `principalArn`) nor the
ClusterRole and binding for `aps-collector-user`, which AWS documents only for `aws-auth` clusters.

The collector's security group sends only to the cluster security group, which EKS puts on the
control plane's network interfaces and on every managed node (docs.aws.amazon.com/eks/latest/
userguide/sec-group-reqs.html), on 443 (API server), 15014 (istiod) and 15020 (merged proxy
metrics); that group admits the collector on those ports only. Terraform removes the allow-all
egress rule AWS puts on a new group (registry.terraform.io aws_security_group, "egress").

Destroy: a collector depends on the cluster, subnets, security groups and rules it uses (its inputs
and `depends_on`), so `pulumi destroy` deletes it first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.model.spec import ClusterSpec
from components.plan.alert_rules import rules_document
from components.plan.scrape_config import ISTIOD_PORT, MERGED_METRICS_PORT, scrape_configuration

# API server, istiod's monitoring port, every proxy's merged metrics.
COLLECTOR_PORTS = (443, ISTIOD_PORT, MERGED_METRICS_PORT)


@dataclass
class CollectedCluster:
    """What a collector reads of one cluster."""

    cluster: ClusterSpec
    cluster_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    # EKS's cluster security group: control plane interfaces and managed nodes.
    cluster_security_group_id: pulumi.Input[str]


@dataclass
class RegionMetricsArgs:
    region: str
    mesh_id: str
    clusters: list[CollectedCluster] = field(default_factory=list)
    # A workspace the user runs in the region (`metricsWorkspaces`), by ARN; None makes one.
    workspace_arn: str | None = None
    # The mesh keeps callers local first (`trafficPolicy.localityLoadBalancing`, default on): then
    # requests leaving the region mean locality failover, and the workspace gets that alert.
    locality_first: bool = True


def named_workspace_endpoint(arn: str) -> str:
    """The Prometheus endpoint of a workspace given by ARN, as AWS spells it for the workspaces it
    makes (`prometheusEndpoint`: https://aps-workspaces.<region>.<dns suffix>/workspaces/<id>/)."""
    _, partition, _, region, _, resource = arn.split(":", 5)
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://aps-workspaces.{region}.{suffix}/workspaces/{resource.split('/', 1)[1]}/"


class RegionMetrics(pulumi.ComponentResource):
    """One region's workspace (or the named one) and its clusters' collectors."""

    # The workspace's Prometheus endpoint (query with `api/v1/query` under it, SigV4-signed).
    endpoint: pulumi.Output[str]
    collectors: dict[str, aws.amp.Scraper]

    def __init__(self, name: str, args: RegionMetricsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:metrics:RegionMetrics", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.workspace_arn:
            workspace_arn: pulumi.Input[str] = args.workspace_arn
            workspace_id: pulumi.Input[str] = args.workspace_arn.rsplit("/", 1)[1]
            self.endpoint = pulumi.Output.from_input(named_workspace_endpoint(args.workspace_arn))
        else:
            workspace = aws.amp.Workspace(f"{name}-workspace", alias=f"{args.mesh_id}-{args.region}", opts=child)
            workspace_arn, workspace_id, self.endpoint = workspace.arn, workspace.id, workspace.prometheus_endpoint
        # The mesh's alerts, in a namespace named after the mesh (a DNS label, which AMP's namespace names
        # admit) so a shared workspace keeps other meshes' rules apart; deleted on destroy, the named
        # workspace itself kept.
        aws.amp.RuleGroupNamespace(
            f"{name}-alerts",
            name=args.mesh_id,
            workspace_id=workspace_id,
            data=rules_document(args.region, [c.cluster.name for c in args.clusters], args.locality_first),
            opts=child,
        )
        self.collectors = {c.cluster.name: self._collector(c, workspace_arn) for c in args.clusters}
        self.register_outputs({"endpoint": self.endpoint})

    def _collector(self, target: CollectedCluster, workspace_arn: pulumi.Input[str]) -> aws.amp.Scraper:
        c, child = target.cluster, pulumi.ResourceOptions(parent=self)
        name = f"{c.name}-metrics-collector"
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=target.vpc_id,
            description=f"Managed Prometheus collector of {c.eks_name}: to the cluster's metrics ports only",
            opts=child,
        )
        rules: list[pulumi.Resource] = []
        for port in COLLECTOR_PORTS:
            common = {"ip_protocol": "tcp", "from_port": port, "to_port": port, "opts": child}
            rules.append(
                aws.vpc.SecurityGroupEgressRule(
                    f"{name}-to-{port}",
                    security_group_id=group.id,
                    referenced_security_group_id=target.cluster_security_group_id,
                    description="Metrics and API server of the cluster",
                    **common,
                )
            )
            rules.append(
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-from-collector-{port}",
                    security_group_id=target.cluster_security_group_id,
                    referenced_security_group_id=group.id,
                    description="The managed Prometheus collector",
                    **common,
                )
            )
        return aws.amp.Scraper(
            name,
            alias=c.eks_name,
            source=aws.amp.ScraperSourceArgs(
                eks=aws.amp.ScraperSourceEksArgs(
                    cluster_arn=target.cluster_arn,
                    subnet_ids=target.private_subnet_ids,
                    security_group_ids=[group.id],
                )
            ),
            destination=aws.amp.ScraperDestinationArgs(
                amp=aws.amp.ScraperDestinationAmpArgs(workspace_arn=workspace_arn)
            ),
            scrape_configuration=scrape_configuration(c.name, c.network),
            # Scraping works from the start, and on destroy the collector goes before its rules.
            opts=pulumi.ResourceOptions(parent=self, depends_on=rules),
        )
