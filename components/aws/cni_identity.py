"""vpc-cni's own IAM role, by EKS Pod Identity: the role (AmazonEKS_CNI_Policy), the EKS Pod
Identity Agent add-on and the association of the role with vpc-cni's ServiceAccount
(`kube-system/aws-node`).

EKS Pod Identity rather than IRSA: pulumi-eks makes the vpc-cni add-on inside `eks.Cluster` and
takes only a `serviceAccountRoleArn` for it (nodejs/eks/addons/cni-addon.ts), so an IRSA role,
whose trust names the cluster's OIDC provider (made by that same `eks.Cluster`), would be an input
of what it depends on: a cycle. A Pod Identity role trusts the EKS service
(`pods.eks.amazonaws.com`, docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html), and the
association is a resource of its own, made after the cluster and before the nodes, so every
aws-node pod (created when its node joins) is given the role. "The Amazon VPC CNI plugin also
supports Amazon EKS Pod Identities" (docs.aws.amazon.com/eks/latest/userguide/cni-iam-role.html).
The agent runs on the host network and exchanges the token with the node role's
`eks-auth:AssumeRoleForPodIdentity` (AmazonEKSWorkerNodePolicy; EKS user guide, pod-id-agent-setup).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.addons import RESOLVE_CONFLICTS

AGENT_ADDON = "eks-pod-identity-agent"
CNI_POLICY = "AmazonEKS_CNI_Policy"


@dataclass
class VpcCniIdentityArgs:
    cluster_name: pulumi.Input[str]
    agent_version: pulumi.Input[str]
    partition: pulumi.Input[str]


class VpcCniIdentity(pulumi.ComponentResource):
    """vpc-cni's role and what gives it to the aws-node pods; depend on the component to wait for all."""

    role: aws.iam.Role

    def __init__(self, name: str, args: VpcCniIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:cni:VpcCniIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "pods.eks.amazonaws.com"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                }
            ],
        }
        self.role = aws.iam.Role(f"{name}-role", assume_role_policy=json.dumps(trust), opts=child)
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-policy",
            role=self.role.name,
            policy_arn=pulumi.Output.concat("arn:", args.partition, ":iam::aws:policy/", CNI_POLICY),
            opts=child,
        )
        aws.eks.Addon(
            f"{name}-agent",
            cluster_name=args.cluster_name,
            addon_name=AGENT_ADDON,
            addon_version=args.agent_version,
            resolve_conflicts_on_create=RESOLVE_CONFLICTS,
            resolve_conflicts_on_update=RESOLVE_CONFLICTS,
            opts=child,
        )
        # The role has its rights before any pod is given it.
        aws.eks.PodIdentityAssociation(
            f"{name}-association",
            cluster_name=args.cluster_name,
            namespace="kube-system",
            service_account="aws-node",
            role_arn=self.role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
        )
        self.register_outputs({"roleArn": self.role.arn})
