"""Snapshot tests of what a person sees: every cell's character, colour and weight, and its
background, compared cell by cell; the SVG files stay pictures to look at.

Two paints of one screen can cut a line into differently sized runs of text (a blank run
joined to the text after it, or not), which changes the SVG without changing a pixel, so the
SVG text itself is not compared.
"""

from __future__ import annotations

import html
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from pytest_textual_snapshot import SVGImageExtension
from textual.app import App
from textual.pilot import Pilot

SNAPSHOTS = Path(__file__).parents[2] / "snapshots"
TEXT = re.compile(
    r'<text class="([\w-]+)" x="([\d.]+)" y="([\d.]+)" textLength="([\d.]+)"[^>]*>([^<]*)</text>'
)
RECT = re.compile(r'<rect fill="(#[0-9a-f]+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"')
STYLE = re.compile(r"\.(terminal-[\w-]+) \{ ([^}]*) \}")
INVISIBLE_ON_BLANKS = re.compile(r"font-weight: bold;?|font-style: italic;?")
"""What a blank cell does not show."""

Cells = dict[tuple[int, int], tuple[str, str]]


def screen_cells(svg: str) -> tuple[Cells, dict[tuple[int, int], str]]:
    """Each cell's character and text style, and each cell's background, by (column, row)."""
    styles = dict(STYLE.findall(svg))
    pieces = TEXT.findall(svg)
    width = min((float(length) / len(html.unescape(text)) for *_, length, text in pieces if text))
    text: Cells = {}
    for name, x, y, _length, run in pieces:
        style = styles.get(name, "")
        for offset, char in enumerate(html.unescape(run)):
            blank = not char.strip()
            text[(round(float(x) / width) + offset, round(float(y)))] = (
                " " if blank else char,
                INVISIBLE_ON_BLANKS.sub("", style).strip() if blank else style,
            )
    background = {}
    for fill, x, y, run_width in RECT.findall(svg):
        first = round(float(x) / width)
        for column in range(first, first + round(float(run_width) / width)):
            background[(column, round(float(y)))] = fill
    return {key: cell for key, cell in text.items() if cell != (" ", "")}, background


class ScreenSVG(SVGImageExtension):
    """SVG snapshots under ``snapshots/<test file>/``, equal when every cell looks the same."""

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(SNAPSHOTS / Path(test_location.filepath).stem)

    def matches(self, *, serialized_data: Any, snapshot_data: Any) -> bool:
        return screen_cells(serialized_data) == screen_cells(snapshot_data)


async def screenshot(
    app: App,
    press: Iterable[str] = (),
    terminal_size: tuple[int, int] = (80, 24),
    run_before: Callable[[Pilot], Awaitable[None] | None] | None = None,
) -> str:
    """The SVG screenshot of ``app`` after ``run_before`` and the keys ``press``."""
    async with app.run_test(size=terminal_size) as pilot:
        if run_before is not None:
            result = run_before(pilot)
            if inspect.isawaitable(result):
                await result
        await pilot.pause()
        await pilot.press(*press)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        return app.export_screenshot(title=app.title, simplify=True)
