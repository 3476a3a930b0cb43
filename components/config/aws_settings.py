"""The stack's `aws:` settings that the program's explicit AWS providers (one per region) and the
kubeconfigs must honour, as the default provider would; each checked like the program's own keys.

Honoured by every provider: `aws:profile`, `aws:assumeRoles` (or `aws:assumeRole`, its pulumi-aws 6
form), `aws:defaultTags` (merged under the mesh's own tags, and passed to the load balancer
controllers), and every other setting of the pinned AWS provider (its `Provider` arguments:
`allowedAccountIds`, `endpoints`, `ignoreTags`, `maxRetries`, ...). The region of each provider is
its clusters' `region`; `aws:region` only defaults that. Refused, with the key named: keys the AWS
provider does not have (typos), and credentials the kubeconfigs could not use as well (static keys,
web identity), since the clusters would then be administered as someone else than they were created.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi_aws as aws

from components.config.eks import region_partition
from components.config.validate import ConfigError, Problems, given, key_path, shown, unknown_fields
from components.model.aws_settings import AwsSettings


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _arguments(init: Any) -> dict[str, str]:
    """camelCase config name -> annotation text, for each argument of a pulumi-aws constructor."""
    skipped = {"self", "__self__", "resource_name", "opts", "__props__"}
    return {_camel(n): str(p.annotation) for n, p in inspect.signature(init).parameters.items() if n not in skipped}


# Every setting of the pinned AWS provider, as `aws:<key>` names it, with its type.
PROVIDER_SETTINGS = _arguments(getattr(aws.Provider, "_internal_init", aws.Provider.__init__))
# Handled on their own below; `region` is each cluster's.
_OWN = {"region", "profile", "assumeRoles", "defaultTags"}
# The kubeconfigs run `aws eks get-token` with the profile and the role only: with these the
# providers would be someone the kubeconfigs are not.
_NOT_FOR_KUBECONFIGS = {
    "accessKey": "static credentials",
    "secretKey": "static credentials",
    "token": "static credentials",
    "assumeRoleWithWebIdentity": "a web identity",
}
_OBJECTS = {"endpoints": aws.ProviderEndpointArgs, "ignoreTags": aws.ProviderIgnoreTagsArgs}
_ASSUME_ROLE_FIELDS = _arguments(aws.ProviderAssumeRoleArgs.__init__)
_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>[0-9]{12}):role/(?:[A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}"
)
# Go durations, as the provider parses them: "1h", "15m", "1h30m".
_DURATION = re.compile(r"([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+")
_SESSION_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{2,64}")
_EXTERNAL_ID = re.compile(r"[A-Za-z0-9+=,.@:/_-]{2,1224}")
# A profile name as a config file section can spell it: printable ASCII, no surrounding spaces (the
# kubeconfigs pass it as one argument, `--profile <name>`, never through a shell).
# One name of a shared config file's `[profile <name>]` section: printable ASCII, no spaces at either
# end, and no brackets, which that section header cannot hold, so that a list (`aws:profile: [dev,
# prod]` reaches the program as the text '["dev", "prod"]') is refused rather than taken as a name.
_PROFILE = re.compile(r"[!-Z\\^-~]([ -Z\\^-~]{0,126}[!-Z\\^-~])?", re.ASCII)
# Tags as every AWS service takes them (letters, digits, spaces and _.:/=+-@; keys 1-128, values up
# to 256), without `=` in keys or commas, which the controller's `--default-tags k=v,...` splits on.
_TAG_KEY = re.compile(r"[A-Za-z0-9 _.:/+\-@]{1,128}")
_TAG_VALUE = re.compile(r"[A-Za-z0-9 _.:/=+\-@]{0,256}")
# Tags the load balancer controller keeps for itself and refuses in `--default-tags`
# (pkg/config/controller_config.go, trackingTagKeys@v3.5.0).
CONTROLLER_TAG_KEYS = frozenset(
    {
        "elbv2.k8s.aws/cluster",
        "elbv2.k8s.aws/resource",
        "ingress.k8s.aws/stack",
        "ingress.k8s.aws/resource",
        "service.k8s.aws/stack",
        "service.k8s.aws/resource",
        "gateway.k8s.aws.nlb/resource",
        "gateway.k8s.aws.alb/resource",
        "gateway.k8s.aws.nlb/stack",
        "gateway.k8s.aws.alb/stack",
    }
)


def parse_aws_settings(
    values: Mapping[str, Any],
    regions: Sequence[str] = (),
    secret_keys: frozenset[str] = frozenset(),
    kubeconfig_role: str | None = None,
) -> AwsSettings:
    """`values`: the stack's `aws:` config, key without namespace -> decoded JSON value; `regions`:
    the clusters' regions, whose partition every role ARN must be in; `secret_keys`: the keys
    stored encrypted; `kubeconfig_role`: `kubeconfigRoleArn`, which the kubeconfigs assume instead
    of the providers' role."""
    # Messages name the keys `aws:<key>`, and withhold what the stack stores with `--secret`.
    problems = Problems(frozenset(f"aws:{k}" for k in secret_keys), {f"aws:{k}": v for k, v in values.items()})
    others: dict[str, Any] = {}
    for key, value in values.items():
        if key in _OWN or key == "assumeRole":
            continue
        if key in _NOT_FOR_KUBECONFIGS:
            problems.add(
                f"aws:{key}",
                f"{_NOT_FOR_KUBECONFIGS[key]} would reach the AWS providers but not the kubeconfigs (`aws eks"
                " get-token`"
                " with the profile and role); use aws:profile (a profile may hold these) and aws:assumeRoles",
            )
        elif key in _ACCOUNT_LISTS:
            checked = _account_ids(key, value, problems)
            if checked is not None:
                others[_snake(key)] = checked
        elif key not in PROVIDER_SETTINGS:
            near = difflib.get_close_matches(key, [*PROVIDER_SETTINGS, "assumeRole"], n=1)
            problems.add(
                f"aws:{key}",
                "is not a setting of the AWS provider" + (f"; did you mean aws:{near[0]}?" if near else ""),
            )
        else:
            checked = _check_setting(key, value, problems)
            if key in ("sharedConfigFiles", "sharedCredentialsFiles") and checked is not None and len(checked) != 1:
                problems.add(
                    f"aws:{key}", "must list one file: the AWS CLI behind the kubeconfigs reads one of each kind"
                )
            elif checked is not None:
                others[_snake(key)] = checked
    if values.get("assumeRole") is not None and values.get("assumeRoles") is not None:
        problems.add(
            "aws:assumeRole", "is set next to aws:assumeRoles; keep one (aws:assumeRoles, a list, is the current form)"
        )
    roles = assume_roles_of(values)
    _check_account_ids(values, roles, problems)
    assume_roles = _parse_assume_roles(roles, {region_partition(r) for r in regions}, problems)
    notices = _check_kubeconfigs_can_follow(assume_roles, problems) if kubeconfig_role is None else []
    profile = values.get("profile")
    if profile is not None and not (isinstance(profile, str) and _PROFILE.fullmatch(profile)):
        listed = isinstance(profile, list) or (isinstance(profile, str) and profile.lstrip().startswith("["))
        problems.add(
            "aws:profile",
            ("names one profile, not a list: put the settings the stack needs into one profile; " if listed else "")
            + f"must be a profile name (printable ASCII, no brackets, no spaces at either end), got {shown(profile)}",
        )
    tags = _parse_default_tags(values.get("defaultTags"), problems)
    _check_tags(tags, problems)
    if problems.items:
        raise ConfigError(problems.items)
    return AwsSettings(
        profile=profile or None,
        assume_roles=tuple(assume_roles),
        others=others,
        default_tags={str(k): str(v) for k, v in tags.items()},
        secrets=frozenset("assume_roles" if k == "assumeRole" else _snake(k) for k in secret_keys),
        notices=tuple(notices),
    )


