"""AWS Load Balancer Controller in one cluster: its IAM role (IRSA) and its official Helm chart.

It turns the east-west gateway's LoadBalancer Service into an NLB, and its finalizer
(`service.k8s.aws/resources`) makes deleting that Service wait until the NLB, its ENIs and security
groups are gone. That only works while the controller runs, which is why the gateway depends on
this component: `pulumi destroy` removes the gateway first, waits, then the controller.

The IAM policy grants what the controller needs for NLBs from Services. It follows the
controller's published policy, scoped tighter: it may create load balancers, target groups and
security groups only with the tag `elbv2.k8s.aws/cluster=<this cluster>`, change or delete, add
listeners to and register targets with only those carrying that tag with this cluster's name (so
one cluster's controller cannot touch another cluster's load balancers or targets), and edit
security group rules only inside this cluster's VPC. One gap remains: modifying and deleting NLB
listeners, which carry no ownership tag to condition on. The ALB
Ingress extras (WAF, Shield, Cognito, ACM) are left out: this program creates no Ingress.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.model import versions
from components.model.spec import CLUSTER_TAG, ClusterSpec, helm_chart

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"

_DESCRIBE = [
    *(
        f"ec2:{a}"
        for a in (
            "DescribeAccountAttributes",
            "DescribeAddresses",
            "DescribeAvailabilityZones",
            "DescribeInternetGateways",
            "DescribeVpcs",
            "DescribeVpcPeeringConnections",
            "DescribeSubnets",
            "DescribeSecurityGroups",
            "DescribeInstances",
            "DescribeNetworkInterfaces",
            "DescribeTags",
            "DescribeRouteTables",
            "GetCoipPoolUsage",
            "DescribeCoipPools",
            "GetSecurityGroupsForVpc",
            "DescribeIpamPools",
        )
    ),
    *(
        f"elasticloadbalancing:{a}"
        for a in (
            "DescribeLoadBalancers",
            "DescribeLoadBalancerAttributes",
            "DescribeListeners",
            "DescribeListenerCertificates",
            "DescribeSSLPolicies",
            "DescribeRules",
            "DescribeTargetGroups",
            "DescribeTargetGroupAttributes",
            "DescribeTargetHealth",
            "DescribeTags",
            "DescribeTrustStores",
            "DescribeListenerAttributes",
            "DescribeCapacityReservation",
        )
    ),
]
_TAGGED_ELB = [
    f"elasticloadbalancing:{a}"
    for a in (
        "ModifyLoadBalancerAttributes",
        "SetIpAddressType",
        "SetSecurityGroups",
        "SetSubnets",
        "DeleteLoadBalancer",
        "ModifyTargetGroup",
        "ModifyTargetGroupAttributes",
        "DeleteTargetGroup",
        "ModifyListenerAttributes",
        "ModifyCapacityReservation",
        "ModifyIpPools",
    )
]


def _allow(actions, resource="*", condition=None) -> dict:
    statement = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def _owned(cluster_name: str) -> tuple[dict, dict, dict]:
    """Conditions: a request tagging with this cluster, a resource tagged with it, and changing tags
    of an owned resource but never the ownership tag itself."""
    tagged_request = {"StringEquals": {f"aws:RequestTag/{CLUSTER_TAG}": cluster_name}}
    tagged_resource = {"StringEquals": {f"aws:ResourceTag/{CLUSTER_TAG}": cluster_name}}
    retag_owned = {"Null": {f"aws:RequestTag/{CLUSTER_TAG}": "true"}, **tagged_resource}
    return tagged_request, tagged_resource, retag_owned


def _security_group_statements(partition: str, cluster_name: str, vpc_arn: str) -> list[dict]:
    sg = f"arn:{partition}:ec2:*:*:security-group/*"
    _, tagged_resource, retag_owned = _owned(cluster_name)
    return [
        _allow(
            ["iam:CreateServiceLinkedRole"],
            condition={"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        ),
        _allow(_DESCRIBE),
        _allow(["ec2:CreateSecurityGroup"]),
        # Rules on the node security group for NLB traffic, and on its own groups.
        _allow(
            ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            sg,
            {"ArnEquals": {"ec2:Vpc": vpc_arn}},
        ),
        _allow(
            ["ec2:CreateTags"],
            sg,
            {
                "StringEquals": {
                    "ec2:CreateAction": "CreateSecurityGroup",
                    f"aws:RequestTag/{CLUSTER_TAG}": cluster_name,
                }
            },
        ),
        _allow(["ec2:CreateTags", "ec2:DeleteTags"], sg, retag_owned),
        _allow(["ec2:DeleteSecurityGroup"], condition=tagged_resource),
    ]


def _load_balancer_statements(partition: str, cluster_name: str) -> list[dict]:
    elb = f"arn:{partition}:elasticloadbalancing:*:*"
    balancers = [f"{elb}:targetgroup/*/*", f"{elb}:loadbalancer/net/*/*", f"{elb}:loadbalancer/app/*/*"]
    tagged_request, tagged_resource, retag_owned = _owned(cluster_name)
    listeners = [f"{elb}:listener/{kind}/*/*/*" for kind in ("net", "app")]
    listener_rules = [f"{elb}:listener-rule/{kind}/*/*/*" for kind in ("net", "app")]
    return [
        _allow(
            ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
            condition=tagged_request,
        ),
        # Listeners only on this cluster's load balancers. (Listener rules are ALB-only: none.)
        _allow(["elasticloadbalancing:CreateListener"], balancers[1:], tagged_resource),
        _allow(["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"], balancers, retag_owned),
        _allow(["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"], [*listeners, *listener_rules]),
        _allow(_TAGGED_ELB, condition=tagged_resource),
        _allow(
            ["elasticloadbalancing:AddTags"],
            balancers,
            {
                "StringEquals": {
                    "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"],
                    f"aws:RequestTag/{CLUSTER_TAG}": cluster_name,
                }
            },
        ),
        _allow(
            ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            f"{elb}:targetgroup/*/*",
            tagged_resource,
        ),
        # Listeners of its NLBs change with the Service's ports. The controller tags every
        # listener with the cluster tag (feature gate ListenerRulesTagging, on by default:
        # pkg/config/feature_gates.go, pkg/deploy/elbv2/listener_manager.go@v3.5.0) and
        # re-tags older ones before it modifies them.
        _allow(
            ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:DeleteListener"],
            f"{elb}:listener/net/*/*/*",
            tagged_resource,
        ),
    ]


def controller_policy(partition: str, cluster_name: str, vpc_arn: str) -> str:
    """The controller's IAM policy document (JSON) for one cluster."""
    statements = [
        *_security_group_statements(partition, cluster_name, vpc_arn),
        *_load_balancer_statements(partition, cluster_name),
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


def irsa_trust_policy(oidc_provider_arn: str, oidc_provider_url: str) -> str:
    """Lets only the controller's ServiceAccount assume the role, through the cluster's OIDC provider."""
    issuer = oidc_provider_url.removeprefix("https://")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
                            f"{issuer}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
    )


