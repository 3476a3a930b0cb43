"""The stack's `aws:` settings that the program's explicit AWS providers (one per region) and the
kubeconfigs must honour, as the default provider would.

Honoured: `aws:profile`, `aws:assumeRoles` (and `aws:assumeRole`, its pulumi-aws 6 form),
`aws:allowedAccountIds`, `aws:forbiddenAccountIds`, `aws:sharedConfigFiles`,
`aws:sharedCredentialsFiles`, and `aws:defaultTags` (merged under the mesh's own tags). The region
of each provider is its clusters' `region`; `aws:region` only defaults that. Credentials from the
environment (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`, ...) the providers read themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import pulumi
import pulumi_aws as aws

from components.config.validate import Problems, given

# aws:assumeRoles entries: config (camelCase) -> pulumi_aws.ProviderAssumeRoleArgs (snake_case).
_ASSUME_ROLE_FIELDS = (
    "roleArn", "sessionName", "externalId", "duration", "policy", "policyArns", "sourceIdentity", "tags",
    "transitiveTagKeys",
)
_LISTS = ("allowedAccountIds", "forbiddenAccountIds", "sharedConfigFiles", "sharedCredentialsFiles")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@dataclass(frozen=True)
class AwsSettings:
    profile: str | None = None
    # Each a dict of pulumi_aws.ProviderAssumeRoleArgs keywords, in chain order.
    assume_roles: tuple[Mapping[str, Any], ...] = ()
    # allowed_account_ids, forbidden_account_ids, shared_config_files, shared_credentials_files.
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default_tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def assumed_role_arn(self) -> str | None:
        """The role the providers end up as (the last of the chain): the clusters' creator."""
        return self.assume_roles[-1].get("role_arn") if self.assume_roles else None

    def provider_args(self) -> dict[str, Any]:
        """Keyword arguments for aws.Provider, beyond region and tags."""
        args: dict[str, Any] = {"profile": self.profile}
        if self.assume_roles:
            # Input types, not dicts: the provider sends these as JSON, and a dict's snake_case keys
            # would reach it untranslated (and be ignored).
            args["assume_roles"] = [aws.ProviderAssumeRoleArgs(**r) for r in self.assume_roles]
        args.update({key: list(values) for key, values in self.lists.items()})
        return args


# Tags the load balancer controller keeps for itself and refuses in `--default-tags`
# (pkg/config/controller_config.go, trackingTagKeys@v3.5.0).
CONTROLLER_TAG_KEYS = frozenset({
    "elbv2.k8s.aws/cluster", "elbv2.k8s.aws/resource", "ingress.k8s.aws/stack", "ingress.k8s.aws/resource",
    "service.k8s.aws/stack", "service.k8s.aws/resource", "gateway.k8s.aws.nlb/resource", "gateway.k8s.aws.alb/resource",
    "gateway.k8s.aws.nlb/stack", "gateway.k8s.aws.alb/stack",
})


def _check_tags(tags: Mapping[Any, Any], problems: Problems) -> None:
    """The stack's tags go on every AWS resource, and through the controller's comma-separated
    `--default-tags` on its load balancers (whose tags allow no comma either)."""
    for key, value in tags.items():
        path = f"aws:defaultTags.tags.{key}"
        if not isinstance(key, str) or not key.strip():
            problems.add("aws:defaultTags.tags", f"tag keys must be non-empty strings, got {given(key)}")
        elif key in CONTROLLER_TAG_KEYS or key.startswith("aws:"):
            problems.add(path, "is a tag AWS or the load balancer controller sets itself; use another key")
        elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
            # A number is taken as written (`1234`); `true` or a list would reach AWS as Python spells them.
            problems.add(path, f"must be a string (quote it), got {given(value)}")
        elif "," in key or "," in str(value):
            problems.add(path, "contains a comma, which load balancer tags do not allow; remove it")


def parse_aws_settings(values: Mapping[str, Any]) -> AwsSettings:
    """`values`: the stack's `aws:` config, key without namespace -> decoded JSON value."""
    problems = Problems()
    roles = values.get("assumeRoles")
    if roles is None and values.get("assumeRole") is not None:
        roles = [values["assumeRole"]]
    assume_roles = []
    if roles is not None:
        if not isinstance(roles, list):
            roles = [roles]
        for i, role in enumerate(roles):
            if not isinstance(role, dict) or not isinstance(role.get("roleArn"), str):
                problems.add(f"aws:assumeRoles[{i}]", 'must be an object with a roleArn, e.g. {"roleArn": "arn:aws:iam::111122223333:role/deployer"}')
                continue
            unknown = sorted(set(role) - set(_ASSUME_ROLE_FIELDS))
            if unknown:
                problems.add(f"aws:assumeRoles[{i}]", f"unknown field(s) {', '.join(unknown)}; known: {', '.join(_ASSUME_ROLE_FIELDS)}")
            assume_roles.append({_snake(k): v for k, v in role.items() if k in _ASSUME_ROLE_FIELDS})
    lists = {}
    for key in _LISTS:
        value = values.get(key)
        if value is None:
            continue
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.add(f"aws:{key}", f"must be a list of strings, got {given(value)}")
            continue
        lists[_snake(key)] = tuple(value)
    raw_tags = values.get("defaultTags") or {}
    tags = raw_tags.get("tags", {}) if isinstance(raw_tags, dict) else None
    if not isinstance(tags, dict):
        problems.add("aws:defaultTags", 'must be {"tags": {"key": "value"}}')
        tags = {}
    _check_tags(tags, problems)
    if problems.items:
        # The AWS provider's keys, not the project's: ConfigError would prefix them with the project.
        lines = "\n".join(f"  - {path}: {message}" for path, message in problems.items)
        raise pulumi.RunError(f"invalid AWS settings in the stack config; nothing was created:\n{lines}")
    profile = values.get("profile")
    return AwsSettings(
        profile=profile if isinstance(profile, str) and profile else None,
        assume_roles=tuple(assume_roles),
        lists=lists,
        default_tags={str(k): str(v) for k, v in tags.items()},
    )
