"""Images through an ECR pull-through cache of Docker Hub (`imageCache`), per region: what the
cache is called and where an image is pulled from once it is on.

A pull through `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<docker hub path>` is served
from the cache, which fetches from Docker Hub with the account's credentials the first time
(docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html; Docker Hub's upstream
is `registry-1.docker.io`, and needs credentials in Secrets Manager under `ecr-pullthroughcache/`,
pull-through-cache-creating-secret.html). Pulled with the account's credentials, Docker Hub's
anonymous limit no longer applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DOCKER_HUB_UPSTREAM = "registry-1.docker.io"
# The repositories the cache creates are `<prefix>/<namespace>/<image>` (istio/pilot, curlimages/curl).
ECR_PREFIX = "docker-hub"
SECRET_PREFIX = "ecr-pullthroughcache/"
# What a node pulling through the cache needs besides its read access (the AWS-managed
# AmazonEC2ContainerRegistryReadOnly it has): importing the upstream image, and creating the
# cached repository on its first pull (pull-through-cache-iam.html).
PULL_THROUGH_ACTIONS = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")


@dataclass(frozen=True)
class ImageCacheSpec:
    # Per region of the mesh, the Secrets Manager secret with Docker Hub credentials (its ARN).
    docker_hub_credentials: Mapping[str, str] = field(default_factory=dict)
    # The account of those secrets, which is the caches' ("the account and Region that the secret is
    # in must match the account and Region that the pull through cache rule is in",
    # pull-through-cache-creating-rule.html), and so the registry every cluster pulls from.
    account: str = ""
    partition: str = "aws"


def registry_host(account: str, region: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


def cached(account: str, region: str, docker_hub_path: str) -> str:
    """`docker.io/istio` or `docker.io/curlimages/curl:8.16.0` through the region's cache."""
    return f"{registry_host(account, region)}/{ECR_PREFIX}/{docker_hub_path.removeprefix('docker.io/')}"
