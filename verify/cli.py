"""Command line of `python -m verify`: reads the stack outputs, runs the checks, prints a table.

Anything unusable (a missing or malformed outputs file, a cluster entry of the wrong shape, a bad
argument) ends with one line on stderr and exit code 2, before any cluster is contacted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from verify.amp import Connect, check_metrics, cli_connect
from verify.checks import ClusterApi, ClusterTarget, Result, default_requests, verify_mesh
from verify.drill import drill_failover
from verify.trust import TrustOutputError, check_trust, trust_from_outputs

ROLES = ("primary", "remote")
MAX_REQUESTS, MAX_TIMEOUT = 1000, 3600
_HOW = (
    "pulumi stack output --json --show-secrets > outputs.json (or: pulumi stack output clusters --json --show-secrets)"
)


class UsageError(Exception):
    """A problem before any cluster is contacted (no outputs, no Pulumi CLI, ...)."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:50] + f"... ({len(text)} characters)"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {str: "a string", int: "a number", float: "a decimal number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def read_stack_outputs(stack: str | None, outputs_file: str | None) -> Any:
    if outputs_file:
        try:
            if outputs_file == "-":
                text = sys.stdin.read()
            else:
                with open(outputs_file, encoding="utf-8") as handle:
                    text = handle.read()
        except OSError as err:
            raise UsageError(f"cannot read {outputs_file}: {err.strerror or err}") from err
        except UnicodeDecodeError as err:
            raise UsageError(f"{outputs_file} is not a text file; write it with {_HOW}") from err
    else:
        if shutil.which("pulumi") is None:
            raise UsageError(f"the Pulumi CLI is not on PATH; install it, or pass --outputs FILE ({_HOW})")
        command = ["pulumi", "stack", "output", "--json", "--show-secrets", *(["--stack", stack] if stack else [])]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise UsageError(f"`{' '.join(command)}` failed: {(done.stderr.strip() or done.stdout.strip())[:500]}")
        text = done.stdout
    try:
        return json.loads(text or "{}")
    except ValueError as err:
        raise UsageError(f"the stack outputs are not JSON ({err}); write them with {_HOW}") from err
    except RecursionError as err:
        raise UsageError(f"the stack outputs nest too deeply to be stack outputs; write them with {_HOW}") from err


def _is_cluster_entry(value: Any) -> bool:
    return isinstance(value, dict) and ("kubeconfig" in value or "endpoint" in value)


def cluster_entries(outputs: Any) -> dict:
    """The `clusters` output, from a whole-stack outputs file or a `stack output clusters` one."""
    if not isinstance(outputs, dict):
        raise UsageError(f"the stack outputs must be a JSON object, got {_kind(outputs)}; write them with {_HOW}")
    clusters = outputs.get("clusters")
    if isinstance(clusters, dict) and not _is_cluster_entry(clusters):
        pass  # the whole stack's outputs
    elif any(_is_cluster_entry(v) for v in outputs.values()):
        clusters = outputs  # `pulumi stack output clusters --json`: cluster name -> entry
    elif clusters is not None:
        raise UsageError(f"the `clusters` output must be an object of clusters, got {_kind(clusters)}")
    if not clusters:
        raise UsageError(
            "no stack outputs: the stack has no `clusters` output; run `pulumi up` first (or pick the stack"
            " with --stack)"
        )
    return clusters


def _target(name: str, entry: Any) -> ClusterTarget:
    where = f"cluster {_shown(name)}"
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: its outputs must be an object, got {_kind(entry)}")
    kubeconfig = entry.get("kubeconfig")
    if not kubeconfig or kubeconfig == "[secret]":
        raise UsageError(f"{where} has no readable kubeconfig in the outputs; use --show-secrets")
    if isinstance(kubeconfig, str):
        try:
            kubeconfig = json.loads(kubeconfig)
        except (ValueError, RecursionError) as err:
            raise UsageError(
                f"{where}: its kubeconfig is not JSON ({str(err)[:200]}); export it again with --show-secrets"
            ) from err
    if not isinstance(kubeconfig, dict):
        raise UsageError(f"{where}: its kubeconfig must be a JSON object, got {_kind(kubeconfig)}")
    # The shape this program writes: one cluster, context and user, and a current context.
    shaped = all(isinstance(kubeconfig.get(k), list) and kubeconfig[k] for k in ("clusters", "contexts", "users"))
    if not shaped or not isinstance(kubeconfig.get("current-context"), str):
        raise UsageError(
            f"{where}: its kubeconfig has no clusters, contexts, users and current-context; export it again"
            " with --show-secrets"
        )
    fields = {key: entry.get(key) for key in ("endpoint", "sampleVersion", "eastWestAddress")}
    for key, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise UsageError(f"{where}: `{key}` must be a string, got {_kind(value)} {_shown(value)}")
    role = entry.get("role", "primary")
    if role not in ROLES:
        raise UsageError(f"{where}: `role` must be primary or remote, got {_kind(role)} {_shown(role)}")
    return ClusterTarget(
        name=name,
        kubeconfig=kubeconfig,
        endpoint=fields["endpoint"] or "?",
        sample_version=fields["sampleVersion"],
        role=role,
        has_gateway=fields["eastWestAddress"] is not None,
        istiods=_istiods(where, entry.get("istiodDeployments")),
        local_first=entry.get("localityLoadBalancing") is True,
    )


