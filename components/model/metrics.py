"""What the mesh collects for metrics (`metrics`, `metricsWorkspaces`): nothing, or every cluster's
Istio and API server metrics in Amazon Managed Service for Prometheus (components/aws/metrics.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

MODES = ("none", "amp")


@dataclass(frozen=True)
class MetricsSpec:
    mode: str = "none"
    # Region -> ARN of a workspace the user runs there; the other regions get one of the program's.
    workspaces: Mapping[str, str] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.mode == "amp"
