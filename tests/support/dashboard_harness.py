"""Driving the dashboard in tests and benchmarks: an app on a fake wisp, polls, screen text.

Needs nothing beyond the package's own dependencies (no pytest), so the benchmarks use it too.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support.fake_wisp_handle import FakeWisp
from tests.support.waiting import wait_until_async
from wreckit_tui.adapter import Wisp
from wreckit_tui.app import WreckitApp
from wreckit_tui.backends import Backend
from wreckit_tui.capacity import Host
from wreckit_tui.config import Config

DASHBOARD_SIZE = (120, 32)
FIXED_NOW = 1_790_000_000.0
TEST_HOST = (2, 4096.0)


def make_app(
    fake: FakeWisp | Path,
    *,
    clock: Callable[[], float] = lambda: FIXED_NOW,
    label: str = "wisp",
    **settings: object,
) -> WreckitApp:
    """A dashboard on ``fake`` with a fixed clock and host, polling every minute unless told.

    ``label`` names the backend in the header: a fixed one keeps snapshots free of temp paths.
    """
    path = fake.path if isinstance(fake, FakeWisp) else fake
    config = Config(**{"poll_interval": 60, "list_timeout": 5, "kill_grace": 0.5, **settings})
    wisp = Wisp(
        Backend(argv=(str(path),), label=label),
        timeout=config.timeout,
        list_timeout=config.list_timeout,
        kill_grace=config.kill_grace,
        max_output_bytes=config.max_output_bytes,
        max_sprites=config.max_sprites,
    )
    app = WreckitApp(config, wisp, clock=clock, host=Host(*TEST_HOST))
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
        await wait_until_async(pilot, lambda: app.snapshot.poll >= 1 and not app.poller.running)
        await pilot.pause()
        yield pilot


async def poll(pilot) -> None:
    """Run one poll now and wait until the dashboard has applied it."""
    app = pilot.app
    await wait_until_async(pilot, lambda: not app.poller.running)
    before = app.snapshot.poll
    app.poller.now()
    await wait_until_async(pilot, lambda: app.snapshot.poll > before and not app.poller.running)
    await pilot.pause()


def screen_text(app) -> str:
    """What the terminal shows right now, as plain lines of text (from the SVG screenshot)."""
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