# The provider compares the caller's account ID with these lists as text, exactly
# (aws-sdk-go-base v2 `Config.VerifyAccountIDAllowed`: slices.Contains), after assuming the role: an
# ID is 12 ASCII digits, and a YAML number loses its leading zeros. The two are exclusive
# (terraform-provider-aws internal/provider/sdkv2/provider.go: `ConflictsWith`).
_ACCOUNT_LISTS = ("allowedAccountIds", "forbiddenAccountIds")
_ACCOUNT_ID = re.compile(r"[0-9]{12}", re.ASCII)


def _account_ids(key: str, value: Any, problems: Problems) -> tuple[str, ...] | None:
    path = f"aws:{key}"
    if not isinstance(value, list):
        problems.add(path, f'must be a list of 12-digit account IDs, e.g. ["111122223333"], got {given(value)}')
        return None
    ok = True
    for i, item in enumerate(value):
        if isinstance(item, str) and _ACCOUNT_ID.fullmatch(item):
            continue
        ok = False
        quote = " (quote it: a YAML number loses leading zeros)" if isinstance(item, int) else ""
        problems.add(f"{path}[{i}]", f"must be a 12-digit AWS account ID{quote}, got {given(item)}")
    return tuple(value) if ok else None


def assume_roles_of(values: Mapping[str, Any]) -> Any:
    """`aws:assumeRoles`, or `aws:assumeRole` as a list of one."""
    roles = values.get("assumeRoles")
    return [values["assumeRole"]] if roles is None and values.get("assumeRole") is not None else roles


