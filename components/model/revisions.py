"""The revision plan: which Istio versions run side by side as istiod revisions, and which tag
points at which. Pure values, decided once from `istioRevisions` / `istioRevisionTags`.

A revision is one istiod release of one Istio version, named after it (`1.31.1` -> `1-31-1`:
Deployment, Service and webhooks `istiod-1-31-1`). A stack deployed before revisions has an
unrevisioned release `istiod`; while `istioVersion` names one of `istioRevisions` (or
`istioRevisions` is unset) that version stays that release, so nothing is reinstalled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_TAG = "default"


def revision_name(version: str) -> str:
    return version.replace(".", "-")


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True)
class IstioRevision:
    version: str
    # The chart's `revision`; "" for the unrevisioned release of a stack deployed before revisions.
    name: str

    @property
    def unrevisioned(self) -> bool:
        return not self.name

    @property
    def release(self) -> str:
        """The Helm release, the Pulumi role, the Deployment and the Service: all one name."""
        return f"istiod-{self.name}" if self.name else "istiod"

    @property
    def label(self) -> str:
        """The `istio.io/rev` label of its pods and webhooks, which its istiod answers to."""
        return self.name or "default"

    @property
    def remote_service(self) -> str:
        """On a remote with a local injector: the Service its proxies take xDS from (an
        ExternalName to the primary), as the chart's remote-istiod-service.yaml names it."""
        return f"{self.release}-remote"


@dataclass(frozen=True)
class RevisionPlan:
    """One or two revisions side by side, and the tags pointing at them."""

    revisions: tuple[IstioRevision, ...]
    # tag -> version; always has `default`.
    tags: Mapping[str, str]

    @classmethod
    def single(cls, version: str) -> RevisionPlan:
        """A stack that never set `istioRevisions`: one unrevisioned release, as before."""
        return cls(revisions=(IstioRevision(version, ""),), tags={DEFAULT_TAG: version})

    def revision(self, version: str) -> IstioRevision:
        return next(r for r in self.revisions if r.version == version)

    def target(self, tag: str) -> IstioRevision:
        return self.revision(self.tags[tag])

    @property
    def default(self) -> IstioRevision:
        return self.target(DEFAULT_TAG)

    @property
    def newest(self) -> str:
        """The version of the one `base` (CRDs) release: CRDs are backward compatible."""
        return max((r.version for r in self.revisions), key=version_key)

    def webhook_tags(self) -> list[str]:
        """Tags with a webhook object of their own: all but a `default` the unrevisioned release serves."""
        return [t for t in sorted(self.tags) if not (t == DEFAULT_TAG and self.target(t).unrevisioned)]
