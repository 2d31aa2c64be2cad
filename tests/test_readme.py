"""The README's promises that a test can hold it to."""

from __future__ import annotations

import re

from tests.conftest import REPO
from wreckit_tui.config import KEYS

README = (REPO / "README.md").read_text()


def fresh_machine_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README)[:2]


def test_readme_opens_with_two_commands_and_ci_runs_the_test_one():
    launch, test = fresh_machine_commands()
    assert launch.endswith("wreckit-tui")
    assert test.endswith("python -m pytest")
    ci_script = (REPO / ".ci" / "run").read_text()
    assert test in ci_script.splitlines()


def test_readme_documents_every_config_key_with_its_variable():
    for key in KEYS:
        assert f"| `{key}` |" in README
        assert f"WRECKIT_TUI_{key.upper()}" in README


def test_the_layout_names_every_module_of_the_package():
    layout = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
    package = REPO / "wreckit_tui"
    top = {path.name for path in package.glob("*.py") if path.stem not in {"__init__", "__main__"}}
    folders = {f"{path.name}/" for path in package.iterdir() if (path / "__init__.py").exists()}
    missing = sorted(name for name in top | folders if name not in layout)
    assert not missing, f"README's Layout does not name {missing}"
