"""The chart arguments of a Helm release, from an https repository or an OCI registry.

pulumi-kubernetes takes an https repository as `repository_opts.repo` with the chart's name, and an
OCI chart as one `oci://…/<chart>` reference with no repository. Either way only a release's
`name` and `namespace` force its replacement (provider/pkg/provider/helm_release.go, `Diff`,
`forceNewFields`): moving a deployed release to another repository is a `helm upgrade` in place.
"""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s

from .spec import chart_location


def chart_args(repository: str, chart: str) -> dict[str, Any]:
    name, repo = chart_location(repository, chart)
    return {"chart": name, "repository_opts": k8s.helm.v3.RepositoryOptsArgs(repo=repo) if repo else None}
