"""What a config change does to a deployed stack: per resource, unchanged, updated in place,
replaced, created or deleted.

`change_impact(before, after)` compares two program runs the way the engine and the providers
would: resources are matched by URN (or an alias of the old URN), inputs listed in
`ignore_changes` are not compared, and a changed input is a replacement if the provider cannot
update it in place (`REPLACED_ON`, from the providers' schemas and docs). A replacement also
changes the outputs (IDs, ARNs, certificates) of the new resource, which the mocks cannot show:
every input that depends on a replaced resource counts as changed.

Some changes never complete, and show as `refused`: a replacement or deletion of a resource that
is `protect`ed (the engine stops at preview), an update AWS rejects (`REFUSED_UPDATES`), and a
create-first replacement whose new resource collides with the old one (`CREATE_FIRST_CONFLICTS`).
"""

from __future__ import annotations

from typing import Any

from tests.harness import Registered, Run

# Inputs whose change replaces the resource ("ForceNew" / "requires replacement" in the providers'
# schemas), for every type this program registers. A path is top-level or dotted ("metadata.name").
# pulumi-aws 7.x wraps terraform-provider-aws 6.x; each row is the type's `ForceNew` attributes in
# its internal/service/<service>/<resource>.go (ec2: vpc_.go, vpc_subnet.go, vpc_route_table.go,
# vpc_route.go, vpc_route_table_association.go, ec2_eip.go, vpc_nat_gateway.go,
# vpc_security_group.go, vpc_peering_connection*.go, vpc_security_group_ingress_rule.go;
# iam: role.go, policy.go, role_policy_attachment.go; eks: addon.go, access_entry.go,
# access_policy_association.go):
AWS = {
    "aws:ec2/vpc:Vpc": {"cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"},
    "aws:ec2/subnet:Subnet": {"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"},
    "aws:ec2/internetGateway:InternetGateway": set(),
    "aws:ec2/routeTable:RouteTable": {"vpcId"},
    "aws:ec2/route:Route": {
        "routeTableId",
        "destinationCidrBlock",
        "destinationIpv6CidrBlock",
        "destinationPrefixListId",
    },
    "aws:ec2/routeTableAssociation:RouteTableAssociation": {"subnetId", "gatewayId"},
    "aws:ec2/eip:Eip": {"domain", "address", "publicIpv4Pool", "networkBorderGroup", "customerOwnedIpv4Pool"},
    "aws:ec2/natGateway:NatGateway": {"allocationId", "subnetId", "connectivityType", "privateIp"},
    "aws:ec2/securityGroup:SecurityGroup": {"name", "namePrefix", "description", "vpcId"},
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": {"vpcId", "peerVpcId", "peerOwnerId", "peerRegion"},
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": {"vpcPeeringConnectionId"},
    # ec2_launch_template.go: only the name is ForceNew; any other change is a new version.
    "aws:ec2/launchTemplate:LaunchTemplate": {"name", "namePrefix"},
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {"securityGroupId"},
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {"securityGroupId"},
    # AMP: UpdateScraper changes alias, destination and scrape configuration in place, not the source
    # (AMP-collector-how-to.html: "to update the source ... delete the scraper and recreate it");
    # UpdateWorkspaceAlias changes the alias, a workspace's KMS key is fixed at creation (AMP API reference).
    "aws:amp/scraper:Scraper": {"source"},
    "aws:amp/workspace:Workspace": {"kmsKeyArn"},
    # PutRuleGroupsNamespace replaces the data in place; the name and workspace identify it.
    "aws:amp/ruleGroupNamespace:RuleGroupNamespace": {"name", "workspaceId"},
    # transitgateway_.go (default route table association or propagation turned back on also
    # replaces, by CustomizeDiff; this program never turns them off), transitgateway_vpc_attachment.go
    # (its subnets update in place), transitgateway_peering_attachment*.go, transitgateway_route.go
    # (no update at all).
    "aws:ec2transitgateway/transitGateway:TransitGateway": {"amazonSideAsn", "multicastSupport"},
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": {"transitGatewayId", "vpcId"},
    "aws:ec2transitgateway/peeringAttachment:PeeringAttachment": {
        "peerAccountId",
        "peerRegion",
        "peerTransitGatewayId",
        "transitGatewayId",
    },
    "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter": {"transitGatewayAttachmentId"},
    "aws:ec2transitgateway/route:Route": {
        "blackhole",
        "destinationCidrBlock",
        "transitGatewayAttachmentId",
        "transitGatewayRouteTableId",
    },
    # transitgateway_route_table.go, transitgateway_route_table_association.go and
    # transitgateway_route_table_propagation.go (no update at all).
    "aws:ec2transitgateway/routeTable:RouteTable": {"transitGatewayId"},
    "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation": {
        "transitGatewayAttachmentId",
        "transitGatewayRouteTableId",
        "replaceExistingAssociation",
    },
    "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation": {
        "transitGatewayAttachmentId",
        "transitGatewayRouteTableId",
    },
    "aws:iam/role:Role": {"name", "namePrefix", "path"},
    "aws:iam/policy:Policy": {"name", "namePrefix", "path", "description"},
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {"role", "policyArn"},
    # iam/role_policy.go; ecr/pull_through_cache_rule.go (the credentials update in place).
    "aws:iam/rolePolicy:RolePolicy": {"name", "namePrefix", "role"},
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": {
        "ecrRepositoryPrefix",
        "upstreamRegistryUrl",
        "upstreamRepositoryPrefix",
    },
    "aws:eks/addon:Addon": {"clusterName", "addonName"},
    # pod_identity_association.go: the cluster, namespace and ServiceAccount identify it; the role
    # updates in place (UpdatePodIdentityAssociation).
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": {"clusterName", "namespace", "serviceAccount"},
    "aws:eks/accessEntry:AccessEntry": {"clusterName", "principalArn", "type"},
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": {
        "clusterName",
        "principalArn",
        "policyArn",
        "accessScope",
    },
}
# pulumi-eks 4.x components, by the inputs that reach a replace-forcing input of what they create
# (`deletionProtection`, `enabledClusterLogTypes` and `upgradePolicy` update in place: UpdateClusterConfig
# in terraform-provider-aws eks/cluster.go and the EKS deletion-protection guide)
# (nodejs/eks/cluster.ts, nodes/nodegroup.ts): aws.eks.Cluster's name, role ARN and IP family
# (eks/cluster.go; its `vpc_config.subnet_ids` and `security_group_ids` update in place since
# terraform-provider-aws 5.25.0, CHANGELOG); aws.eks.NodeGroup's subnets, role, instance types,
# capacity type, AMI type, disk size, remote access, launch template ID or name (so adding or removing
# a launch template replaces a group; its `version` updates in place) and name (eks/node_group.go).
EKS = {
    "eks:index:Cluster": {"name", "serviceRole", "ipFamily"},
    "eks:index:ManagedNodeGroup": {
        "cluster",
        "clusterName",
        "nodeRole",
        "nodeRoleArn",
        "subnetIds",
        "instanceTypes",
        "capacityType",
        "amiType",
        "diskSize",
        "remoteAccess",
        "launchTemplate.id",
        "launchTemplate.name",
        "nodeGroupName",
        "nodeGroupNamePrefix",
    },
}
# pulumi-kubernetes 4.x: an object's identity is its name and namespace (and kind); a Release's is
# its name and namespace. Everything else is patched or upgraded in place.
_K8S_IDENTITY = {"metadata.name", "metadata.namespace"}
KUBERNETES = {
    "kubernetes:helm.sh/v3:Release": {"name", "namespace"},
    "kubernetes:core/v1:Namespace": {"metadata.name"},
    "kubernetes:core/v1:Secret": _K8S_IDENTITY | {"type"},
    "kubernetes:core/v1:Service": _K8S_IDENTITY,
    "kubernetes:core/v1:ServiceAccount": _K8S_IDENTITY,
    "kubernetes:apps/v1:Deployment": _K8S_IDENTITY | {"spec.selector"},
    "kubernetes:networking.istio.io/v1:Gateway": _K8S_IDENTITY,
    "kubernetes:networking.istio.io/v1:VirtualService": _K8S_IDENTITY,
    "kubernetes:networking.istio.io/v1:DestinationRule": _K8S_IDENTITY,
    "kubernetes:security.istio.io/v1:PeerAuthentication": _K8S_IDENTITY,
    # A binding's roleRef cannot change (the API server refuses it), so the provider replaces it.
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": {"metadata.name"},
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": {"metadata.name", "roleRef"},
    "kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration": {"metadata.name"},
}
# pulumi-tls 5.x: every input but early renewal replaces a key or certificate.
TLS = {
    "tls:index/privateKey:PrivateKey": {"algorithm", "rsaBits", "ecdsaCurve"},
    "tls:index/selfSignedCert:SelfSignedCert": {
        "privateKeyPem",
        "subject",
        "validityPeriodHours",
        "allowedUses",
        "isCaCertificate",
        "setSubjectKeyId",
        "setAuthorityKeyId",
        "dnsNames",
        "ipAddresses",
        "uris",
        "maxPathLength",
    },
    "tls:index/certRequest:CertRequest": {"privateKeyPem", "subject", "dnsNames", "ipAddresses", "uris"},
    "tls:index/locallySignedCert:LocallySignedCert": {
        "certRequestPem",
        "caCertPem",
        "caPrivateKeyPem",
        "validityPeriodHours",
        "allowedUses",
        "isCaCertificate",
        "setSubjectKeyId",
        "maxPathLength",
    },
}
REPLACED_ON: dict[str, set[str]] = {**AWS, **EKS, **KUBERNETES, **TLS}
# In-place updates the AWS API refuses. An EKS cluster stays in the VPC it was created in: pulumi-eks
# makes its security group in `vpcId`, and UpdateClusterConfig takes subnets and groups of the
# cluster's own VPC only
# (aws.amazon.com/blogs/containers/enhanced-vpc-flexibility-modify-subnets-and-security-groups-in-amazon-eks/).
REFUSED_UPDATES = {"eks:index:Cluster": {"vpcId"}}
# Create-first replacements whose new resource takes what the old one still holds: a subnet's CIDR
# is unique in its VPC (EC2 CreateSubnet: InvalidSubnet.Conflict), a route's destination in its table.
CREATE_FIRST_CONFLICTS = {
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock"),
    # One route per destination in a route table (EC2 RouteAlreadyExists, for VPC and Transit Gateway tables).
    "aws:ec2/route:Route": ("routeTableId", "destinationCidrBlock"),
    "aws:ec2transitgateway/route:Route": ("transitGatewayRouteTableId", "destinationCidrBlock"),
    # An attachment is associated once with a table (AssociateTransitGatewayRouteTable:
    # Resource.AlreadyAssociated; a peering has one association on each of its two gateways) and
    # propagates once into each.
    "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation": (
        "transitGatewayRouteTableId",
        "transitGatewayAttachmentId",
    ),
    "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation": (
        "transitGatewayRouteTableId",
        "transitGatewayAttachmentId",
    ),
}