def _istiods(where: str, value: Any) -> tuple[str, ...]:
    """The istiod Deployments of the cluster's revisions; stacks without the output have one."""
    if value is None:
        return ("istiod",)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise UsageError(f"{where}: `istiodDeployments` must be a list of names, got {_kind(value)} {_shown(value)}")
    return tuple(value)


def targets_from_outputs(outputs: Any) -> list[ClusterTarget]:
    return [_target(name, entry) for name, entry in cluster_entries(outputs).items()]


def metrics_endpoints(outputs: Any) -> dict[str, str] | None:
    """`metricsEndpoints` (region -> workspace endpoint): None if the outputs do not hold it (the
    `clusters` output alone, a stack from before the key), empty with `metrics: none`."""
    if not isinstance(outputs, dict) or "metricsEndpoints" not in outputs:
        return None
    value = outputs["metricsEndpoints"] or {}

    def usable(url: Any) -> bool:
        return isinstance(url, str) and urlsplit(url).scheme in ("https", "http") and bool(urlsplit(url).netloc)

    if not isinstance(value, dict) or not all(isinstance(k, str) and usable(v) for k, v in value.items()):
        raise UsageError(
            f"the output metricsEndpoints must be an object of region: workspace endpoint URL, got {_kind(value)}"
            f" {_shown(value)}; write the outputs again with {_HOW}"
        )
    return value


METRICS_SKIPPED = {
    None: "metrics: the outputs hold no metricsEndpoints (the clusters output alone?): AMP checks skipped",
    "off": "metrics: not on (metrics is none, metricsEndpoints is empty): AMP checks skipped",
}


def format_table(results: list[Result]) -> str:
    rows = [("CLUSTER", "CHECK", "RESULT", "DETAIL")] + [
        (r.cluster, r.check, "pass" if r.passed else "FAIL", r.detail) for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}" for a, b, c, d in rows)


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{_shown(text)} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range; use {low} to {high}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m verify", description="Check that the deployed mesh works.")
    parser.add_argument("--stack", help="Pulumi stack to read (default: the selected stack)")
    parser.add_argument(
        "--outputs", help="read stack outputs from this JSON file ('-' for stdin) instead of the Pulumi CLI"
    )
    parser.add_argument(
        "--requests",
        type=_bounded_int(1, MAX_REQUESTS),
        help=f"requests from each cluster to helloworld, 1 to {MAX_REQUESTS} (default: 10 per cluster)",
    )
    parser.add_argument(
        "--timeout",
        type=_bounded_int(1, MAX_TIMEOUT),
        default=120,
        help=f"seconds allowed for each cluster's requests, 1 to {MAX_TIMEOUT} (default 120)",
    )
    parser.add_argument(
        "--drill",
        choices=["failover"],
        help="also scale each cluster's helloworld to zero and back, proving failover"
        " (docs/operations/verify.md#the-failover-drill)",
    )
    return parser


def main(
    argv: list[str] | None = None,
    connect: Callable[[ClusterTarget], ClusterApi] | None = None,
    amp: Connect | None = None,
) -> int:
    args = _parser().parse_args(argv)  # a bad argument: usage, the reason, exit code 2
    if args.stack is not None and args.outputs is not None:
        _parser().error("--stack and --outputs exclude each other: the outputs file already names its stack")
    try:
        outputs = read_stack_outputs(args.stack, args.outputs)
        targets = targets_from_outputs(outputs)
        trust = trust_from_outputs(outputs)
        endpoints = metrics_endpoints(outputs)
    except (UsageError, TrustOutputError) as err:
        print(f"verify: {err}", file=sys.stderr)
        return 2
    if connect is None:
        from verify.kube import KubernetesClusterApi as connect  # noqa: N813 - a factory

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    more = (lambda target, api: check_trust(target, api, trust, args.timeout)) if trust is not None else None
    try:
        results = verify_mesh(
            targets,
            connect,
            args.requests,
            args.timeout,
            progress=progress,
            more=more,
        )
        if args.drill == "failover":
            requests = args.requests or default_requests(len(targets))
            results += drill_failover(targets, connect, requests, args.timeout, progress=progress)
        if endpoints:
            results += check_metrics(targets, endpoints, amp or cli_connect(timeout=min(args.timeout, 60)), progress)
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return 2
    except Exception as err:  # a client failure verify does not know yet: one line, not a traceback
        print(f"verify: stopped by an unexpected {type(err).__name__}: {str(err)[:300]}", file=sys.stderr)
        return 2
    print(format_table(results))
    if not endpoints:
        print(METRICS_SKIPPED[None if endpoints is None else "off"])
    failed = [r for r in results if not r.passed]
    print(
        f"\nmesh NOT OK: {len(failed)} of {len(results)} checks failed"
        if failed
        else f"\nmesh OK: all {len(results)} checks passed"
    )
    return 1 if failed else 0
