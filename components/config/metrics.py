"""The `metrics` and `metricsWorkspaces` keys (components/model/metrics.py).

`metrics: none` (the default) builds nothing, so a stack deployed before the key existed keeps its
graph. `metrics: amp` gives every cluster an Amazon Managed Service for Prometheus collector that
writes to a workspace in its region: the cluster, its collector and the workspace must share a
region (docs.aws.amazon.com/prometheus/latest/userguide/AMP-collector-how-to.html, "Scraper
limitations"). `metricsWorkspaces` names, per region, a workspace the user runs already, by ARN
(the collector's destination is an ARN); the program never creates or deletes a named one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from components.config.eks import region_partition
from components.config.validate import Problems, expect, given, key_path, shown
from components.model.metrics import MODES, MetricsSpec
from components.model.spec import ClusterSpec

KEY = "metrics"
WORKSPACES_KEY = "metricsWorkspaces"
# arn:<partition>:aps:<region>:<account>:workspace/<id>; a workspace ID is `[0-9A-Za-z][-.0-9A-Z_a-z]*`, at
# most 64 long (Amazon Managed Service for Prometheus API reference, Workspace: workspaceId).
_WORKSPACE_ARN = re.compile(
    r"arn:(aws|aws-cn|aws-us-gov):aps:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):workspace/([0-9A-Za-z][-.0-9A-Z_a-z]{0,63})",
    re.ASCII,
)
_EXAMPLE = "arn:aws:aps:us-east-1:123456789012:workspace/ws-1234abcd-5678-ef90-ab12-cdef3456a789"


def parse_metrics(raw: Mapping[str, Any], clusters: Sequence[ClusterSpec], problems: Problems) -> MetricsSpec:
    mode = raw.get(KEY, "none")
    if mode not in MODES:
        lower = mode.lower() if isinstance(mode, str) else None
        hint = f'; did you mean "{lower}"?' if lower in MODES else ""
        problems.add(KEY, f"must be one of {', '.join(MODES)}, got {given(mode)}{hint}")
        mode = "none"
    named = raw.get(WORKSPACES_KEY)
    if named is None:
        return MetricsSpec(mode=mode)
    if not expect(named, dict, WORKSPACES_KEY, problems, f"{{us-east-1: {_EXAMPLE}}}"):
        return MetricsSpec(mode=mode)
    if KEY in raw and raw[KEY] in MODES and mode != "amp":
        problems.add(
            WORKSPACES_KEY, f"names workspaces for metrics: amp, but metrics is {shown(raw[KEY])}: set metrics amp"
        )
    elif KEY not in raw:
        problems.add(WORKSPACES_KEY, "names workspaces for metrics: amp, but metrics is unset (none): set metrics amp")
    regions = {c.region for c in clusters}
    workspaces = {}
    for region, arn in named.items():
        path = key_path(WORKSPACES_KEY, region)
        if region not in regions:
            known = ", ".join(sorted(regions)) or "none"
            problems.add(path, f"no cluster of the mesh is in {shown(region)} (its regions: {known}); remove it")
        elif not isinstance(arn, str) or not (match := _WORKSPACE_ARN.fullmatch(arn)):
            problems.add(
                path,
                f"must be the ARN of an Amazon Managed Service for Prometheus workspace, got {given(arn)};"
                f" e.g. {_EXAMPLE}",
            )
        elif match[2] != region:
            problems.add(
                path,
                # Quoted, so that a secret map withholds them (validate.Problems).
                f"the workspace is in {shown(match[2])}, not {shown(region)}: a collector writes only to a"
                " workspace of its own region",
            )
        elif match[1] != region_partition(region):
            problems.add(
                path,
                f"the workspace's ARN is in partition {shown(match[1])}, but {shown(region)} is in"
                f" {shown(region_partition(region))}: an ARN names its region's partition (arn:<partition>:aps:...)",
            )
        else:
            workspaces[region] = arn
    return MetricsSpec(mode=mode, workspaces=workspaces)
