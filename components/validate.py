"""Building blocks of config validation: the error every bad config raises, the list of problems
it collects, and checks shared by every part of the parser (types, unknown fields, CIDRs).

Every check adds to `Problems` and goes on, so one run reports every problem at once; messages
name the key path and say what would be right.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Mapping

import pulumi

from .spec import PROJECT


class ConfigError(pulumi.RunError):
    """Invalid stack configuration. A RunError, so Pulumi prints the message without a traceback."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        lines = [f"  - {PROJECT}:{path}: {message}" for path, message in problems]
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__(
            f"invalid stack configuration ({count}); nothing was created:\n"
            + "\n".join(lines)
            + "\nFix the keys with `pulumi config set --path '<key>' <value>` or edit"
            " Pulumi.<stack>.yaml (see the README's config reference)."
        )


class Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append((path, message))


def type_name(value: Any) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def expect(value: Any, kind: type, path: str, problems: Problems, example: str) -> bool:
    # bool is an int in Python; a YAML `true` must not pass for a node count.
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        problems.add(path, f"must be {type_name(kind())}, got {type_name(value)} {value!r}; e.g. {example}")
    return ok


def unknown_fields(obj: Mapping[str, Any], known: tuple[str, ...], path: str, problems: Problems) -> None:
    lowered = {k.lower(): k for k in known}
    for key in obj:
        if key not in known:
            guess = lowered.get(str(key).lower())
            hint = f"did you mean `{guess}`?" if guess else f"known fields: {', '.join(known)}"
            problems.add(f"{path}.{key}", f"unknown field; {hint}")


def parse_cidr(value: Any, path: str, problems: Problems) -> ipaddress.IPv4Network | None:
    if not expect(value, str, path, problems, '"10.0.0.0/16"'):
        return None
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        try:
            fixed = ipaddress.IPv4Network(value, strict=False)
            problems.add(path, f"{value!r} has host bits set; did you mean {str(fixed)!r}?")
        except ValueError:
            problems.add(path, f"{value!r} is not an IPv4 CIDR ({err}); e.g. \"10.0.0.0/16\"")
        return None


def parse_cidr_list(value: Any, path: str, problems: Problems) -> tuple[str, ...] | None:
    if not expect(value, list, path, problems, '["203.0.113.10/32"]'):
        return None
    if not value:
        problems.add(path, "is empty; list at least one CIDR, or remove the key")
        return None
    cidrs = [parse_cidr(item, f"{path}[{i}]", problems) for i, item in enumerate(value)]
    if any(c is None for c in cidrs):
        return None
    return tuple(dict.fromkeys(str(c) for c in cidrs))

