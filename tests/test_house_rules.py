"""House rules kept by tools rather than by review: ruff's formatter and linter (ruff.toml)."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_code_is_formatted_and_lint_clean():
    lint = _ruff("check", "--no-cache", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    formatted = _ruff("format", "--no-cache", "--check", ".")
    assert formatted.returncode == 0, "run `venv/bin/ruff format .`:\n" + formatted.stdout


MAX_FUNCTION_LINES = 80


def long_functions(source: str, name: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{name}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_is_longer_than_80_lines():
    sources = [p for p in ROOT.rglob("*.py") if "venv" not in p.relative_to(ROOT).parts]
    assert len(sources) > 50
    found = [hit for path in sources for hit in long_functions(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == []
    # The rule can fail: a function one line too long is caught.
    assert long_functions("def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES, "sample") == ["sample:1 f (81 lines)"]
