"""`istioValues`: extra Helm values per Istio chart, merged over the program's own.

Helm accepts any key, so the values that carry the mesh's identity and wiring are guarded here:
overriding one (or replacing an object that holds one, or a case variant Helm would ignore) gives
every cluster the same name or network, the failure docs/operations/troubleshooting.md describes. The
guarded keys are those the program writes (`components/plan/istio_values.py`, `GUARDED`), so a
key added there is guarded here without a second list.
"""

from __future__ import annotations

from typing import Any

from components.config.validate import Problems, expect, given, key_path, quantity_value, unknown_fields
from components.model import versions
from components.plan.istio_values import GUARDED

ISTIO_CHARTS = ("base", "istiod", "gateway")


def parse_istio_values(extra: Any, problems: Problems) -> dict[str, dict[str, Any]]:
    istio_values: dict[str, dict[str, Any]] = {}
    if extra is None or not expect(
        extra, dict, "istioValues", problems, '{"istiod": {"resources": {"requests": {"memory": "4Gi"}}}}'
    ):
        return istio_values
    unknown_fields(extra, ISTIO_CHARTS, "istioValues", problems)
    for chart in ISTIO_CHARTS:
        if chart in extra and expect(extra[chart], dict, f"istioValues.{chart}", problems, '{"autoscaleMin": 2}'):
            owned_problems = Problems()
            for owned, source in GUARDED[chart].items():
                _check_owned(extra[chart], owned, f"istioValues.{chart}", source, owned_problems)
            # One message per key: `service: null` replaces two keys of ours, but is one mistake.
            named: set[str] = set()
            for path, message in owned_problems.items:
                if path not in named:
                    named.add(path)
                    problems.add(path, message)
            _check_retired(extra[chart], f"istioValues.{chart}", problems)
            _check_resources(extra[chart], f"istioValues.{chart}", problems)
            istio_values[chart] = extra[chart]
    return istio_values


def _check_retired(value: Any, path: str, problems: Problems) -> None:
    """Refuses any value naming a registry or chart host Istio has retired (e.g. `global.proxy.image`)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_retired(item, key_path(path, key), problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_retired(item, f"{path}[{index}]", problems)
    elif isinstance(value, str):
        retired = next((s for s in versions.RETIRED_ISTIO_SOURCES if s in value.lower()), None)
        if retired:
            problems.add(
                path,
                f"names {retired}, which Istio retired in December 2026; use a registry that stays"
                " (istioImageHub sets every Istio image's)",
            )


def _check_owned(values: dict[str, Any], owned: tuple[str, ...], path: str, source: str, problems: Problems) -> None:
    """Refuses `values` setting the program's key `owned`, directly or by replacing an object on the way."""
    key, rest = owned[0], owned[1:]
    full = ".".join(owned)
    for name, value in values.items():
        if str(name).lower() != key.lower():
            continue
        here = key_path(path, name)
        if name != key:
            problems.add(
                here,
                f"Helm keys are case-sensitive, so Helm would ignore `{name}`; the program sets `{key}`"
                f" itself (from {source}): remove it",
            )
        elif not rest:
            # A source that is a config key is where the user changes it.
            instead = f" (change {source} instead)" if " " not in source else ""
            problems.add(here, f"is set by this program from {source}; remove it{instead}")
        elif not isinstance(value, dict):
            problems.add(
                here,
                f"must be an object, got {given(value)}: it would replace the whole `{key}` object,"
                f" including `{full}`, which this program sets from {source}",
            )
        else:
            _check_owned(value, rest, here, source, problems)


# core/v1 ResourceRequirements.
_RESOURCE_FIELDS = ("requests", "limits", "claims")


def _check_resources(value: Any, path: str, problems: Problems) -> None:
    """Every `resources` object in a chart's values (istiod's, the sidecars' `global.proxy`, the
    gateway's) as the API server will read it: requests and limits of resource name -> quantity."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = key_path(path, key)
            if key == "resources" and item is not None:
                _check_requirements(item, here, problems)
            else:
                _check_resources(item, here, problems)


def _check_requirements(value: Any, path: str, problems: Problems) -> None:
    example = '{"requests": {"cpu": "500m", "memory": "2Gi"}}'
    if not expect(value, dict, path, problems, example):
        return
    unknown_fields(value, _RESOURCE_FIELDS, path, problems)
    accepted: dict[str, dict[str, float]] = {}
    for field in ("requests", "limits"):
        amounts = value.get(field)
        if amounts is None or not expect(amounts, dict, f"{path}.{field}", problems, '{"memory": "2Gi"}'):
            continue
        for name, amount in amounts.items():
            if is_quantity(amount):
                accepted.setdefault(field, {})[name] = quantity_value(amount)
                continue
            problems.add(
                key_path(f"{path}.{field}", name),
                f"{given(amount)} is not a Kubernetes quantity (a number and a unit such as m, Mi, Gi, k, M,"
                ' G, no space); e.g. "2Gi" for memory, "500m" for cpu',
            )
    # istiod's own requests and limits are held together with the chart's defaults (node_group.py).
    if path == "istioValues.istiod.resources":
        return
    for name, limit in accepted.get("limits", {}).items():
        request = accepted.get("requests", {}).get(name)
        if request is not None and request > limit:
            problems.add(
                key_path(f"{path}.limits", name),
                f"{value['limits'][name]} is below the request, {value['requests'][name]}: Kubernetes refuses such"
                " a pod; lower the request or raise the limit",
            )


def is_quantity(value: Any) -> bool:
    """A resource amount Kubernetes takes: a quantity, not negative."""
    amount = quantity_value(value)
    return amount is not None and amount >= 0
