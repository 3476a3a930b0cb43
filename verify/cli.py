"""Command line of `python -m verify`: reads the stack outputs, runs the checks, prints a table."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from typing import Callable

from verify.checks import ClusterApi, ClusterTarget, Result, verify_mesh


class UsageError(Exception):
    """A problem before any cluster is contacted (no outputs, no Pulumi CLI, ...)."""


def read_stack_outputs(stack: str | None, outputs_file: str | None) -> dict:
    if outputs_file:
        try:
            text = sys.stdin.read() if outputs_file == "-" else open(outputs_file).read()
        except OSError as err:
            raise UsageError(f"cannot read {outputs_file}: {err.strerror}") from err
    else:
        if shutil.which("pulumi") is None:
            raise UsageError("the Pulumi CLI is not on PATH; install it, or pass --outputs FILE (pulumi stack output --json --show-secrets)")
        command = ["pulumi", "stack", "output", "--json", "--show-secrets", *(["--stack", stack] if stack else [])]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise UsageError(f"`{' '.join(command)}` failed: {done.stderr.strip() or done.stdout.strip()}")
        text = done.stdout
    try:
        return json.loads(text or "{}")
    except ValueError as err:
        raise UsageError(f"the stack outputs are not JSON ({err})") from err


def targets_from_outputs(outputs: dict) -> list[ClusterTarget]:
    clusters = outputs.get("clusters")
    if not clusters:
        raise UsageError("no stack outputs: the stack has no `clusters` output; run `pulumi up` first (or pick the stack with --stack)")
    targets = []
    for name, entry in clusters.items():
        kubeconfig = entry.get("kubeconfig")
        if not kubeconfig or kubeconfig == "[secret]":
            raise UsageError(f"cluster {name} has no readable kubeconfig in the outputs; use --show-secrets")
        targets.append(
            ClusterTarget(
                name=name,
                kubeconfig=json.loads(kubeconfig) if isinstance(kubeconfig, str) else kubeconfig,
                endpoint=entry.get("endpoint", "?"),
                sample_version=entry.get("sampleVersion"),
                role=entry.get("role", "primary"),
                has_gateway=entry.get("eastWestAddress") is not None,
                istiods=tuple(entry.get("istiodDeployments") or ("istiod",)),
            )
        )
    return targets


def format_table(results: list[Result]) -> str:
    rows = [("CLUSTER", "CHECK", "RESULT", "DETAIL")] + [(r.cluster, r.check, "pass" if r.passed else "FAIL", r.detail) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}" for a, b, c, d in rows)


def main(argv: list[str] | None = None, connect: Callable[[ClusterTarget], ClusterApi] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify", description="Check that the deployed mesh works.")
    parser.add_argument("--stack", help="Pulumi stack to read (default: the selected stack)")
    parser.add_argument("--outputs", help="read stack outputs from this JSON file ('-' for stdin) instead of the Pulumi CLI")
    parser.add_argument("--requests", type=int, help="requests from each cluster to helloworld (default: 10 per cluster)")
    parser.add_argument("--timeout", type=int, default=120, help="seconds allowed for each cluster's requests (default 120)")
    args = parser.parse_args(argv)
    if args.requests is not None and args.requests < 1:
        parser.error("--requests must be at least 1")

    try:
        targets = targets_from_outputs(read_stack_outputs(args.stack, args.outputs))
    except UsageError as err:
        print(f"verify: {err}", file=sys.stderr)
        return 2
    if connect is None:
        from verify.kube import KubernetesClusterApi as connect  # noqa: N813 - a factory

    results = verify_mesh(targets, connect, args.requests, args.timeout, progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(format_table(results))
    failed = [r for r in results if not r.passed]
    print(f"\nmesh NOT OK: {len(failed)} of {len(results)} checks failed" if failed else f"\nmesh OK: all {len(results)} checks passed")
    return 1 if failed else 0
