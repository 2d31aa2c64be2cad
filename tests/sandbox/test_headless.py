"""wreckit-tui with no wisp anywhere: the built-in provider is the backend, and says so."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.conftest import run_cli


@pytest.fixture
def no_wisp_path(tmp_path) -> str:
    """A PATH with tmux on it and no ``wisp``."""
    bin_dir = tmp_path / "bin-without-wisp"
    bin_dir.mkdir()
    (bin_dir / "tmux").symlink_to(shutil.which("tmux"))
    path = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    assert shutil.which("wisp", path=path) is None
    return path


def test_headless_json_lists_sandboxes_with_no_wisp_on_path(sandboxes, no_wisp_path):
    sandboxes.start("alpha", "--memory", "256MiB", "--cpus", "2")
    sandboxes.start("beta")
    env = {"PATH": no_wisp_path, "WRECKIT_SANDBOX_HOME": str(sandboxes.path)}
    result = run_cli("--headless", "--json", env=env)
    assert result.returncode == 0, result.stderr
    fleet = json.loads(result.stdout)
    assert [(s["name"], s["state"]) for s in fleet] == [("alpha", "running"), ("beta", "running")]
    assert (fleet[0]["cpus"], fleet[0]["memory_mib"]) == (2, 256)
    assert fleet[0]["memory_used_mib"] > 0
    assert result.stderr == ""


def test_headless_table_caption_names_the_builtin_provider_and_its_isolation(
    sandboxes, no_wisp_path
):
    sandboxes.start("alpha")
    env = {"PATH": no_wisp_path, "WRECKIT_SANDBOX_HOME": str(sandboxes.path)}
    result = run_cli("--headless", env=env)
    assert result.returncode == 0, result.stderr
    assert "alpha" in result.stdout
    assert "built-in sandbox provider 0.1.0 (isolation: bwrap) · 1 sprite" in result.stdout


def test_start_and_kill_through_wreckit_tui_use_the_builtin_provider(sandboxes, no_wisp_path):
    env = {"PATH": no_wisp_path, "WRECKIT_SANDBOX_HOME": str(sandboxes.path)}
    started = run_cli("start", "gamma", "--memory", "256MiB", "--json", env=env)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["state"] == "running"
    assert sandboxes.record("gamma")["memory"] == "256MiB"
    assert run_cli("kill", "gamma", env=env).returncode == 0
    missing = run_cli("kill", "gamma", env=env)
    assert missing.returncode == 5
    assert "not found" in missing.stderr


def test_without_bubblewrap_list_and_the_headless_caption_say_isolation_none(
    make_home, no_wisp_path
):
    home = make_home(WRECKIT_SANDBOX_BWRAP="none")
    home.start("plain")
    assert home.record("plain")["isolation"] == "none"
    env = {"PATH": no_wisp_path, "WRECKIT_SANDBOX_HOME": str(home.path)}
    result = run_cli("--headless", env=env)
    assert result.returncode == 0, result.stderr
    assert "built-in sandbox provider 0.1.0 (isolation: none) · 1 sprite" in result.stdout
