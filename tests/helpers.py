"""Helpers shared by the test modules (no test module imports another)."""

from __future__ import annotations

# The values `components/istio/revisions.py` adds for high availability.
HA_KEYS = ("autoscaleMin", "replicaCount", "topologySpreadConstraints", "autoscaling", "podDisruptionBudget")


def without_ha(values: dict) -> dict:
    """Values without the HA defaults, for tests about something else."""
    return {k: v for k, v in values.items() if k not in HA_KEYS}
