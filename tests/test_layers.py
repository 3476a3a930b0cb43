"""The layer rule, read from the imports: model <- config, aws, istio <- mesh. Nothing imports a
layer above its own, aws and istio never import each other, and the model imports no Pulumi."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.harness import ROOT

COMPONENTS = ROOT / "components"
# A module may import its own package and the packages of a lower rank; aws and istio share a rank.
RANK = {"model": 0, "config": 1, "aws": 1, "istio": 1, "migrations": 1, "mesh": 2}


def layer(module: str) -> str:
    """`components.aws.cluster` -> `aws`; `components.mesh` -> `mesh`."""
    return module.split(".")[1]


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import; import by the package path"
            found |= {f"{node.module}.{alias.name}" if node.module == "components" else node.module for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_every_module_sits_in_a_layer():
    modules = {p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".") for p in COMPONENTS.rglob("*.py") if p.name != "__init__.py"}
    assert len(modules) > 20
    assert {layer(m) for m in modules} == set(RANK)


def violations(components: Path) -> list[str]:
    found = []
    for path in components.rglob("*.py"):
        if path.parent == components and path.name == "__init__.py":
            continue
        own = layer(path.relative_to(components.parent).with_suffix("").as_posix().replace("/", "."))
        for target in imports(path):
            if not target.startswith("components."):
                if own == "model" and target.split(".")[0].startswith("pulumi"):
                    found.append(f"{path.relative_to(components.parent)} imports {target}: the model is pure")
                continue
            other = layer(target)
            if other != own and RANK[other] >= RANK[own]:
                found.append(f"{path.relative_to(components.parent)} ({own}) imports {target} ({other})")
    return sorted(found)


def test_imports_run_downward_only():
    assert violations(COMPONENTS) == []


def test_the_rule_catches_upward_and_sideways_imports(tmp_path):
    for module, text in {
        "model/spec.py": "import pulumi\nfrom components.config.validate import Problems\n",
        "istio/control_plane.py": "from components.aws.network import Vpc\nfrom components.model import versions\n",
        "config/parse.py": "from components.model.spec import MeshSpec\n",
    }.items():
        (tmp_path / "components" / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "components" / module).write_text(text)
    assert violations(tmp_path / "components") == [
        "components/istio/control_plane.py (istio) imports components.aws.network (aws)",
        "components/model/spec.py (model) imports components.config.validate (config)",
        "components/model/spec.py imports pulumi: the model is pure",
    ]
