"""The `readerTokenGeneration` key: which generation of reader tokens the clusters hand each
other (components/model/credentials.py). Raising it rotates every cluster's token; it never goes
down, so a generation once deleted is never named again."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from components.config.validate import Problems, expect
from components.model.credentials import FIRST_GENERATION, MAX_GENERATION, ReaderTokens, plan_reader_tokens
from components.model.deployed import LastDeployment

KEY = "readerTokenGeneration"


def parse_reader_tokens(
    raw: Mapping[str, Any], clusters: list[str], last: LastDeployment, now: datetime.datetime, problems: Problems
) -> ReaderTokens:
    generation = raw.get(KEY, FIRST_GENERATION)
    if not expect(generation, int, KEY, problems, "2"):
        generation = FIRST_GENERATION
    elif not FIRST_GENERATION <= generation <= MAX_GENERATION:
        problems.add(KEY, f"must be between {FIRST_GENERATION} and {MAX_GENERATION}, got {generation}")
        generation = FIRST_GENERATION
    else:
        deployed = max((r.generation for r in last.reader_tokens.values()), default=FIRST_GENERATION)
        if generation < deployed:
            problems.add(
                KEY,
                f"{generation} is below {deployed}, the generation the stack's clusters hold; generations only"
                f" go up (a lower one would bring back a deleted token's name): set {deployed} to keep the"
                f" tokens, or {deployed + 1} to rotate them",
            )
            generation = deployed
    return plan_reader_tokens(generation, clusters, last.reader_tokens, now)


# The first patch of each minor whose istiod survives a changed remote secret: before it, istiod's
# registry swap on a credential rotation could drop the peer's endpoints (istio#61044, "don't wipe
# endpoint shards when a superseded registry closes", cherry-picked to release-1.30 as #61159 and
# release-1.31 as #61160; with #60654, a deadlock in the update-secret flow, on 1.31).
ROTATION_FIXED = {"1.30": 4, "1.31": 1}


def rotation_notices(tokens: ReaderTokens, last: LastDeployment, istio_versions: list[str]) -> list[str]:
    """A rotation (a generation above the recorded one) on an istiod without the rotation fixes."""
    rotating = sorted(name for name, r in last.reader_tokens.items() if r.generation < tokens.generation)
    if not rotating:
        return []
    old = []
    for version in istio_versions:
        major, minor, patch = (int(p) for p in version.split("."))
        fixed = ROTATION_FIXED.get(f"{major}.{minor}")
        if fixed is not None and patch < fixed:
            old.append(f"{version} (fixed in {major}.{minor}.{fixed})")
    if not old:
        return []
    return [
        f"{KEY}: rotating the tokens of {', '.join(rotating)} on Istio {', '.join(old)}: istiod may drop the"
        " endpoints of a cluster whose remote secret changes until it restarts (istio#61044); upgrade Istio"
        " first, or restart istiod after this update (`kubectl rollout restart deployment -n istio-system`)"
    ]
