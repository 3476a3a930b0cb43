"""The config keys, outputs and limits of the mesh, in one place (the rows: components/config/keys.py):
the parser refuses every key not there, and the config reference (docs/reference/config.md) and
Pulumi.yaml's declarations are made from it (`python scripts/reference.py --write`; a test keeps
both current).

Pulumi.yaml can declare a key with a type only where it may also give the default: the CLI
refuses to run a stack that lacks a typed key without one ("Stack 'dev' is missing configuration
value", pulumi/pulumi sdk/go/common/workspace/project_test.go), and it applies a declared default
to every stack that omits the key, so the program could no longer tell "unset". Project config
types are string, integer, boolean and arrays of them, never objects. So the keys whose default
changes nothing are declared under `config:` with their type; every other key is declared under
`template.config` with its description (what `pulumi new` prompts for), type included in words.
"""

from __future__ import annotations

import re
from pathlib import Path

from components.config.clusters import MAX_CLUSTERS, MAX_EKS_NAME
from components.config.keys import CLUSTER_KEYS, MESH_KEYS, OUTPUTS, Key
from components.config.node_group import MAX_INSTANCE_TYPES, MAX_NODES
from components.plan.quotas import (
    MAX_PEERING_ATTACHMENTS,
    MAX_PUBLIC_ACCESS_CIDRS,
    MAX_ROUTES_PER_TABLE,
    MAX_SECURITY_GROUP_RULES,
    QUOTAS,
)

# Keys Pulumi.yaml declares with a type and a default: those whose default the program does not
# need to tell from "unset" (the CLI fills it in for every stack that omits the key).
DECLARED = {"meshId": ("string", "mesh1"), "deploySamples": ("boolean", False)}

# What limits the mesh, and where the figure comes from (the checks use the same constants).
LIMITS = (
    ("clusters in one stack", MAX_CLUSTERS, "this program (defaulted VPC ranges: 256 /16s of meshCidr)"),
    ("characters of an EKS cluster name (`<name>-<stack>`)", MAX_EKS_NAME, "IAM role names derived from it: 64"),
    (
        "CIDRs on an EKS public endpoint",
        MAX_PUBLIC_ACCESS_CIDRS,
        "EKS `publicAccessCidrs` (apiAccessCidrs plus every NAT address)",
    ),
    (
        "inbound rules of an east-west NLB's security group",
        MAX_SECURITY_GROUP_RULES,
        "VPC quota; one per source CIDR and port",
    ),
    (
        "inbound rules of a cluster security group",
        MAX_SECURITY_GROUP_RULES,
        "VPC quota, rules per security group",
    ),
    ("routes per VPC route table", MAX_ROUTES_PER_TABLE, "VPC quota"),
    ("peering attachments per Transit Gateway", MAX_PEERING_ATTACHMENTS, "Transit Gateway quota"),
    ("instance types per node group", MAX_INSTANCE_TYPES, "EKS CreateNodegroup"),
    ("nodes per node group", MAX_NODES, "EKS quota"),
    *(
        (f"{name} (AWS's default; a raised one: `serviceQuotas.{key}`)", default, "Service Quotas")
        for key, (name, default, _) in QUOTAS.items()
    ),
)


ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference" / "config.md"
PROJECT_FILE = ROOT / "Pulumi.yaml"
TOP_LEVEL_KEYS = tuple(dict.fromkeys(k.top for k in MESH_KEYS))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _key_cell(key: str) -> str:
    return key if "`" in key else f"`{key}`"


def reference_markdown() -> str:
    """docs/reference/config.md, whole."""
    lines = [
        "# Reference: config, outputs, limits",
        "",
        "<!-- Made by `python scripts/reference.py --write` from components/config/keys.py; edit that. -->",
        "",
        "## Config",
        "",
        "Every key lives in the project namespace (`istio-eks-mesh:<key>`). The program checks every key",
        "before it creates anything and reports every problem at once, naming the key path",
        "(`clusters[1].vpcCidr`), what is wrong, what was given and what would be right; unknown keys and",
        "fields are errors. Values set with `--secret` are never shown in a message.",
        "",
        "| key | type | default | meaning |",
        "| --- | --- | --- | --- |",
        *(f"| {_key_cell(k.key)} | {_cell(k.type)} | {_cell(k.default)} | {_cell(k.meaning)} |" for k in MESH_KEYS),
        "",
        "### A cluster (`clusters[i]`)",
        "",
        "| field | type | default | meaning |",
        "| --- | --- | --- | --- |",
        *(f"| {_key_cell(k.key)} | {_cell(k.type)} | {_cell(k.default)} | {_cell(k.meaning)} |" for k in CLUSTER_KEYS),
        "",
        "## Outputs",
        "",
        "| output | what |",
        "| --- | --- |",
        *(f"| {_key_cell(o.key)} | {_cell(o.meaning)} |" for o in OUTPUTS),
        "",
        "## Limits",
        "",
        "| what | at most | source |",
        "| --- | --- | --- |",
        *(f"| {what} | {value} | {source} |" for what, value, source in LIMITS),
        "",
    ]
    return "\n".join(lines)


def _yaml_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _summary(key: Key) -> str:
    """The first clause of a key's meaning, in plain words, for Pulumi.yaml."""
    plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", f"{key.type}; {key.meaning}")
    plain = re.sub(r"[`*]", "", plain)
    return plain if len(plain) <= 200 else plain[:197].rsplit(" ", 1)[0] + " ..."


def project_config_yaml() -> str:
    """The `config:` and `template:` parts of Pulumi.yaml."""
    by_top: dict[str, list[Key]] = {}
    for k in MESH_KEYS:
        by_top.setdefault(k.top, []).append(k)
    lines = ["config:"]
    for name, (kind, default) in DECLARED.items():
        value = str(default).lower() if isinstance(default, bool) else default
        lines += [f"  {name}:", f"    type: {kind}", f"    description: {_yaml_text(_summary(by_top[name][0]))}"]
        lines.append(f"    default: {value}")
    lines += [
        "template:",
        "  description: A multi-cluster Istio service mesh on AWS EKS, from one stack config.",
        "  config:",
    ]
    for name, keys in by_top.items():
        if name in DECLARED:
            continue
        summary = _summary(keys[0]) if len(keys) == 1 else f"object with {', '.join(k.key.strip('`') for k in keys)}"
        lines += [f"    {name}:", f"      description: {_yaml_text(summary)}"]
    return "\n".join(lines) + "\n"


_PROJECT_HEAD = """name: istio-eks-mesh
description: A multi-cluster Istio service mesh on AWS EKS, from one stack config.
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: venv
# Made by `python scripts/reference.py --write` from components/config/schema.py, which says why
# only some keys are under `config:` (a typed key there without a default would be required of every
# stack, and one with a default could no longer be told unset); docs/reference/config.md has them all.
"""


def project_file() -> str:
    return _PROJECT_HEAD + project_config_yaml()


def main(argv: list[str]) -> int:
    files = {REFERENCE: reference_markdown(), PROJECT_FILE: project_file()}
    stale = [path for path, text in files.items() if not path.is_file() or path.read_text() != text]
    if "--write" in argv:
        for path in stale:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path])
        return 0
    for path in stale:
        print(f"{path.relative_to(ROOT)} is not current: run python scripts/reference.py --write")
    return 1 if stale else 0
