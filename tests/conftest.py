"""Shared fixtures: a fake ``wisp`` per test, an isolated config, tmux panes, process records."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from textual.app import App

from tests.support.fake_wisp_handle import FakeWisp, make_fake_wisp
from tests.support.snapshots import ScreenSVG, screenshot
from tests.support.tmux_pane import TmuxPane

TESTS = Path(__file__).parent
REPO = TESTS.parent


@pytest.fixture
def snap_compare(snapshot: SnapshotAssertion) -> Callable[..., bool]:
    """``snap_compare(app, press=(), terminal_size=(80, 24), run_before=None)``: whether the
    app's screen looks, cell by cell, like its snapshot under ``snapshots/``."""
    snapshot = snapshot.use_extension(ScreenSVG)

    def compare(app: App, **how: Any) -> bool:
        return snapshot == asyncio.run(screenshot(app, **how))

    return compare


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


@pytest.fixture
def tmux_pane() -> Iterator[Callable[..., TmuxPane]]:
    """``tmux_pane(command, env=None, size=(120, 36))``: a :class:`TmuxPane` running
    ``command`` with ``env`` added (and this repository on ``PYTHONPATH``). After the test,
    passed or failed, every pane's program and all it started end, and so does its server."""
    with ExitStack() as cleanup:

        def open_(
            command: Sequence[str],
            env: dict[str, str] | None = None,
            size: tuple[int, int] = (120, 36),
        ) -> TmuxPane:
            pane = TmuxPane(command, {"PYTHONPATH": str(REPO), **(env or {})}, size)
            cleanup.callback(pane.stop)
            return pane

        yield open_


@pytest.fixture
def open_dashboard(
    fake_wisp: FakeWisp, tmux_pane: Callable[..., TmuxPane]
) -> Callable[..., TmuxPane]:
    """Start the dashboard on the fake wisp in a tmux pane, with ``--set`` SETTINGS (and
    ``env`` and ``size`` if given); every pane and what runs in it ends after the test."""

    def open_(
        *settings: str, env: dict[str, str] | None = None, size: tuple[int, int] = (120, 36)
    ) -> TmuxPane:
        argv = [sys.executable, "-m", "wreckit_tui", "--wisp", str(fake_wisp.path)]
        for setting in settings:
            argv += ["--set", setting]
        return tmux_pane(argv, env, size)

    return open_


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
