"""House rules kept by tools rather than by review: ruff's formatter and linter (ruff.toml)."""

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
