"""The layer rule, read from the imports: model <- plan <- config, aws, istio <- mesh. Nothing
imports a layer above its own, config, aws and istio never import each other, the model and the plan
import no Pulumi, the config calls no AWS API (what it checks against AWS is read for it and handed
in), and the wiring reads the config's result, never its internals.
And in tests/: no test module imports another or conftest; shared code lives in tests/helpers.py."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.harness import ROOT

COMPONENTS = ROOT / "components"
# A module may import its own package and the packages of a lower rank; config, aws and istio share one.
RANK = {"model": 0, "plan": 1, "migrations": 1, "config": 2, "aws": 2, "istio": 2, "mesh": 3}
PURE = ("model", "plan")


def layer(module: str) -> str:
    """`components.aws.cluster` -> `aws`; `components.mesh` -> `mesh`."""
    return module.split(".")[1]


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import; import by the package path"
            found |= {
                f"{node.module}.{alias.name}" if node.module == "components" else node.module for alias in node.names
            }
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_every_module_sits_in_a_layer():
    modules = {
        p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        for p in COMPONENTS.rglob("*.py")
        if p.name != "__init__.py"
    }
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
                if own in PURE and target.split(".")[0].startswith("pulumi"):
                    found.append(f"{path.relative_to(components.parent)} imports {target}: the {own} is pure")
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


def aws_reads(components: Path) -> list[str]:
    """Calls of a pulumi_aws data source (`aws.ec2.get_vpc_ipam_pool(...)`) in the config layer."""
    found = []
    for path in sorted((components / "config").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr.startswith("get_")
            ):
                root = node.func.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id == "aws":
                    found.append(f"{path.relative_to(components.parent)}:{node.lineno} {node.func.attr}")
    return found


def test_the_config_reads_nothing_from_aws_and_the_wiring_no_config_internals(tmp_path):
    assert aws_reads(COMPONENTS) == []
    (tmp_path / "components" / "config").mkdir(parents=True)
    (tmp_path / "components" / "config" / "stack.py").write_text("pool = aws.ec2.get_vpc_ipam_pool(ipam_pool_id='x')\n")
    assert aws_reads(tmp_path / "components") == ["components/config/stack.py:1 get_vpc_ipam_pool"]
    wiring = imports(COMPONENTS / "mesh.py")
    assert not any(t.startswith("components.config") for t in wiring), wiring


def test_the_wiring_walks_the_plan_and_plans_nothing_itself():
    # The planners (topology, add-on versions, creators, pair names, quotas) are the plan's: the
    # wiring reads what plan_mesh decided, so `check` prints what `pulumi up` builds.
    planning = {t for t in imports(COMPONENTS / "mesh.py") if t.startswith("components.plan")}
    assert planning == {"components.plan.mesh_plan", "components.plan.addon_versions"}, planning
    source = (COMPONENTS / "mesh.py").read_text()
    for decision in ("plan_topology", "plan_addon_versions", "recorded_creator", "names.", "connectivity.private"):
        assert decision not in source, decision


# --- tests: no test module imports another ----------------------------------------------------------

TESTS = ROOT / "tests"
# What a file under tests/ may import from the `tests` package. Fixtures come from conftest.py by
# pytest's injection, never by import.
SHARED = {"helpers", "harness", "mocks", "impact", "fake_clock"}


def cross_imports(tests: Path) -> list[str]:
    """Imports by the files in `tests` of anything in it but SHARED: another test module or
    conftest, as `tests.x`, `from tests import x`, a bare `x` or a relative import."""
    local = {p.stem for p in tests.glob("*.py")}
    found = []
    for path in sorted(tests.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level and not node.module:
                    targets = [f"tests.{alias.name}" for alias in node.names]
                elif node.level:
                    targets = [f"tests.{node.module}"]
                elif node.module == "tests":
                    targets = [f"tests.{alias.name}" for alias in node.names]
                else:
                    targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                parts = target.split(".")
                if parts[0] == "tests":
                    allowed = len(parts) > 1 and parts[1] in SHARED
                else:
                    allowed = parts[0] not in local or parts[0] in SHARED
                if not allowed:
                    found.append((path.name, node.lineno, target))
    return [f"{name}:{line} imports {target}" for name, line, target in sorted(found)]


def test_no_test_module_imports_another_or_conftest():
    assert len(list(TESTS.glob("test_*.py"))) > 15
    assert cross_imports(TESTS) == []


def test_the_rule_catches_every_spelling_of_a_cross_import(tmp_path):
    files = {
        "conftest.py": "from tests.helpers import mesh_config\n",
        "helpers.py": "from tests.harness import Run\n",
        "test_a.py": "from tests.test_b import thing\nfrom tests.conftest import OPERATOR_CIDR\nfrom"
        " tests.helpers import x\n",
        "test_b.py": "def f():\n    from tests import test_a, mocks\n    import tests.test_a\n    import tests\n",
        "test_c.py": "from . import test_a\nfrom .conftest import mesh_run\nfrom .impact import"
        " change_impact\nimport conftest\nimport test_b\nimport yaml\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert cross_imports(tmp_path) == [
        "test_a.py:1 imports tests.test_b",
        "test_a.py:2 imports tests.conftest",
        "test_b.py:2 imports tests.test_a",
        "test_b.py:3 imports tests.test_a",
        "test_b.py:4 imports tests",
        "test_c.py:1 imports tests.test_a",
        "test_c.py:2 imports tests.conftest",
        "test_c.py:4 imports conftest",
        "test_c.py:5 imports test_b",
    ]


def undeclared_attributes(source: str) -> list[str]:
    """`Class.attr` for each public `self.attr = ...` that the class body does not declare."""
    found = []
    for cls in (n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ClassDef)):
        declared = {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
        for node in ast.walk(cls):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            for target in targets:
                for part in ast.walk(target):
                    is_self = isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name)
                    if (
                        is_self
                        and part.value.id == "self"
                        and not part.attr.startswith("_")
                        and part.attr not in declared
                    ):
                        found.append(f"{cls.name}.{part.attr}")
    return sorted(set(found))


def test_every_public_attribute_is_declared_on_its_class():
    # What a component exposes is read off its class, not found in its constructor.
    found = [
        f"{p.relative_to(ROOT)}: {a}"
        for p in sorted(COMPONENTS.rglob("*.py"))
        for a in undeclared_attributes(p.read_text())
    ]
    assert found == []
    sample = (
        "class A:\n    x: int\n    def __init__(self):\n"
        "        self.x = 1\n        self.y, self._z = 2, 3\n        self.w: int = 4\n"
    )
    assert undeclared_attributes(sample) == ["A.w", "A.y"]