def _check_account_ids(values: Mapping[str, Any], roles: Any, problems: Problems) -> None:
    """The two lists together, and against the account of the role the providers assume, which is
    the caller whose account the provider checks: a mismatch fails every call."""
    allowed, forbidden = values.get("allowedAccountIds"), values.get("forbiddenAccountIds")
    if allowed is not None and forbidden is not None:
        problems.add(
            "aws:allowedAccountIds",
            "is set next to aws:forbiddenAccountIds; the AWS provider takes one of the two: keep the allowed"
            " list (it already refuses every other account) and remove aws:forbiddenAccountIds",
        )
        return
    last = roles[-1] if isinstance(roles, list) and roles else None
    arn = last.get("roleArn") if isinstance(last, dict) else None
    match = _ROLE_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        return
    account = match["account"]
    if isinstance(forbidden, list) and account in forbidden:
        problems.add(
            f"aws:forbiddenAccountIds[{forbidden.index(account)}]",
            "is the account of the role aws:assumeRoles names, which every AWS call is made as: the"
            " provider would refuse them all; remove it, or assume a role of another account",
        )
    if isinstance(allowed, list) and all(isinstance(a, str) for a in allowed) and account not in allowed:
        problems.add(
            "aws:allowedAccountIds",
            "does not list the account of the role aws:assumeRoles names, which every AWS call is made as:"
            " the provider would refuse them all; add that account, or assume a role of a listed one",
        )