@dataclass
class LoadBalancerControllerArgs:
    cluster: ClusterSpec
    vpc_id: pulumi.Input[str]
    vpc_arn: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    # Pods need nodes: the release waits for the node group.
    node_group: pulumi.Resource
    # An https Helm repository or an oci:// registry path holding the chart (`eksChartRepository`).
    chart_repository: str = versions.EKS_CHART_REPOSITORY
    # The stack's tags, which the AWS provider's default tags cannot put on what the controller
    # creates (NLBs, target groups, listeners, security groups): it adds them itself.
    default_tags: Mapping[str, str] = field(default_factory=dict)


class LoadBalancerController(pulumi.ComponentResource):
    """The controller and its AWS permissions. What needs it (a LoadBalancer Service) depends on the
    whole component, so on destroy the role outlives the controller and the controller the Service."""

    def __init__(self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:load_balancer:LoadBalancerController", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        policy = aws.iam.Policy(
            f"{name}-policy",
            policy=pulumi.Output.all(partition, args.vpc_arn).apply(
                lambda v: controller_policy(v[0], args.cluster.eks_name, v[1])
            ),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_provider_url).apply(
                lambda v: irsa_trust_policy(v[0], v[1])
            ),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(f"{name}-policy", role=role.name, policy_arn=policy.arn, opts=child)

        k8s.helm.v3.Release(
            f"{name}-release",
            name="aws-load-balancer-controller",
            **helm_chart(args.chart_repository, "aws-load-balancer-controller"),
            version=versions.LOAD_BALANCER_CONTROLLER_CHART_VERSION,
            namespace=NAMESPACE,
            values={
                "clusterName": args.cluster.eks_name,
                "region": args.cluster.region,
                "vpcId": args.vpc_id,
                "serviceAccount": {
                    "create": True,
                    "name": SERVICE_ACCOUNT,
                    "annotations": {"eks.amazonaws.com/role-arn": role.arn},
                },
                # Without this the controller claims every new LoadBalancer Service in the cluster;
                # the east-west gateway asks for it explicitly by annotation.
                "enableServiceMutatorWebhook": False,
                # The policy grants no Shield or WAF calls (this program makes no ALB), and with the
                # lookups on the controller logs AccessDenied on every Service reconcile. The chart
                # passes the flags only for booleans (`kindIs "bool"`).
                "enableShield": False,
                "enableWaf": False,
                "enableWafv2": False,
                # `--default-tags`, which the chart writes only when the map is non-empty.
                "defaultTags": dict(args.default_tags),
            },
            # The role must carry its policy before the controller first calls AWS. The release
            # name is fixed: a replacement uninstalls the old release first.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[args.node_group, attachment], delete_before_replace=True
            ),
        )
        self.register_outputs({"roleArn": role.arn})
