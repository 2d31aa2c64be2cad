"""Shared fixtures: a fake ``wisp`` per test, an isolated config, and process bookkeeping."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

TESTS = Path(__file__).parent
FAKE_WISP = TESTS / "fake_wisp.py"
REPO = TESTS.parent


@dataclass
class FakeWisp:
    """A real fake-wisp executable in its own directory, with its state beside it."""

    home: Path

    @property
    def path(self) -> Path:
        return self.home / "wisp"

    def set_fleet(self, sprites: list | dict | str) -> None:
        text = sprites if isinstance(sprites, str) else json.dumps(sprites)
        (self.home / "fleet.json").write_text(text)

    def fleet(self) -> list:
        return json.loads((self.home / "fleet.json").read_text())

    def set_scenario(self, default: str = "ok", **per_command: object) -> None:
        """``default`` applies to every command not named in ``per_command``."""
        (self.home / "scenario.json").write_text(json.dumps({"*": default, **per_command}))

    def calls(self) -> list[list[str]]:
        """Every argv the fake received, in order (the program name left out)."""
        path = self.home / "calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line)["argv"] for line in path.read_text().splitlines()]

    def forget_calls(self) -> None:
        (self.home / "calls.jsonl").unlink(missing_ok=True)

    def pids(self) -> list[int]:
        path = self.home / "pids.txt"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def alive_pids(self) -> list[int]:
        """Pids this fake started that still run (zombies count as gone)."""
        alive = []
        for pid in self.pids():
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                continue
        return alive

    def kill_leftovers(self) -> None:
        for pid in self.alive_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue


def make_fake_wisp(directory: Path) -> FakeWisp:
    """Install a launcher for the fake wisp into ``directory`` (run with this interpreter)."""
    directory.mkdir(parents=True, exist_ok=True)
    launcher = directory / "wisp"
    launcher.write_text(
        f"#!{sys.executable} -I\n"
        "import os, runpy\n"
        f"os.environ['FAKE_WISP_HOME'] = {str(directory)!r}\n"
        f"runpy.run_path({str(FAKE_WISP)!r}, run_name='__main__')\n"
    )
    launcher.chmod(0o755)
    fake = FakeWisp(directory)
    fake.set_fleet([])
    return fake


@pytest.fixture
def fake_wisp(tmp_path: Path) -> Iterator[FakeWisp]:
    fake = make_fake_wisp(tmp_path / "fakewisp")
    yield fake
    fake.kill_leftovers()


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every test at its own empty config file and clear WRECKIT_* variables."""
    for name in list(os.environ):
        if name.startswith(("WRECKIT_TUI_", "WRECKIT_SANDBOX_")):
            monkeypatch.delenv(name)
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("WRECKIT_TUI_CONFIG", str(config))
    return config


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60):
    """Run ``python -m wreckit_tui ARGS`` as a real process; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "wreckit_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        check=False,
    )
