"""Where the charts and images come from: `istioChartRepository`, `eksChartRepository`, `istioImageHub`.

```yaml
# or an https Helm repository
istioChartRepository: oci://123456789012.dkr.ecr.us-east-1.amazonaws.com/istio-charts
# the load balancer controller's chart
eksChartRepository: https://charts.example.com/eks
# e.g. an ECR pull-through cache
istioImageHub: 123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/istio
```

Each is checked the way Helm and the container runtime will read it, so a value that would fail only
when a release is installed (after the VPCs and clusters exist) is refused up front: ASCII only, no
credentials or query in a URL, OCI repository paths in lowercase, no tag on a hub. Sources Istio has
retired are refused by name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from components.config.validate import Problems, expect, shown
from components.model import versions
from components.model.spec import ArtifactSources, MeshSpec

SOURCE_KEYS = ("istioChartRepository", "eksChartRepository", "istioImageHub")
# One DNS name (letters, digits, '-', dots) or IPv4 address, with an optional port.
_HOST = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::[0-9]{1,5})?"
)
# A path component of an OCI repository name (distribution-spec), lowercase only.
_OCI_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
# A path component of an https URL: unreserved characters and percent-escapes.
_URL_COMPONENT = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})+")
MAX_LENGTH = 512
# An OCI repository name is at most 255 characters; the chart or image name still follows the path.
MAX_REPOSITORY = 230
_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


def _valid_host(host: str) -> bool:
    return bool(_HOST.fullmatch(host)) and int(host.rpartition(":")[2] if ":" in host else 1) <= 65535


def parse_sources(raw: Mapping[str, Any], problems: Problems) -> ArtifactSources:
    defaults = ArtifactSources()
    istio_charts = _parse_repository(
        raw.get("istioChartRepository"), "istioChartRepository", defaults.istio_charts, problems
    )
    eks_charts = _parse_repository(raw.get("eksChartRepository"), "eksChartRepository", defaults.eks_charts, problems)
    hub = _parse_hub(raw.get("istioImageHub"), defaults.istio_hub, problems)
    return ArtifactSources(istio_charts=istio_charts, eks_charts=eks_charts, istio_hub=hub)


def _retired(value: str, key: str, problems: Problems) -> bool:
    lowered = value.lower()
    for source in versions.RETIRED_ISTIO_SOURCES:
        if source in lowered:
            problems.add(
                key,
                f"{shown(value)} names {source}, which Istio retired in December 2026; remove the key to use"
                f" {_default_for(key)}, or name a mirror of your own",
            )
            return True
    return False


def _default_for(key: str) -> str:
    defaults = ArtifactSources()
    return {"istioChartRepository": defaults.istio_charts, "eksChartRepository": defaults.eks_charts}.get(
        key, defaults.istio_hub
    )


def _plain_text(value: Any, key: str, example: str, problems: Problems) -> bool:
    if not expect(value, str, key, problems, f'"{example}"'):
        return False
    if not value:
        problems.add(key, f'is empty; remove the key to use the default, or give one, e.g. "{example}"')
    elif len(value) > MAX_LENGTH:
        problems.add(key, f"is {len(value)} characters long; at most {MAX_LENGTH}")
    elif not value.isascii() or not value.isprintable() or any(c.isspace() for c in value):
        problems.add(
            key, f"{shown(value)} holds spaces, line breaks or non-ASCII characters, which Helm and registries refuse"
        )
    else:
        return True
    return False


def _parse_repository(value: Any, key: str, default: str, problems: Problems) -> str:
    example = "oci://ghcr.io/istio/release/charts" if key == "istioChartRepository" else default
    if value is None:
        return default
    if not _plain_text(value, key, example, problems) or _retired(value, key, problems):
        return default
    scheme, _, rest = value.partition("://")
    if scheme not in ("https", "oci"):
        why = (
            "charts would travel unencrypted"
            if scheme == "http"
            else "Helm reads charts from https repositories and oci registries"
        )
        problems.add(key, f'{shown(value)} must start with https:// or oci:// ({why}); e.g. "{example}"')
        return default
    host, _, path = rest.partition("/")
    if "@" in host or any(c in rest for c in "?#"):
        problems.add(
            key,
            f"{shown(value)} carries credentials, a query or a fragment; give the plain repository address"
            " (for a private registry, log the machine that runs pulumi in with `helm registry login`)",
        )
    elif not _valid_host(host):
        problems.add(
            key, f'{shown(value)} does not name a host (a DNS name with an optional port up to 65535); e.g. "{example}"'
        )
    elif value.endswith("/"):
        problems.add(key, f"{shown(value)} ends with '/'; remove it (chart names are appended to the address)")
    elif scheme == "oci" and len(path) > MAX_REPOSITORY:
        problems.add(
            key,
            f"{shown(value)} has a repository path of {len(path)} characters; registries take at most"
            f" {MAX_REPOSITORY} with the chart name",
        )
    elif path and not all(
        (_OCI_COMPONENT if scheme == "oci" else _URL_COMPONENT).fullmatch(p) for p in path.split("/")
    ):
        rule = (
            "lowercase letters, digits and single '.', '_' or '-' between them"
            if scheme == "oci"
            else "URL path characters"
        )
        problems.add(key, f'{shown(value)} has a path component that is not {rule}; e.g. "{example}"')
    else:
        return value
    return default


def _parse_hub(value: Any, default: str, problems: Problems) -> str:
    key, example = "istioImageHub", "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/istio"
    if value is None:
        return default
    if not _plain_text(value, key, example, problems) or _retired(value, key, problems):
        return default
    if "://" in value:
        problems.add(
            key,
            f"{shown(value)} is a URL; give the registry and path images are pulled by, without a scheme, e.g."
            f' "{example}"',
        )
        return default
    first, _, rest = value.partition("/")
    # As container runtimes read a reference: the first component is a registry host when it has a
    # dot or a port (or is localhost); otherwise the whole value is a path on Docker Hub. Images may
    # sit at a registry's root (`registry.example.com:5000/pilot`), but not on Docker Hub, whose
    # root is its `library/` namespace.
    has_host = "." in first or ":" in first or first == "localhost"
    path = rest if has_host else value
    if has_host and not _valid_host(first):
        problems.add(
            key,
            f'{shown(value)} does not start with a registry host (a DNS name with an optional port); e.g. "{example}"',
        )
    elif first.lower() in _DOCKER_HUB and not rest:
        problems.add(
            key,
            f"{shown(value)} names Docker Hub but no namespace on it (images would be `{value}/pilot`); e.g."
            ' "docker.io/istio"',
        )
    elif len(path) > MAX_REPOSITORY:
        problems.add(
            key,
            f"{shown(value)} has a repository path of {len(path)} characters; registries take at most"
            f" {MAX_REPOSITORY} with the image name",
        )
    elif "@" in path or ":" in path:
        problems.add(
            key,
            f"{shown(value)} carries a tag or digest; the hub is only the part before the image name (Istio"
            " adds `/pilot:<version>`)",
        )
    elif value.endswith("/") or (path and not all(_OCI_COMPONENT.fullmatch(p) for p in path.split("/"))):
        problems.add(
            key,
            f"{shown(value)} is not a registry path (components of lowercase letters, digits and single '.', '_'"
            f" or '-', separated by '/', no trailing '/'); e.g. \"{example}\"",
        )
    else:
        return value
    return default


# Docker Hub's limit for anonymous pulls: 10 an hour per IPv4 address (docs.docker.com/docker-hub/usage/,
# since 2025). A node that joins pulls about two images from it: the proxy (every node that runs a
# gateway or a sidecar) and istiod's or a sample's. Past this many nodes per NAT address, a scale-out
# or the replacement of a node group (a Kubernetes upgrade) within the hour can meet
# `429 Too Many Requests` and stall the pods, and `pulumi up` with them.
DOCKER_HUB_ANONYMOUS_PULLS_PER_HOUR = 10
PULLS_PER_NEW_NODE = 2
NODES_PER_NAT_ADDRESS = DOCKER_HUB_ANONYMOUS_PULLS_PER_HOUR // PULLS_PER_NEW_NODE


def on_docker_hub(hub: str) -> bool:
    first, _, rest = hub.partition("/")
    has_host = "." in first or ":" in first or first == "localhost"
    return not has_host or (first.lower() in _DOCKER_HUB and bool(rest))


def image_pull_notices(spec: MeshSpec) -> list[str]:
    """Clusters that can grow past NODES_PER_NAT_ADDRESS nodes per NAT address while pulling Istio's
    images anonymously from Docker Hub."""
    if spec.image_cache or not on_docker_hub(spec.sources.istio_hub):
        return []
    crowded = [
        f"{c.name} (up to {c.node_group.max_size} nodes behind {c.nat_count} NAT address"
        f"{'es' if c.nat_count > 1 else ''})"
        for c in spec.clusters
        if c.nat_count and c.node_group.max_size > NODES_PER_NAT_ADDRESS * c.nat_count
    ]
    if not crowded:
        return []
    return [
        f"istioImageHub: {', '.join(crowded)} pull Istio's images anonymously from Docker Hub, which allows"
        f" {DOCKER_HUB_ANONYMOUS_PULLS_PER_HOUR} pulls an hour per address: a scale-out or node replacement"
        f" of more than {NODES_PER_NAT_ADDRESS} nodes per address within the hour can fail with 429 Too Many"
        " Requests. Point istioImageHub at a mirror or an ECR pull-through cache, or use natGateways: perAz"
        " (docs/operations/image-pulls.md)"
    ]