# pulumi-eks passes these on as the EKS cluster's `vpc_config.subnet_ids` (nodejs/eks/cluster.ts).
SUBNET_INPUTS = ("publicSubnetIds", "privateSubnetIds", "subnetIds")
# The pseudo-input a resource's region changes by: its provider's `region`.
REGION = "region"


def _region(resources: dict[str, Registered], r: Registered) -> Any:
    ref = r.provider or r.providers.get("aws", "")
    provider = resources.get(ref.rsplit("::", 1)[0]) if ref else None
    return provider.inputs.get("region") if provider else None


def _subnet_zones(resources: dict[str, Registered], cluster: Registered) -> set[str]:
    """The zones of the subnets a pulumi-eks cluster is given (by the subnets its inputs depend on)."""
    deps = [d for key in SUBNET_INPUTS for d in cluster.property_dependencies.get(key, [])]
    return {str(resources[d].inputs.get("availabilityZone")) for d in deps if d in resources}


UNCHANGED, UPDATED, REPLACED, CREATED, DELETED, REFUSED = (
    "unchanged",
    "updated",
    "replaced",
    "created",
    "deleted",
    "refused",
)


def _get(inputs: dict[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _changed_inputs(old: Registered, new: Registered) -> set[str]:
    """Top-level inputs that differ, and replace-forcing dotted paths that differ."""
    ignored = set(old.ignore_changes) | set(new.ignore_changes)
    a, b = old.inputs, new.inputs
    changed = {k for k in set(a) | set(b) if k not in ignored and a.get(k) != b.get(k)}
    changed |= {
        p
        for p in REPLACED_ON.get(new.type, ())
        if "." in p and p.split(".")[0] not in ignored and _get(a, p) != _get(b, p)
    }
    return changed


def _forces_replacement(type_: str, changed: set[str]) -> bool:
    if type_.startswith("pulumi:providers:"):
        return False
    # pulumi-aws 7: every regional resource has a `region` input (its provider's unless set), and a
    # change of it forces replacement (pulumi-aws 7.0 migration guide, "Multi-region support").
    if type_.startswith(("aws:", "eks:")) and REGION in changed:
        return True
    if type_ not in REPLACED_ON:
        raise AssertionError(f"no replacement rules for {type_}: add them to tests/impact.py from the provider's docs")
    return bool(changed & REPLACED_ON[type_])


def change_impact(before: Run, after: Run) -> dict[tuple[str, str], str]:
    """(type, name) -> what `pulumi up` of `after` does to a stack deployed from `before`.

    Components are skipped (they hold no cloud state), except remote components (pulumi-eks),
    which stand for what they create."""

    def managed(run: Run) -> dict[str, Registered]:
        return {r.urn: r for r in run.resources if (r.custom or r.type.startswith("eks:")) and not r.read}

    old, new = managed(before), managed(after)
    result, changed = _direct_impact(old, new)
    _follow_replacements(new, result, changed)
    _follow_new_versions(new, result, changed)
    _refuse_what_aws_refuses(old, new, result, changed)
    _refuse_taken_identities(old, new, result, after)
    key = {r.urn: (r.type, r.name) for r in [*old.values(), *new.values()]}
    return {key[urn]: what for urn, what in result.items()}


def _direct_impact(
    old: dict[str, Registered], new: dict[str, Registered]
) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Each resource's fate from its own inputs, and the inputs that changed."""
    renamed = {alias: r.urn for r in new.values() for alias in r.alias_urns if alias in old}
    result: dict[str, str] = {}
    changed: dict[str, set[str]] = {}
    for urn, r in new.items():
        previous = old.get(urn) or old.get(next((a for a in r.alias_urns if a in old), ""))
        if previous is None:
            result[urn] = CREATED
            continue
        changed[urn] = _changed_inputs(previous, r)
        if _region(old, previous) != _region(new, r):
            changed[urn].add(REGION)
        result[urn] = (
            REPLACED if _forces_replacement(r.type, changed[urn]) else (UPDATED if changed[urn] else UNCHANGED)
        )
    for urn in old:
        if urn not in new and urn not in renamed:
            result[urn] = DELETED
    return result, changed


def _follow_replacements(new: dict[str, Registered], result: dict[str, str], changed: dict[str, set[str]]) -> None:
    """A replaced resource comes back with new IDs and outputs: inputs that depend on it change too."""
    grew = True
    while grew:
        grew = False
        replaced = {u for u, what in result.items() if what in (REPLACED, CREATED)}
        for urn, r in new.items():
            if result[urn] in (REPLACED, CREATED):
                continue
            moved = {prop for prop, deps in r.property_dependencies.items() if replaced & set(deps)}
            if moved - changed[urn]:
                changed[urn] |= moved
                result[urn] = REPLACED if _forces_replacement(r.type, changed[urn]) else UPDATED
                grew = True


def _follow_new_versions(new: dict[str, Registered], result: dict[str, str], changed: dict[str, set[str]]) -> None:
    """An updated launch template is a new version, and a node group naming its latest version
    moves to it in place: EKS replaces the nodes one by one (UpdateNodegroupVersion, eks/node_group.go)."""
    updated = {u for u, what in result.items() if what == UPDATED and new.get(u) and "launchTemplate:" in new[u].type}
    for urn, r in new.items():
        if result[urn] == UNCHANGED and updated & set(r.property_dependencies.get("launchTemplate", [])):
            changed[urn].add("launchTemplate")
            result[urn] = UPDATED


def _refuse_what_aws_refuses(
    old: dict[str, Registered], new: dict[str, Registered], result: dict[str, str], changed: dict[str, set[str]]
) -> None:
    for urn, what in list(result.items()):
        if what == UPDATED and new[urn].type == "eks:index:Cluster" and "encryptionConfigKeyArn" in changed[urn]:
            # Added: AssociateEncryptionConfig, in place. Removed: replaced (ForceNewIfChange on
            # `encryption_config` in terraform-provider-aws eks/cluster.go: "You cannot disable envelope
            # encryption after enabling it"). Another key: no API changes it, the update never completes.
            before = old[urn].inputs.get("encryptionConfigKeyArn")
            if before is not None:
                result[urn] = REPLACED if new[urn].inputs.get("encryptionConfigKeyArn") is None else REFUSED
            if result[urn] == REPLACED and old[urn].protect:
                result[urn] = REFUSED
        if what in (REPLACED, DELETED) and urn in old and old[urn].inputs.get("deletionProtection") is True:
            # EKS refuses DeleteCluster while deletion protection is on (InvalidRequestException,
            # docs.aws.amazon.com/eks/latest/userguide/deletion-protection.html): turn it off first.
            result[urn] = REFUSED
            continue
        if (
            what == UPDATED
            and new[urn].type == "eks:index:Cluster"
            and changed[urn] & set(SUBNET_INPUTS)
            and _subnet_zones(new, new[urn]) - _subnet_zones(old, old[urn])
        ):
            # EKS takes new subnets only in the zones the cluster was created with (EKS user guide,
            # network requirements; containers-roadmap#2330): UpdateClusterConfig fails.
            result[urn] = REFUSED
            continue
        if (
            what in (REPLACED, DELETED)
            and urn in old
            and old[urn].protect
            or what == UPDATED
            and changed[urn] & REFUSED_UPDATES.get(new[urn].type, set())
        ):
            result[urn] = REFUSED
        elif what == REPLACED and not new[urn].delete_before_replace and new[urn].type in CREATE_FIRST_CONFLICTS:
            previous = old.get(urn) or old[next(a for a in new[urn].alias_urns if a in old)]
            unique = CREATE_FIRST_CONFLICTS[new[urn].type]
            if all(_get(previous.inputs, p) == _get(new[urn].inputs, p) for p in unique) and not changed[urn] & set(
                unique
            ):
                result[urn] = REFUSED


def _refuse_taken_identities(
    old: dict[str, Registered], new: dict[str, Registered], result: dict[str, str], after: Run
) -> None:
    """Pulumi creates new resources before it deletes the ones gone from the program, and a
    create-first replacement's old resource lives until the end: a new route to the destination an
    old one still holds in the same table is refused as well. Only a delete-first replacement frees
    it, for what waits for that replacement."""

    def identity(r: Registered) -> tuple:
        return (r.type, *(_get(r.inputs, p) for p in CREATE_FIRST_CONFLICTS[r.type]))

    held = {
        identity(r): urn
        for urn, r in old.items()
        if result.get(urn) in (DELETED, REPLACED) and r.type in CREATE_FIRST_CONFLICTS
    }
    for urn, r in new.items():
        holder = held.get(identity(r)) if r.type in CREATE_FIRST_CONFLICTS and result[urn] == CREATED else None
        if holder is None:
            continue
        freed = result[holder] == REPLACED and new[holder].delete_before_replace and after.depends_on(r, new[holder])
        if not freed:
            result[urn] = REFUSED


def of_kind(impact: dict[tuple[str, str], str], kind: str) -> set[tuple[str, str]]:
    return {k for k, what in impact.items() if what == kind}