def _parse_default_tags(value: Any, problems: Problems) -> dict[str, Any]:
    """`aws:defaultTags`, the provider's DefaultTags: one field, `tags` (a typo of it would tag nothing)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not isinstance(value.get("tags", {}), dict):
        problems.add("aws:defaultTags", f'must be {{"tags": {{"key": "value"}}}}, got {given(value)}')
        return {}
    unknown_fields(value, ("tags",), "aws:defaultTags", problems)
    return value.get("tags", {})


def _check_setting(key: str, value: Any, problems: Problems) -> Any:
    """A provider setting of a plain type, a list of strings, or one of the provider's objects."""
    kind = PROVIDER_SETTINGS[key]
    path = f"aws:{key}"
    if key in _OBJECTS:
        return _check_object(key, value, problems)
    if "typing.Sequence[typing.Union[str" in kind:
        if isinstance(value, list) and all(isinstance(v, str) and v and v.isascii() for v in value):
            return tuple(value)
        problems.add(path, f"must be a list of strings, got {given(value)}")
    elif kind.startswith("typing.Union[bool"):
        if isinstance(value, bool):
            return value
        problems.add(path, f"must be true or false, got {given(value)}")
    elif kind.startswith("typing.Union[int"):
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1_000_000:
            return value
        problems.add(path, f"must be a whole number from 0 to 1000000, got {given(value)}")
    elif kind.startswith("typing.Union[str"):
        if isinstance(value, str) and value.strip() == value and value.isprintable() and value:
            return value
        problems.add(path, f"must be a string without surrounding spaces or newlines, got {shown(value)}")
    else:
        problems.add(path, "is an AWS provider setting this program does not pass on; remove it")
    return None


def _check_object(key: str, value: Any, problems: Problems) -> Any:
    path = f"aws:{key}"
    entries = value if key == "endpoints" else [value]
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        example = (
            '[{"s3": "https://s3.example.com"}]'
            if key == "endpoints"
            else '{"keys": ["owner"], "keyPrefixes": ["kubernetes.io/"]}'
        )
        problems.add(path, f"must be like {example}, got {given(value)}")
        return None
    fields = _arguments(_OBJECTS[key].__init__)
    converted = []
    for entry in entries:
        unknown = sorted(set(entry) - set(fields))
        if unknown:
            problems.add(
                path, f"unknown field(s) {', '.join(map(shown, unknown[:5]))}{' and more' if len(unknown) > 5 else ''}"
            )
            return None
        if not all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v)) for v in entry.values()
        ):
            problems.add(path, "takes strings (or, for ignoreTags, lists of strings) only")
            return None
        converted.append({_snake(k): v for k, v in entry.items()})
    return converted if key == "endpoints" else converted[0]


def _parse_assume_roles(roles: Any, partitions: set[str], problems: Problems) -> list[dict[str, Any]]:
    if roles is None:
        return []
    if not isinstance(roles, list) or not roles:
        problems.add(
            "aws:assumeRoles",
            f'must be a list of roles, e.g. [{{"roleArn": "arn:aws:iam::111122223333:role/deployer"}}], got'
            f" {given(roles)}",
        )
        return []
    parsed = []
    for i, role in enumerate(roles):
        path = f"aws:assumeRoles[{i}]"
        if not isinstance(role, dict) or not isinstance(role.get("roleArn"), str):
            problems.add(
                path, 'must be an object with a roleArn, e.g. {"roleArn": "arn:aws:iam::111122223333:role/deployer"}'
            )
            continue
        unknown = sorted(set(role) - set(_ASSUME_ROLE_FIELDS))
        if unknown:
            problems.add(
                path, f"unknown field(s) {', '.join(map(shown, unknown[:5]))}; known: {', '.join(_ASSUME_ROLE_FIELDS)}"
            )
        arn = _ROLE_ARN.fullmatch(role["roleArn"])
        if arn is None:
            problems.add(
                f"{path}.roleArn",
                f"{shown(role['roleArn'])} is not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>; not a"
                " session)",
            )
        elif partitions - {arn["partition"]}:
            problems.add(
                f"{path}.roleArn",
                f"is in partition {arn['partition']}, but the clusters are in {', '.join(sorted(partitions))}",
            )
        for name, pattern, example in (
            ("duration", _DURATION, "1h"),
            ("sessionName", _SESSION_NAME, "pulumi"),
            ("externalId", _EXTERNAL_ID, "mesh-ci"),
        ):
            if name in role and not (isinstance(role[name], str) and pattern.fullmatch(role[name])):
                problems.add(f"{path}.{name}", f"must be a string like {example!r}, got {shown(role[name])}")
        for name in ("policyArns", "transitiveTagKeys"):
            if name in role and not (
                isinstance(role[name], list) and all(isinstance(v, str) and v for v in role[name])
            ):
                problems.add(f"{path}.{name}", f"must be a list of strings, got {given(role[name])}")
        if "tags" in role and not (
            isinstance(role["tags"], dict) and all(isinstance(v, str) for v in role["tags"].values())
        ):
            problems.add(f"{path}.tags", f"must be an object of strings, got {given(role['tags'])}")
        parsed.append({_snake(k): v for k, v in role.items() if k in _ASSUME_ROLE_FIELDS})
    return parsed


