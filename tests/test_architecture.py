"""The package's shape: its import contracts (``[tool.importlinter]`` in pyproject.toml) hold,
no module grows past :data:`MAX_LINES`, and every module says what it is for."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import wreckit_tui

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(wreckit_tui.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 420
"""The biggest modules now: sandbox/isolation.py (415 lines), processes.py (414), app.py (393),
adapter.py (366), cli.py (356)."""
SANDBOX_MAY_USE = {"wreckit_tui", "wreckit_tui.pids", "wreckit_tui.sandbox"}


def contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {contract["id"]: contract for contract in config["tool"]["importlinter"]["contracts"]}


def top_level_modules() -> set[str]:
    """``wreckit_tui.app``, ``wreckit_tui.screens``...: every module and package in the root."""
    names = {path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    names |= {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    return {f"wreckit_tui.{name}" for name in names}


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), f"{lint_imports} is missing: install the test extra"
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"lint-imports failed:\n{result.stdout}\n{result.stderr}"
    assert "0 broken" in result.stdout


def test_the_sandbox_contract_forbids_every_module_but_pids() -> None:
    """A module added to the package is forbidden to the sandbox until it is listed."""
    forbidden = set(contracts()["sandbox-alone"]["forbidden_modules"])
    missing = top_level_modules() - SANDBOX_MAY_USE - forbidden
    assert not missing, f"add {sorted(missing)} to the sandbox-alone contract"


def test_no_module_is_too_long() -> None:
    lines = {path.relative_to(PACKAGE): len(path.read_text().splitlines()) for path in MODULES}
    long = [f"{path}: {count}" for path, count in lines.items() if count > MAX_LINES]
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_every_module_has_a_docstring() -> None:
    missing = [
        str(path.relative_to(PACKAGE))
        for path in MODULES
        if not ast.get_docstring(ast.parse(path.read_text(), str(path)))
    ]
    assert not missing, f"modules without a docstring: {missing}"
