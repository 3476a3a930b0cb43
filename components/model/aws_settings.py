"""The stack's `aws:` settings as the mesh's providers and kubeconfigs take them (parsed and checked
by components/config/aws_settings.py; turned into provider arguments by components/aws/providers.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AwsSettings:
    profile: str | None = None
    # Each a dict of pulumi_aws.ProviderAssumeRoleArgs keywords, in chain order.
    assume_roles: tuple[Mapping[str, Any], ...] = ()
    # The other provider settings, by argument name (plain data; objects are made per provider).
    others: Mapping[str, Any] = field(default_factory=dict)
    default_tags: Mapping[str, str] = field(default_factory=dict)
    # Provider arguments stored with `--secret`: they reach the providers as Pulumi secrets, so the
    # state keeps them encrypted.
    secrets: frozenset[str] = frozenset()
    # Valid but worth a warning (where the kubeconfigs' session differs from the providers').
    notices: tuple[str, ...] = ()

    def shared_file(self, kind: str) -> str | None:
        """The one `sharedConfigFiles` / `sharedCredentialsFiles` entry, if set."""
        files = self.others.get(f"shared_{kind}_files")
        return files[0] if files else None

    @property
    def assumed_role_arn(self) -> str | None:
        """The role the providers end up as (the last of the chain): the clusters' creator."""
        return self.assume_roles[-1].get("role_arn") if self.assume_roles else None
