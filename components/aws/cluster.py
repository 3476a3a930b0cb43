"""One EKS cluster: control plane, a managed node group, its managed add-ons, admin access entries,
and a Kubernetes provider for it.

The control plane's endpoint is public and private: nodes and pods use the private one, operators
and the other clusters' istiod the public one, which accepts only `public_access_cidrs` (the
operators' CIDRs plus the NAT addresses of every VPC in the mesh). Access is by EKS access entries
(`authentication_mode` API): the identity that creates the cluster is admin (EKS's own entry), and
each of `admins` gets an entry with AmazonEKSClusterAdminPolicy. The upgrade policy is the
cluster's `supportType` (pulumi-eks would default to EXTENDED, the extra-cost one).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components.aws.addons import ClusterAddons, ClusterAddonsArgs, cluster_addon_options, resolve_addon_versions
from components.aws.cni_identity import CNI_POLICY, VpcCniIdentity, VpcCniIdentityArgs
from components.aws.transit import cidr_slug
from components.model.kubeconfig import kubeconfig_document
from components.model.spec import ClusterSpec, NodeGroupSpec
from components.model.versions import POD_IDENTITY_AGENT_ADDON
from components.plan.addon_versions import AskEks

NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    CNI_POLICY,
    "AmazonEC2ContainerRegistryReadOnly",
)
ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"


@dataclass(frozen=True)
class KubeconfigCredentials:
    """How the kubeconfig's `aws eks get-token` authenticates; all None uses the caller's defaults."""

    # Passed as --profile, which (unlike AWS_PROFILE) ambient AWS_ACCESS_KEY_ID cannot override.
    profile: str | None = None
    # Passed as --role-arn: the token is signed as this role (it needs an access entry).
    role_arn: str | None = None
    # The stack's shared config and credentials files, where the profile may live, as the AWS CLI
    # takes them (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE: one file each).
    config_file: str | None = None
    credentials_file: str | None = None


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
    credentials: KubeconfigCredentials = KubeconfigCredentials()
    # IAM principal ARNs made cluster admins (access entries).
    admins: tuple[str, ...] = ()
    # Where each managed add-on's version comes from (components/plan/addon_versions.py).
    addon_versions: Mapping[str, str | AskEks] = field(default_factory=dict)
    # Private mode: the CIDRs that may reach the private endpoint (meshCidr, operatorCidrs), and
    # what their traffic needs (the Transit Gateway attachment and routes); no public endpoint.
    private_api_sources: tuple[str, ...] | None = None
    private_paths: list[pulumi.Resource] = field(default_factory=list)


def build_kubeconfig(
    eks_name: str,
    region: str,
    endpoint: str,
    ca_data: str,
    credentials: KubeconfigCredentials = KubeconfigCredentials(),
) -> str:
    """A kubeconfig that authenticates with `aws eks get-token`, as JSON (valid YAML)."""
    args = ["--region", region, "eks", "get-token", "--cluster-name", eks_name, "--output", "json"]
    if credentials.role_arn:
        args += ["--role-arn", credentials.role_arn]
    if credentials.profile:
        args += ["--profile", credentials.profile]
    exec_config: dict = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "aws",
        "args": args,
        "interactiveMode": "Never",
    }
    env = [
        (name, path)
        for name, path in (
            ("AWS_CONFIG_FILE", credentials.config_file),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials.credentials_file),
        )
        if path
    ]
    if env:
        exec_config["env"] = [{"name": name, "value": path} for name, path in env]
    return json.dumps(kubeconfig_document(eks_name, endpoint, ca_data, {"exec": exec_config}), indent=2)


class EksCluster(pulumi.ComponentResource):
    """EKS control plane (pulumi-eks), OIDC provider, its managed node groups in the private subnets."""

    endpoint: pulumi.Output[str]
    # The EKS cluster's ARN, for the metrics collector.
    arn: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_provider_url: pulumi.Output[str]
    provider: k8s.Provider
    # The first of `node_groups`, which later steps wait for (a node to run on).
    node_group: eks.ManagedNodeGroup
    node_groups: list[eks.ManagedNodeGroup]
    # The nodes' IAM role, for what the mesh adds to it (an image cache's pull-through rights).
    node_role: aws.iam.Role
    # The security group EKS gives the control plane and managed nodes (peers admit it).
    cluster_security_group_id: pulumi.Output[str]
    # The version of each managed add-on, as given to EKS.
    addon_versions: dict[str, pulumi.Input[str]]

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:cluster:EksCluster", name, None, opts)
        spec = args.cluster
        child = pulumi.ResourceOptions(parent=self)

        self.addon_versions = resolve_addon_versions(args.addon_versions, spec.kubernetes_version, parent=self)
        control_plane = self._control_plane(name, args)
        # vpc-cni's ENI rights stay on the node role unless vpc-cni has only its own (config/cni_identity.py).
        node_role, attachments = self._node_role(name, cni=spec.eks.vpc_cni_role != "podIdentity")
        network = [args.network] if args.network is not None else []
        identity = self._vpc_cni_identity(name, spec, control_plane)

        # Every group waits for the same things; the first is the one later steps wait for. With
        # vpc-cni's own role, its association: each aws-node pod is given the role when it is
        # created, as its node joins.
        waits = [control_plane, *attachments, *network, *identity]
        self.node_groups = [
            self._node_group(name, group, control_plane, node_role, args, waits) for group in spec.node_groups
        ]
        self.node_group = self.node_groups[0]

        eks_cluster = control_plane.eks_cluster
        ClusterAddons(
            f"{name}-addons",
            ClusterAddonsArgs(
                cluster_name=eks_cluster.name,
                coredns_version=self.addon_versions["coredns"],
                node_group=self.node_group,
            ),
            opts=child,
        )
        admin_access = self._admin_access(name, eks_cluster.name, args.admins)
        self.endpoint = eks_cluster.endpoint
        self.arn = eks_cluster.arn
        self.certificate_authority = eks_cluster.certificate_authority.data
        # The security group EKS attaches to the control plane and to managed nodes.
        self.cluster_security_group_id = eks_cluster.vpc_config.cluster_security_group_id
        self.oidc_provider_arn = control_plane.oidc_provider_arn
        self.oidc_provider_url = control_plane.oidc_provider_url
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.endpoint, self.certificate_authority).apply(
                lambda v: build_kubeconfig(spec.eks_name, spec.region, v[0], v[1], args.credentials)
            )
        )
        # Every Kubernetes object of this cluster goes through this provider, so on destroy each is
        # deleted before the provider, and the provider before what it depends on: the nodes (pods
        # must terminate), the control plane, and the whole network (the load balancer controller
        # reaches the AWS APIs through the NAT gateway and the subnets' routes while it deletes the
        # east-west NLB). Nothing a cluster needs to clean up can go in the first wave of a destroy.
        # Nor the admins' access entries: a kubeconfig role needs its entry first, and whichever
        # admin runs `pulumi destroy` must still reach the cluster.
        private_access = self._private_access(name, args, control_plane)
        # Private mode: operators reach the endpoint over the Transit Gateway, through those rules.
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    control_plane,
                    *self.node_groups,
                    *network,
                    *admin_access,
                    *private_access,
                    *args.private_paths,
                ],
            ),
        )
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "certificateAuthority": self.certificate_authority,
                "kubeconfig": self.kubeconfig,
                "oidcProviderArn": self.oidc_provider_arn,
            }
        )

    def _node_group(
        self,
        name: str,
        group: NodeGroupSpec,
        control_plane: eks.Cluster,
        node_role: aws.iam.Role,
        args: EksClusterArgs,
        waits: list[pulumi.Resource],
    ) -> eks.ManagedNodeGroup:
        """One managed node group in the private subnets. `default` keeps the name the single group
        always had (`<cluster>-nodes`), so `nodeGroup` and a `nodeGroups` entry named default are the
        same resource."""
        protect = args.cluster.eks.protect if group.protect is None else group.protect
        resource_name = f"{name}-nodes" if group.name == "default" else f"{name}-nodes-{group.name}"
        template = self._launch_template(resource_name, group) if group.launch_template else None
        return eks.ManagedNodeGroup(
            resource_name,
            cluster=control_plane,
            node_role=node_role,
            subnet_ids=args.private_subnet_ids,
            instance_types=list(group.instance_types),
            capacity_type=group.capacity_type,
            # EKS picks the x86 standard AMI when none is named and then refuses Graviton types, and
            # accelerated types need their drivers' AMI (config/node_group.py). Plain x86 groups keep
            # EKS's default: `amiType` replaces a node group (ForceNew in terraform-provider-aws
            # internal/service/eks/node_group.go), so a deployed group keeps the one it was given.
            ami_type=group.ami_type,
            # ForceNew like the instance types (node_group.go): given only when set, so a deployed
            # group without it keeps EKS's 20 GiB and is not replaced. With a launch template the
            # disk is the template's (EKS refuses both: CreateNodegroup `diskSize`).
            disk_size=None if template else group.disk_size,
            # Its latest version: a change of the template is a new version, which EKS rolls onto
            # the nodes in place (UpdateNodegroupVersion, node_group.go). pulumi-eks sets `version`
            # to the cluster's only without a launch template (nodejs/eks/nodes/nodegroup.ts,
            # createManagedNodeGroupInternal), so it is given here: the nodes follow the control plane.
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            )
            if template
            else None,
            version=args.cluster.kubernetes_version if template else None,
            # The AMI release (config/node_release.py): in place, UpdateNodegroupVersion rolls the
            # nodes (release_version is not ForceNew, node_group.go); unset, EKS's is kept.
            release_version=group.release_version,
            # Both update in place (UpdateNodegroupConfig; not ForceNew in node_group.go); given only
            # when set, so a group without them is unchanged.
            labels=dict(group.labels) or None,
            taints=[aws.eks.NodeGroupTaintArgs(key=k, value=v or None, effect=e) for k, v, e in group.taints] or None,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=group.desired_size, min_size=group.min_size, max_size=group.max_size
            ),
            # Without its policies the node role cannot join nodes, and without NAT routes the
            # nodes cannot reach the EKS and ECR endpoints: both must exist first (and outlive
            # the nodes on destroy). The whole control plane component too: its vpc-cni and
            # kube-proxy add-ons, which pulumi-eks's managed node groups do not wait for.
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits, protect=protect or None),
        )

    def _launch_template(self, group_name: str, group: NodeGroupSpec) -> aws.ec2.LaunchTemplate:
        """The group's launch template: IMDSv2 only, with the group's hop limit (1 by default, so
        only the node itself, and hostNetwork pods such as vpc-cni's aws-node (amazon-vpc-cni-k8s
        config/master/aws-k8s-cni.yaml) and kube-proxy, reach
        IMDS; the AL2023 AMI's own default is 2, docs.aws.amazon.com/linux/al2023/ug/imdsv2.html),
        and the root volume when `diskSize` is set. No AMI, instance type or user data: EKS keeps
        choosing the AMI by `amiType` and `version` and bootstraps the nodes
        (docs.aws.amazon.com/eks/latest/userguide/launch-templates.html)."""
        disk = (
            [
                # The AL2023 EKS AMIs' root device (pulumi-eks nodejs/eks/nodes/nodegroup.ts uses the same).
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=group.disk_size, volume_type="gp3", delete_on_termination="true"
                    ),
                )
            ]
            if group.disk_size
            else None
        )
        return aws.ec2.LaunchTemplate(
            f"{group_name}-launch-template",
            description="istio-eks-mesh node group: IMDSv2 only, pods kept off IMDS",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=group.imds_hop_limit
            ),
            block_device_mappings=disk,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _control_plane(self, name: str, args: EksClusterArgs) -> eks.Cluster:
        spec = args.cluster
        return eks.Cluster(
            f"{name}-eks",
            name=spec.eks_name,
            version=spec.kubernetes_version,
            vpc_id=args.vpc_id,
            public_subnet_ids=args.public_subnet_ids,
            private_subnet_ids=args.private_subnet_ids,
            # Both change in place (UpdateClusterConfig), private mode turning the public one off.
            endpoint_public_access=args.private_api_sources is None,
            endpoint_private_access=True,
            public_access_cidrs=args.public_access_cidrs if args.private_api_sources is None else None,
            authentication_mode=eks.AuthenticationMode.API,
            create_oidc_provider=True,
            skip_default_node_group=True,
            node_associate_public_ip_address=False,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=spec.eks.support_type),
            **cluster_addon_options(self.addon_versions),
            # Both update in place (UpdateClusterConfig: docs.aws.amazon.com/eks/latest/userguide/
            # deletion-protection.html; terraform-provider-aws eks/cluster.go, `enabled_cluster_log_types`).
            # Protection is always explicit, so turning it off reaches EKS; log types only when listed
            # (an absent list is none, as before).
            deletion_protection=spec.eks.deletion_protection,
            **({"enabled_cluster_log_types": list(spec.eks.log_types)} if spec.eks.log_types else {}),
            # Added to a deployed cluster in place (AssociateEncryptionConfig), for good: removing it
            # forces replacement (terraform-provider-aws eks/cluster.go, ForceNewIfChange on
            # `encryption_config`), and config refuses that and a change of key on a deployed cluster.
            **({"encryption_config_key_arn": spec.eks.secrets_kms_key_arn} if spec.eks.secrets_kms_key_arn else {}),
            # Inherited by what pulumi-eks creates inside: the aws.eks.Cluster, its role and groups.
            # In private mode the endpoint (created, or turned private on a deployed cluster) waits
            # for the Transit Gateway paths, so operators and peer clusters lose the public endpoint
            # only once the private one is routed.
            opts=pulumi.ResourceOptions(parent=self, protect=spec.eks.protect or None, depends_on=args.private_paths),
        )

    def _private_access(self, name: str, args: EksClusterArgs, control_plane: eks.Cluster) -> list[pulumi.Resource]:
        """HTTPS to the private endpoint from each source, on the security group pulumi-eks makes for
        the control plane (`<name>-eksClusterSecurityGroup`, given to EKS as the cluster's additional
        group: nodejs/eks/cluster/cluster.ts@v4.3.0 `vpcConfig.securityGroupIds`), which EKS puts on
        the control plane's network interfaces only. Not on the cluster security group EKS makes,
        which it also puts on every managed node (docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html;
        pulumi-eks's managed node groups add no group of their own but for EFA): there the rule would
        open 443 on every pod and node to the mesh and the operators. Deployed clusters have that group
        already, so the rules move to it (replaced create-first, another group: no duplicate) and
        the cluster does not change."""
        return [
            aws.vpc.SecurityGroupIngressRule(
                # Named by source, so removing one operator network leaves the others' rules alone.
                f"{name}-api-from-{cidr_slug(cidr)}",
                security_group_id=control_plane.cluster_security_group_id,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description="EKS API over the Transit Gateway (meshCidr or operatorCidrs)",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for cidr in args.private_api_sources or ()
        ]

    def _admin_access(
        self, name: str, cluster_name: pulumi.Output[str], admins: tuple[str, ...]
    ) -> list[pulumi.Resource]:
        """An access entry with the cluster-admin policy per principal, named after the principal
        (not its place in the list), so removing one admin leaves the others untouched."""
        child = pulumi.ResourceOptions(parent=self)
        created: list[pulumi.Resource] = []
        for arn in admins:
            entry_name = f"{name}-admin-{arn.rsplit('/', 1)[1]}-{hashlib.sha256(arn.encode()).hexdigest()[:8]}"
            entry = aws.eks.AccessEntry(
                entry_name, cluster_name=cluster_name, principal_arn=arn, type="STANDARD", opts=child
            )
            partition = arn.split(":")[1]
            created.append(
                aws.eks.AccessPolicyAssociation(
                    f"{entry_name}-policy",
                    cluster_name=cluster_name,
                    principal_arn=entry.principal_arn,
                    policy_arn=f"arn:{partition}:eks::aws:cluster-access-policy/{ADMIN_POLICY}",
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=child,
                )
            )
            created.append(entry)
        return created

    def _vpc_cni_identity(self, name: str, spec: ClusterSpec, control_plane: eks.Cluster) -> list[VpcCniIdentity]:
        """vpc-cni's own role (EKS Pod Identity) unless it runs on the node role's; the agent's
        version recorded with the other add-ons' (`addonVersions`), which tells the next run."""
        if spec.eks.vpc_cni_role == "nodeRole":
            return []
        planned = spec.eks.pod_identity_agent_version or AskEks()
        agent = resolve_addon_versions({POD_IDENTITY_AGENT_ADDON: planned}, spec.kubernetes_version, parent=self)
        self.addon_versions.update(agent)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        args = VpcCniIdentityArgs(
            cluster_name=control_plane.eks_cluster.name,
            agent_version=agent[POD_IDENTITY_AGENT_ADDON],
            partition=partition,
        )
        return [VpcCniIdentity(f"{name}-vpc-cni", args, opts=pulumi.ResourceOptions(parent=self))]

    def _node_role(self, name: str, cni: bool = True) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
        """The nodes' IAM role with the AWS-managed policies a node needs to join and pull images,
        and vpc-cni's when `cni`."""
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
            if cni or policy != CNI_POLICY
        ]
        self.node_role = role
        return role, attachments
