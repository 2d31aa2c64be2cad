"""The provider's command line without running sandboxes: version, validation, unknown names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sandbox.conftest import PROVIDER


def test_version_names_the_provider_and_a_version(sandboxes):
    done = sandboxes.run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == "wreckit-sandbox 0.1.0"


def test_the_console_script_is_installed_next_to_the_interpreter(sandboxes):
    script = Path(sys.executable).parent / "wreckit-sandbox"
    done = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "0.1.0" in done.stdout


def test_list_of_a_home_that_does_not_exist_yet_is_an_empty_array(sandboxes):
    assert sandboxes.list() == []
    assert not sandboxes.path.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["start", "Bad_Name"], "invalid name 'Bad_Name'"),
        (["start", "ok", "--memory", "1TB"], "invalid memory size '1TB'"),
        (["start", "ok", "--memory", "0MiB"], "invalid memory size '0MiB'"),
        (["start", "ok", "--cpus", "0"], "invalid cpus '0'"),
        (["start", "ok", "--cpus", "65"], "invalid cpus '65'"),
        (["kill", "UPPER"], "invalid name"),
    ],
)
def test_invalid_requests_exit_2_before_anything_runs(sandboxes, args, message):
    done = sandboxes.run(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stderr.count("\n") == 1
    assert not (sandboxes.path / "ok").exists()


def test_kill_of_an_unknown_name_fails_and_says_not_found(sandboxes):
    done = sandboxes.run("kill", "ghost")
    assert done.returncode != 0
    assert "not found" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["attach", "ghost"], ["exec", "ghost", "--", "true"]])
def test_attach_and_exec_of_an_unknown_name_fail_with_not_found(sandboxes, command):
    done = sandboxes.run(*command)
    assert done.returncode not in {0, 2}
    assert "sandbox 'ghost' not found" in done.stderr


def test_exec_without_a_command_is_a_usage_error(sandboxes):
    done = sandboxes.run("exec", "ghost", "--")
    assert done.returncode == 125
    assert "exec needs a command" in done.stderr


def test_the_provider_never_imports_pydantic_rich_or_textual(make_home):
    home = make_home()
    home.start("lean")
    code = (
        "import sys\n"
        "from wreckit_tui.sandbox.cli import main\n"
        "sys.argv = ['wreckit-sandbox', 'list', '--json']\n"
        "main(['list', '--json'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'rich', 'textual'})\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=home.env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])[0]["name"] == "lean"
    assert done.stdout.splitlines()[-1] == "HEAVY []"


def test_python_dash_m_and_the_adapter_run_the_same_program():
    from wreckit_tui.backends import builtin_backend

    backend = builtin_backend()
    assert backend.label == "built-in sandbox provider"
    assert list(backend.argv) == PROVIDER


def test_capabilities_announce_what_the_provider_offers_beyond_v1(sandboxes):
    done = sandboxes.run("capabilities", "--json")
    assert done.returncode == 0
    announced = json.loads(done.stdout)
    assert announced["contract"] == "1.1"
    assert {"exec", "resume"} <= set(announced["commands"])
