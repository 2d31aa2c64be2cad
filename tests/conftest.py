"""Shared fixtures: a fake ``wisp`` per test, an isolated config, and process bookkeeping."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pytest_textual_snapshot import SVGImageExtension

from tests.fake_wisp_handle import FakeWisp, make_fake_wisp

TESTS = Path(__file__).parent
REPO = TESTS.parent
SNAPSHOTS = REPO / "snapshots"


def _snapshot_dirname(cls, *, test_location) -> str:
    """Keep SVG snapshots under the top-level ``snapshots/``, one folder per test file."""
    return str(SNAPSHOTS / Path(test_location.filepath).stem)


SVGImageExtension.dirname = classmethod(_snapshot_dirname)


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


# -- the dashboard ------------------------------------------------------------------------------

DASHBOARD_SIZE = (120, 32)
FIXED_NOW = 1_790_000_000.0
TEST_HOST = (2, 4096.0)


def make_app(fake: FakeWisp | Path, **settings: object):
    """A dashboard on ``fake`` with a fixed clock and host, and no automatic re-polling."""
    from wreckit_tui.adapter import Backend, Wisp
    from wreckit_tui.app import WreckitApp
    from wreckit_tui.config import Config
    from wreckit_tui.fleet_view import Host

    path = fake.path if isinstance(fake, FakeWisp) else fake
    config = Config(**{"poll_interval": 60, "list_timeout": 5, "kill_grace": 0.5, **settings})
    wisp = Wisp(
        Backend(argv=(str(path),), label="wisp"),
        timeout=config.timeout,
        list_timeout=config.list_timeout,
        kill_grace=config.kill_grace,
        max_output_bytes=config.max_output_bytes,
    )
    app = WreckitApp(config, wisp, clock=lambda: FIXED_NOW, host=Host(*TEST_HOST))
    app.animation_level = "none"
    return app


@asynccontextmanager
async def dashboard(
    fake: FakeWisp | Path,
    fleet: list | None = None,
    *,
    notifications: bool = False,
    **settings: object,
) -> AsyncIterator:
    """The dashboard on ``fake`` (showing ``fleet``) after its first poll; yields the Pilot."""
    if fleet is not None and isinstance(fake, FakeWisp):
        fake.set_fleet(fleet)
    app = make_app(fake, **settings)
    async with app.run_test(size=DASHBOARD_SIZE, notifications=notifications) as pilot:
        await wait_until(pilot, lambda: app.state.polls >= 1 and not app.polling)
        await pilot.pause()
        yield pilot


async def wait_until(pilot, condition, timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.02)


async def poll(pilot) -> None:
    """Run one poll now and wait until the dashboard has applied it."""
    app = pilot.app
    await wait_until(pilot, lambda: not app.polling)
    before = app.state.polls
    app.poll_now()
    await wait_until(pilot, lambda: app.state.polls > before and not app.polling)
    await pilot.pause()


def screen_text(app) -> str:
    """What the terminal shows right now, as plain lines of text (from the SVG screenshot)."""
    import html
    import re

    svg = app.export_screenshot()
    pieces = re.findall(
        r'<text[^>]* x="([\d.]+)" y="([\d.]+)" textLength="([\d.]+)"[^>]*>([^<]*)</text>', svg
    )
    cell = min(float(length) / len(html.unescape(text)) for *_, length, text in pieces if text)
    rows: dict[float, dict[int, str]] = {}
    for x, y, _length, text in pieces:
        row = rows.setdefault(float(y), {})
        for offset, char in enumerate(html.unescape(text)):
            row[round(float(x) / cell) + offset] = char
    lines = []
    for _, row in sorted(rows.items()):
        width = max(row) + 1
        lines.append("".join(row.get(column, " ") for column in range(width)).rstrip())
    return "\n".join(lines).replace("\xa0", " ")
