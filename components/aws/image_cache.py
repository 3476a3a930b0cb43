"""`imageCache`: per region an ECR pull-through cache rule for Docker Hub (`DockerHubCache`), and
per cluster the rights its nodes need to pull through it (`ImagePullAccess`). What is pulled
through it, and why, is in components/model/image_cache.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.model.image_cache import DOCKER_HUB_UPSTREAM, ECR_PREFIX, PULL_THROUGH_ACTIONS


@dataclass
class DockerHubCacheArgs:
    region: str
    # The Secrets Manager secret (`ecr-pullthroughcache/...`) with the Docker Hub credentials.
    credential_arn: str


class DockerHubCache(pulumi.ComponentResource):
    """The region's pull-through cache rule: `<account>.dkr.ecr.<region>.amazonaws.com/docker-hub/...`."""

    # The account whose registry holds the cache.
    registry_id: pulumi.Output[str]

    def __init__(self, name: str, args: DockerHubCacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:image_cache:DockerHubCache", name, None, opts)
        # The prefix and upstream replace the rule when changed, the credentials update in place
        # (ForceNew in terraform-provider-aws internal/service/ecr/pull_through_cache_rule.go).
        rule = aws.ecr.PullThroughCacheRule(
            f"{name}-rule",
            ecr_repository_prefix=ECR_PREFIX,
            upstream_registry_url=DOCKER_HUB_UPSTREAM,
            credential_arn=args.credential_arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.registry_id = rule.registry_id
        self.register_outputs({"registryId": self.registry_id})


@dataclass
class ImagePullAccessArgs:
    region: str
    node_role: aws.iam.Role
    cache: DockerHubCache
    # The partition of the cache's ARNs (`aws`, `aws-cn`, ...).
    partition: str = "aws"


class ImagePullAccess(pulumi.ComponentResource):
    """What one cluster's nodes need to pull through their region's cache, on the cache's
    repositories only."""

    # The node role's policy: what the cluster's Istio releases wait for.
    policy: aws.iam.RolePolicy

    def __init__(self, name: str, args: ImagePullAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("istio-eks-mesh:image_cache:ImagePullAccess", name, None, opts)
        repositories = pulumi.Output.concat(
            "arn:", args.partition, ":ecr:", args.region, ":", args.cache.registry_id, f":repository/{ECR_PREFIX}/*"
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=args.node_role.name,
            policy=repositories.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": list(PULL_THROUGH_ACTIONS), "Resource": arn}],
                    }
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
