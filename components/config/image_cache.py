"""The `imageCache` key: an ECR pull-through cache of Docker Hub in every region of the mesh,
through which every Istio release and the samples pull (components/model/image_cache.py).

```yaml
imageCache:
  dockerHubCredentials:          # one Secrets Manager secret per region of the mesh
    us-east-1: arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from components.config.validate import Problems, expect, key_path, shown, unknown_fields
from components.model.image_cache import SECRET_PREFIX, ImageCacheSpec
from components.model.spec import ClusterSpec

KEY = "imageCache"
FIELDS = ("dockerHubCredentials",)
_SECRET_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:secretsmanager:([a-z]{2}(-[a-z]+)+-\d):(\d{12}):secret:"
    + re.escape(SECRET_PREFIX)
    + r"[A-Za-z0-9/_+=.@-]{1,480}",
    re.ASCII,
)
_ARN_EXAMPLE = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{SECRET_PREFIX}docker-hub-AbCdEf"
_EXAMPLE = f'{{"dockerHubCredentials": {{"us-east-1": "{_ARN_EXAMPLE}"}}}}'


def parse_image_cache(raw: Mapping[str, Any], clusters: list[ClusterSpec], problems: Problems) -> ImageCacheSpec | None:
    value = raw.get(KEY)
    if value is None or not expect(value, dict, KEY, problems, _EXAMPLE):
        return None
    unknown_fields(value, FIELDS, KEY, problems)
    if "istioImageHub" in raw:
        problems.add(KEY, "and istioImageHub both name where Istio's images come from; keep one of them")
    path = f"{KEY}.dockerHubCredentials"
    credentials = value.get("dockerHubCredentials")
    if not expect(credentials, dict, path, problems, _EXAMPLE):
        return None
    regions = list(dict.fromkeys(c.region for c in clusters))
    accounts = set()
    for region, arn in credentials.items():
        where = key_path(path, region)
        if region not in regions:
            problems.add(where, f"no cluster of the mesh is in {shown(region)}; the regions are {', '.join(regions)}")
        elif not isinstance(arn, str) or not (match := _SECRET_ARN.fullmatch(arn)):
            problems.add(
                where,
                f"{shown(arn)} is not the ARN of a Secrets Manager secret named {SECRET_PREFIX}... (ECR takes"
                " upstream credentials only from there)",
            )
        elif match.group(2) != region:
            problems.add(where, f"the secret is in {match.group(2)}; ECR needs it in the cache's region, {region}")
        else:
            accounts.add(match.group(4))
    for region in regions:
        if region not in credentials:
            problems.add(path, f"has no secret for {region}, where clusters pull through their region's cache")
    if len(accounts) > 1:
        problems.add(
            path,
            f"names secrets of several accounts ({', '.join(sorted(accounts))}); the caches and"
            " their secrets live in the stack's account",
        )
    partition = next(iter(credentials.values())).split(":")[1] if accounts else "aws"
    return ImageCacheSpec(
        docker_hub_credentials=dict(credentials), account=min(accounts, default=""), partition=partition
    )
