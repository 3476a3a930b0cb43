"""`python -m check Pulumi.<stack>.yaml [--stack NAME] [--outputs FILE]`: exit 0 with the plan, 2 with
the config's problems (the same messages `pulumi up` would stop with), no AWS and no Pulumi CLI needed.

`--outputs` takes what `pulumi stack output --json` printed for the deployed stack: the config is
then checked against it as `pulumi up` would (generations only go up), and the reader tokens' ages
are warned about.

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
from components.config.aws_settings import parse_aws_settings
from components.config.parse import parse_mesh_spec
from components.config.sources import image_pull_notices
from components.config.stack import last_deployment_from_outputs
from components.model.credentials import age_notices
from components.model.spec import PROJECT


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
    today = today or datetime.date.today()
    now = datetime.datetime.combine(today, datetime.time(12), tzinfo=datetime.UTC)
    try:
        spec = parse_mesh_spec(project, default_region=aws.get("region"), stack=stack, now=now, last=last)
        parse_aws_settings(
            aws, regions=[c.region for c in spec.clusters], kubeconfig_role=spec.access.kubeconfig_role_arn
        )
    except pulumi.RunError as err:
        print(str(err), file=sys.stderr)
        return 2
    if encrypted:
        print(f"not checked offline (encrypted): {', '.join(encrypted)}")
    print(plan_text(spec, today))
    warnings = [*age_notices(spec.reader_tokens, now), *image_pull_notices(spec)]
    if warnings:
        print("warnings:\n" + "\n".join(f"  {w}" for w in warnings))
    return 0
