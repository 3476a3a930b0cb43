"""`istioRevisions` and `istioRevisionTags`: which Istio versions run side by side and which tag
points at which (the plan in `components/model/revisions.py`). Pure; problems are collected, never raised."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from components.config.validate import Problems, expect, given, key_path, shown
from components.model import versions
from components.model.revisions import DEFAULT_TAG, IstioRevision, RevisionPlan, revision_name, version_key

MAX_REVISIONS = 2
# As `istioVersion`: released versions only, no leading zeros, bounded (Helm would not find "1.030.3").
_VERSION = re.compile(r"(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})", re.ASCII)
# A tag is a label value (`istio.io/rev=<tag>`) and part of an object name.
_TAG = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def parse_revisions(raw: Mapping[str, Any], istio_version: Any, problems: Problems) -> RevisionPlan | None:
    """The plan, or None if a problem was found. `istio_version` is `istioVersion` as parsed
    (its own problems already reported); set next to `istioRevisions`, it names the version that
    is the unrevisioned release a stack deployed before revisions has."""
    if raw.get("istioRevisions") is None:
        versions_ = [istio_version] if isinstance(istio_version, str) and _VERSION.fullmatch(istio_version) else None
        unrevisioned = istio_version
    else:
        versions_ = _parse_versions(raw["istioRevisions"], problems)
        unrevisioned = raw.get("istioVersion")
        if (
            versions_
            and isinstance(unrevisioned, str)
            and _VERSION.fullmatch(unrevisioned)
            and unrevisioned not in versions_
        ):
            problems.add(
                "istioVersion",
                f"{shown(unrevisioned)} is not one of istioRevisions {versions_}: next to istioRevisions,"
                " istioVersion names"
                " the installed version that is the unrevisioned `istiod` release (a stack deployed before"
                " revisions); add it to istioRevisions, or remove istioVersion once that version is removed",
            )
            return None
    if not versions_:
        return None
    revisions = tuple(IstioRevision(v, "" if v == unrevisioned else revision_name(v)) for v in versions_)
    tags = _parse_tags(raw.get("istioRevisionTags"), revisions, problems)
    return RevisionPlan(revisions=revisions, tags=tags) if tags is not None else None


def _parse_versions(value: Any, problems: Problems) -> list[str] | None:
    key = "istioRevisions"
    example = f'["{versions.DEFAULT_ISTIO_VERSION}"]'
    if not expect(value, list, key, problems, example):
        return None
    if not 1 <= len(value) <= MAX_REVISIONS:
        problems.add(
            key,
            f"lists {len(value)} versions; install one, or two side by side during a canary upgrade"
            " (remove the old version before adding a third)",
        )
        return None
    minimum = ".".join(map(str, versions.MIN_ISTIO_VERSION))
    good = []
    for index, version in enumerate(value):
        path = f"{key}[{index}]"
        if not isinstance(version, str):
            problems.add(
                path, f'must be a version string like "{versions.DEFAULT_ISTIO_VERSION}", got {given(version)}'
            )
        elif not _VERSION.fullmatch(version):
            problems.add(
                path,
                f"{shown(version)} is not a released Istio version (MAJOR.MINOR.PATCH, no prefix or pre-release"
                " suffix)",
            )
        elif version_key(version) < versions.MIN_ISTIO_VERSION:
            problems.add(path, f"{version} is older than {minimum}, the oldest release this program's Helm values fit")
        elif version in good:
            problems.add(path, f"{version} is listed twice; each version is one revision")
        else:
            good.append(version)
    return good if len(good) == len(value) else None


def _parse_tags(value: Any, revisions: tuple[IstioRevision, ...], problems: Problems) -> dict[str, str] | None:
    key = "istioRevisionTags"
    installed = [r.version for r in revisions]
    if value is None:
        return {DEFAULT_TAG: installed[0]}
    if not expect(value, dict, key, problems, f'{{"default": "{installed[0]}"}}'):
        return None
    ok = True
    names = {r.name for r in revisions if r.name}
    for tag, version in value.items():
        path = key_path(key, tag)
        if not (isinstance(tag, str) and _TAG.fullmatch(tag)):
            problems.add(
                path,
                f"tag {shown(tag)} must be a DNS label (lowercase letters, digits, '-'; at most 63), e.g. \"canary\"",
            )
            ok = False
        elif tag in names:
            problems.add(
                path,
                f"tag {tag!r} is the name of a revision, whose own webhook already serves istio.io/rev={tag};"
                " pick another name",
            )
            ok = False
        if not isinstance(version, str) or version not in installed:
            problems.add(
                path,
                f"points at {shown(version)}, which is not one of istioRevisions {installed}; a tag points at"
                " an installed version",
            )
            ok = False
    if DEFAULT_TAG not in value:
        problems.add(
            key,
            f"has no `{DEFAULT_TAG}` tag; it serves istio-injection=enabled and the gateways, so say which"
            f' version it points at, e.g. {{"{DEFAULT_TAG}": "{installed[0]}"}}',
        )
        ok = False
    return dict(value) if ok else None


def support_notices(plan: RevisionPlan, today: datetime.date) -> list[str]:
    """Warnings for the installed Istio versions: a minor past, or within six weeks of, its end of
    life; a patch without the security fixes of a later one; a minor newer than the charts this
    program's values were checked against."""
    notices = []
    checked = sorted(versions.ISTIO_MINORS, key=version_key)
    for version in sorted({r.version for r in plan.revisions}, key=version_key):
        major, minor, patch = version_key(version)
        line = f"{major}.{minor}"
        window = versions.ISTIO_MINORS.get(line)
        if window is None:
            if version_key(line) > version_key(checked[-1]):
                notices.append(
                    f"Istio {version}: this program's Helm values were checked against the"
                    f" {' and '.join(checked)} charts"
                    f" only; render them against the {line} charts before `pulumi up`"
                    " (docs/operations/upgrading.md#upgrading-istio)"
                )
            continue
        released = datetime.date.fromisoformat(window["released"])
        if window["end_of_life"] is None and (today - released).days > versions.ISTIO_UNKNOWN_END_AFTER_DAYS:
            notices.append(
                f"Istio {line} was released on {released} and its end of life is not recorded in this program"
                " (components/model/versions.py); check istio.io/latest/docs/releases/supported-releases/ and upgrade"
            )
        if window["end_of_life"] is not None:
            ends = datetime.date.fromisoformat(window["end_of_life"])
            if today >= ends:
                notices.append(
                    f"Istio {line} reached its end of life on {ends}: no more security fixes; upgrade"
                    " (docs/operations/upgrading.md#upgrading-istio)"
                )
            elif (ends - today).days <= versions.ISTIO_END_OF_LIFE_NOTICE_DAYS:
                notices.append(
                    f"Istio {line} reaches its end of life on {ends}; plan the upgrade"
                    " (docs/operations/upgrading.md#upgrading-istio)"
                )
        fixed = versions.ISTIO_SECURITY_FIXES.get(line)
        if fixed is not None and patch < fixed[0]:
            notices.append(
                f"Istio {version} lacks the fixes of {fixed[1]} (in {line}.{fixed[0]} and later);"
                f" upgrade to {line}.{fixed[0]} or newer, e.g. {versions.DEFAULT_ISTIO_VERSION}"
                " (docs/operations/upgrading.md#upgrading-istio)"
            )
    return notices