# What `aws eks get-token` cannot pass when it assumes the providers' role: its own options are
# --cluster-name, --role-arn and --cluster-id (docs.aws.amazon.com/cli/latest/reference/eks/get-token.html).
# A chain and an external ID change whether the role can be assumed at all, so the kubeconfigs
# would be denied; the rest changes the session, not the principal EKS maps it to (the role), so
# the kubeconfigs work unless the role's trust policy requires them: worth a warning.
_SESSION_ONLY = ("session_name", "policy", "policy_arns", "source_identity", "tags", "transitive_tag_keys")


def _check_kubeconfigs_can_follow(roles: Sequence[Mapping[str, Any]], problems: Problems) -> list[str]:
    """The kubeconfigs (and the program's own Kubernetes providers) authenticate as the AWS providers
    do only if `--profile` and `--role-arn` say all. Returns the warnings for what only the session
    would differ in."""
    fix = "or set kubeconfigRoleArn to a role the profile's credentials may assume directly"
    profile = (
        "a profile of the AWS config file (role_arn with source_profile, external_id) and set aws:profile to it instead"
    )
    if len(roles) > 1:
        problems.add(
            "aws:assumeRoles",
            f"is a chain of {len(roles)} roles, but the kubeconfigs' `aws eks get-token --role-arn` assumes one"
            " role from the"
            f" profile's credentials and would be denied; chain the roles in {profile}, {fix}",
        )
        return []
    notices = []
    for role in roles:
        if "external_id" in role:
            problems.add(
                "aws:assumeRoles[0].externalId",
                "is not passed by `aws eks get-token`, so the kubeconfigs would be denied the role; move the"
                f" role into {profile}, {fix}",
            )
        differing = [_camel(name) for name in _SESSION_ONLY if name in role]
        if differing:
            notices.append(
                "aws:assumeRoles[0]: the kubeconfigs' `aws eks get-token --role-arn` assumes the role without"
                f" {', '.join(differing)}:"
                " EKS sees the same role, but a trust policy that requires them denies the kubeconfigs; then"
                " move the role into a"
                " profile of the AWS config file (role_session_name and the rest), or set kubeconfigRoleArn"
            )
    return notices


def _check_tags(tags: Mapping[Any, Any], problems: Problems) -> None:
    """The stack's tags go on every AWS resource, and through the controller's comma-separated
    `--default-tags` on its load balancers (whose tags allow no comma either)."""
    for key, value in tags.items():
        path = key_path("aws:defaultTags.tags", key)
        if not isinstance(key, str) or not _TAG_KEY.fullmatch(key) or key != key.strip():
            problems.add(path, "is not a tag key AWS takes: 1-128 letters, digits, spaces or _.:/+-@, no `=`")
        elif key in CONTROLLER_TAG_KEYS or key.lower().startswith("aws:"):
            problems.add(path, "is a tag AWS or the load balancer controller sets itself; use another key")
        elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
            # A number is taken as written (`1234`); `true` or a list would reach AWS as Python spells them.
            problems.add(path, f"must be a string (quote it), got {given(value)}")
        elif not _TAG_VALUE.fullmatch(str(value)):
            problems.add(
                path,
                f"{shown(value)} is not a tag value AWS takes: up to 256 letters, digits, spaces or _.:/=+-@"
                " (no commas)",
            )
