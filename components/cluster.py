"""One EKS cluster: control plane, a managed node group, and a Kubernetes provider for it.

The control plane's endpoint is public and private: nodes and pods use the private one, operators
and the other clusters' istiod the public one, which accepts only `public_access_cidrs` (the
operators' CIDRs plus the NAT addresses of every VPC in the mesh). Access is by EKS access entries
(`authentication_mode` API); the identity that runs `pulumi up` becomes cluster admin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from .spec import ClusterSpec

NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)


@dataclass
class EksClusterArgs:
    cluster: ClusterSpec
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[list[str]]
    private_subnet_ids: pulumi.Input[list[str]]
    public_access_cidrs: pulumi.Input[list[str]]
    # The cluster's network (the whole component): the nodes join only through its NAT routes, and
    # everything inside the cluster needs it to clean up on destroy (see `provider`).
    network: pulumi.Resource | None = None
    # AWS CLI profile written into the kubeconfig; None uses the caller's default credentials.
    aws_profile: str | None = None


def kubeconfig_document(name: str, server: str, ca_data: str, user: dict) -> dict:
    """A kubeconfig with one cluster, context and user, all called `name`."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [{"name": name, "user": user}],
    }


def build_kubeconfig(
    eks_name: str, region: str, endpoint: str, ca_data: str, aws_profile: str | None = None
) -> str:
    """A kubeconfig that authenticates with `aws eks get-token`, as JSON (valid YAML)."""
    exec_config: dict = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "aws",
        "args": ["--region", region, "eks", "get-token", "--cluster-name", eks_name, "--output", "json"],
        "interactiveMode": "Never",
    }
    if aws_profile:
        exec_config["env"] = [{"name": "AWS_PROFILE", "value": aws_profile}]
    return json.dumps(kubeconfig_document(eks_name, endpoint, ca_data, {"exec": exec_config}), indent=2)


class EksCluster(pulumi.ComponentResource):
    """EKS control plane (pulumi-eks), OIDC provider, one managed node group in the private subnets."""

    endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_provider_url: pulumi.Output[str]
    provider: k8s.Provider
    node_group: eks.ManagedNodeGroup

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:cluster:EksCluster", name, None, opts)
        spec = args.cluster
        child = pulumi.ResourceOptions(parent=self)

        control_plane = eks.Cluster(
            f"{name}-eks",
            name=spec.eks_name,
            version=spec.kubernetes_version,
            vpc_id=args.vpc_id,
            public_subnet_ids=args.public_subnet_ids,
            private_subnet_ids=args.private_subnet_ids,
            endpoint_public_access=True,
            endpoint_private_access=True,
            public_access_cidrs=args.public_access_cidrs,
            authentication_mode=eks.AuthenticationMode.API,
            create_oidc_provider=True,
            skip_default_node_group=True,
            node_associate_public_ip_address=False,
            opts=child,
        )

        node_role, attachments = self._node_role(name)
        network = [args.network] if args.network is not None else []

        ng = spec.node_group
        self.node_group = eks.ManagedNodeGroup(
            f"{name}-nodes",
            cluster=control_plane,
            node_role=node_role,
            subnet_ids=args.private_subnet_ids,
            instance_types=list(ng.instance_types),
            capacity_type=ng.capacity_type,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=ng.desired_size, min_size=ng.min_size, max_size=ng.max_size
            ),
            # Without its policies the node role cannot join nodes, and without NAT routes the
            # nodes cannot reach the EKS and ECR endpoints: both must exist first (and outlive
            # the nodes on destroy).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*attachments, *network]),
        )

        eks_cluster = control_plane.eks_cluster
        self.endpoint = eks_cluster.endpoint
        self.certificate_authority = eks_cluster.certificate_authority.data
        # The security group EKS attaches to the control plane and to managed nodes.
        self.cluster_security_group_id = eks_cluster.vpc_config.cluster_security_group_id
        self.oidc_provider_arn = control_plane.oidc_provider_arn
        self.oidc_provider_url = control_plane.oidc_provider_url
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.endpoint, self.certificate_authority).apply(
                lambda v: build_kubeconfig(spec.eks_name, spec.region, v[0], v[1], args.aws_profile)
            )
        )
        # Every Kubernetes object of this cluster goes through this provider, so on destroy each is
        # deleted before the provider, and the provider before what it depends on: the nodes (pods
        # must terminate), the control plane, and the whole network (the load balancer controller
        # reaches the AWS APIs through the NAT gateway and the subnets' routes while it deletes the
        # east-west NLB). Nothing a cluster needs to clean up can go in the first wave of a destroy.
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[control_plane, self.node_group, *network]),
        )
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "certificateAuthority": self.certificate_authority,
                "kubeconfig": self.kubeconfig,
                "oidcProviderArn": self.oidc_provider_arn,
            }
        )

    def _node_role(self, name: str) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
        """The nodes' IAM role with the AWS-managed policies a node needs to join and pull images."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
            opts=child,
        )
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}",
                role=role.name,
                policy_arn=pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", policy),
                opts=child,
            )
            for policy in NODE_POLICIES
        ]
        return role, attachments
