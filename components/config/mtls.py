"""The `mtls` key: the mesh-wide mTLS mode, `STRICT` or `PERMISSIVE` (components/istio/mtls.py).

New stacks get `STRICT`. A stack deployed before this key existed ran Istio's default, which is
`PERMISSIVE` (no PeerAuthentication: sidecars accept plain text too), and keeps it until the user
sets the key, because `STRICT` cuts off every client without a sidecar. What the stack runs is
recorded (the `mtls` output), so an unset key never changes a deployed stack's mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config.validate import Problems, given
from components.model.deployed import LastDeployment

KEY = "mtls"
MODES = ("STRICT", "PERMISSIVE")
NEW_STACK_MODE = "STRICT"
# What a stack deployed before the key existed ran: Istio's default without a PeerAuthentication.
LEGACY_MODE = "PERMISSIVE"


def parse_mtls(raw: Mapping[str, Any], last: LastDeployment, problems: Problems) -> str:
    if KEY in raw:
        value = raw[KEY]
        if value in MODES:
            return value
        upper = value.upper() if isinstance(value, str) else None
        hint = f'; did you mean "{upper}"?' if upper in MODES else ""
        problems.add(KEY, f"must be one of {', '.join(MODES)}, got {given(value)}{hint}")
        return NEW_STACK_MODE
    if last.mtls in MODES:
        return last.mtls
    return LEGACY_MODE if last.clusters else NEW_STACK_MODE


def mtls_notices(raw: Mapping[str, Any], mode: str) -> list[str]:
    """A stack left PERMISSIVE without saying so."""
    if KEY in raw or mode != LEGACY_MODE:
        return []
    return [
        f"{KEY} is unset and this stack runs PERMISSIVE mTLS (as deployed): a process that reaches the"
        " east-west gateway or a pod reaches the mesh's services without a mesh identity. Set mtls STRICT"
        " once every client has a sidecar (docs/operations/mtls.md), or PERMISSIVE to keep it, which"
        " silences this warning"
    ]
