"""The stack's `aws:` settings as keyword arguments of every AWS provider the mesh makes."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.model.aws_settings import AwsSettings

# The provider settings that are objects, by their argument name.
_OBJECTS = {"endpoints": aws.ProviderEndpointArgs, "ignore_tags": aws.ProviderIgnoreTagsArgs}


def provider_args(settings: AwsSettings) -> dict[str, Any]:
    """Keyword arguments for aws.Provider, beyond region and tags; those stored with `--secret`
    reach it as Pulumi secrets, so the state keeps them encrypted."""
    args: dict[str, Any] = {"profile": settings.profile}
    if settings.assume_roles:
        # Input types, not dicts: the provider sends these as JSON, and a dict's snake_case keys
        # would reach it untranslated (and be ignored).
        args["assume_roles"] = [aws.ProviderAssumeRoleArgs(**r) for r in settings.assume_roles]
    for name, value in settings.others.items():
        kind = _OBJECTS.get(name)
        if kind is aws.ProviderEndpointArgs:
            value = [kind(**entry) for entry in value]
        elif kind is not None:
            value = kind(**value)
        args[name] = list(value) if isinstance(value, tuple) else value
    return {
        name: pulumi.Output.secret(value) if name in settings.secrets and value is not None else value
        for name, value in args.items()
    }
