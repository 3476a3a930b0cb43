"""`python -m check Pulumi.<stack>.yaml [--stack NAME] [--outputs FILE]`: exit 0 with the plan, 2 with
the config's problems (the same messages `pulumi up` would stop with), no AWS and no Pulumi CLI needed.

`--outputs` takes what `pulumi stack output --json` printed for the deployed stack: the config is
then checked against it as `pulumi up` would (ranges kept, generations only going up), and warned
about as `pulumi up` would (the reader tokens' ages among them).

Values stored encrypted (`secure:`) cannot be read offline: they are left out, and named."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

import pulumi
import yaml

from check.plan import plan_text
from components.config import clock
from components.config.stack import last_deployment_from_outputs
from components.config.whole import check_stack_config
from components.model.spec import PROJECT

# Keys without which there is no plan to show: offline, an encrypted one cannot be read.
_NEEDED = ("clusters",)


def _stack_values(path: Path) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(project keys, aws keys, encrypted keys left out) of a stack file."""
    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config") or {}
    project, aws, encrypted = {}, {}, []
    for key, value in config.items():
        namespace, _, name = str(key).partition(":")
        if isinstance(value, dict) and set(value) == {"secure"}:
            encrypted.append(str(key))
            continue
        if namespace == PROJECT:
            project[name] = value
        elif namespace == "aws":
            aws[name] = value
    return project, aws, encrypted


def main(argv: list[str] | None = None, today: datetime.date | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m check", description=__doc__)
    parser.add_argument("stack_file", type=Path, help="a Pulumi.<stack>.yaml")
    parser.add_argument("--stack", help="the stack name (default: from the file name)")
    parser.add_argument("--outputs", type=Path, help="the deployed stack's `pulumi stack output --json`")
    args = parser.parse_args(argv)
    if not args.stack_file.is_file():
        print(f"{args.stack_file}: no such file", file=sys.stderr)
        return 2
    stack = args.stack or args.stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
    try:
        project, aws, encrypted = _stack_values(args.stack_file)
    except yaml.YAMLError as err:
        print(f"{args.stack_file}: not YAML ({str(err).splitlines()[0]})", file=sys.stderr)
        return 2
    try:
        outputs = json.loads(args.outputs.read_text()) if args.outputs else {}
    except (OSError, ValueError) as err:
        print(f"{args.outputs}: not the JSON of `pulumi stack output --json` ({err})", file=sys.stderr)
        return 2
    last = last_deployment_from_outputs(outputs if isinstance(outputs, dict) else {})
    today = today or clock.now().date()
    now = datetime.datetime.combine(today, datetime.time(12), tzinfo=datetime.UTC)
    unreadable = [key for key in encrypted if key.removeprefix(f"{PROJECT}:") in _NEEDED]
    if unreadable:
        print(
            f"{', '.join(unreadable)}: stored encrypted, which this offline check cannot read, and the plan"
            " needs it; check a copy of the stack file with the value in plain text (never commit it)",
            file=sys.stderr,
        )
        return 2
    try:
        checked = check_stack_config(project, aws, stack=stack, now=now, last=last)
    except pulumi.RunError as err:
        print(str(err), file=sys.stderr)
        return 2
    if encrypted:
        print(f"not checked offline (encrypted): {', '.join(encrypted)}")
    if checked.spec.connectivity.transit_gateways:
        print(
            "not checked offline: what AWS says of transitGateways (their owner, the operators' attachment, the"
            " routes in returnRouteTable); `pulumi up` reads them and refuses what AWS would before creating anything"
        )
    for warning in [*checked.warnings, *checked.aws.notices]:
        print(f"warning: {warning}")
    print(plan_text(checked.plan, today))
    return 0
