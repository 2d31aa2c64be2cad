"""One-shot output without the dashboard: a rich table, or JSON. Never imports Textual."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING

from rich.cells import cell_len

from wreckit_tui.fields import Column, activity_cell, columns_for, state_cell, table_cells
from wreckit_tui.models import Fleet, Sprite
from wreckit_tui.text import sanitize

if TYPE_CHECKING:
    from rich.table import Table

PIPE_WIDTH = 1000
SHRINK_FIRST = ("name", "command", "url")
"""Columns a narrow terminal cuts short (with an ellipsis) before it touches the others."""
EMPTY_HINT = "No sprites yet. Start one with: wreckit-tui start NAME"
JSON_PIECES = 8192
"""Pieces of encoded JSON written at once: few writes, yet never the whole array in memory."""


def write_fleet_json(fleet: Fleet, file: IO[str]) -> None:
    """The fleet as a JSON array of normalized sprites, in wisp's order, written as it is
    encoded (a fleet at ``max_sprites`` is megabytes of text, never held whole)."""
    sprites = [sprite.public_dict() for sprite in fleet.sprites]
    pieces: list[str] = []
    for piece in json.JSONEncoder(indent=2).iterencode(sprites):
        pieces.append(piece)
        if len(pieces) == JSON_PIECES:
            file.write("".join(pieces))
            pieces.clear()
    file.write("".join(pieces) + "\n")


def sprite_json(sprite: Sprite) -> str:
    return json.dumps(sprite.public_dict(), indent=2)


def fleet_table(fleet: Fleet, backends: bool = False) -> Table:
    """A rich table of the fleet, columns as in the dashboard (BACKEND with ``backends``);
    every cell is literal text."""
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold", show_edge=False)  # no outer border: 80 columns fit
    columns = columns_for(2 if backends else 1)
    for column in columns:
        justify = "right" if column.numeric else "left"
        shrinks = column.key in SHRINK_FIRST  # rich narrows only columns that may wrap
        table.add_column(
            column.label,
            justify=justify,
            no_wrap=not shrinks,
            max_width=column.width,
            min_width=len(column.label) if shrinks else None,
        )
    keys = [column.key for column in columns]
    state, activity = keys.index("state"), keys.index("activity")
    for sprite in fleet.sprites:
        texts = table_cells(sprite, columns)
        cells = [Text(cell, no_wrap=True, overflow="ellipsis") for cell in texts]
        cells[state].stylize(state_cell(sprite).style)
        cells[activity].stylize(activity_cell(sprite).style)
        table.add_row(*cells)
    return table


def print_table(fleet: Fleet, caption: str, file: IO[str], *, backends: bool = False) -> None:
    """Print the table (BACKEND with ``backends``) and its caption; when ``file`` is not a
    terminal no cell is cut short.

    A table that fits the width is written line by line from the cells' own widths (each cell
    measured once); a narrower terminal gets rich's table, which shrinks the columns."""
    from rich.console import Console
    from rich.text import Text

    width = None if file.isatty() else PIPE_WIDTH
    console = Console(file=file, width=width, highlight=False)
    columns = columns_for(2 if backends else 1)
    lines = table_lines(
        fleet, console.width, styled=console.color_system is not None, columns=columns
    )
    if lines is not None:
        file.write("".join(line + "\n" for line in lines))
    else:
        console.print(fleet_table(fleet, backends) if fleet.sprites else Text(EMPTY_HINT))
    console.print(Text(caption, style="dim"))


def table_lines(
    fleet: Fleet, width: int, *, styled: bool = False, columns: tuple[Column, ...] | None = None
) -> list[str] | None:
    """The lines :func:`fleet_table` prints, when the table fits ``width`` cells (else None);
    ``styled`` adds the header's, states' and activities' colours as escape sequences."""
    if not fleet.sprites:
        return None
    columns = columns or columns_for(1)
    rows = [table_cells(sprite, columns) for sprite in fleet.sprites]
    widths = [len(column.label) for column in columns]
    for cells in rows:
        widths = [max(w, _cells(text)) for w, text in zip(widths, cells, strict=True)]
    if sum(widths) + 3 * len(widths) - 1 > width:
        return None
    paint = _painter(styled)
    rights = [column.numeric for column in columns]
    labels = zip(columns, widths, rights, strict=True)
    header = [_pad(c.label, w, r, paint(c.label, "bold")) for c, w, r in labels]
    lines = [f" {' ┃ '.join(header)} ", "╇".join("━" * (w + 2) for w in widths)]
    keys = [column.key for column in columns]
    state, activity = keys.index("state"), keys.index("activity")
    for sprite, cells in zip(fleet.sprites, rows, strict=True):
        padded = [_pad(text, w, r) for text, w, r in zip(cells, widths, rights, strict=True)]
        if styled:
            for index, cell in ((state, state_cell(sprite)), (activity, activity_cell(sprite))):
                painted = paint(cells[index], cell.style)
                padded[index] = _pad(cells[index], widths[index], rights[index], painted)
        lines.append(f" {' │ '.join(padded)} ")
    return lines


def _cells(text: str) -> int:
    """How many terminal cells ``text`` takes."""
    return len(text) if text.isascii() else cell_len(text)


def _pad(text: str, width: int, right: bool, shown: str | None = None) -> str:
    """``text`` (written as ``shown``, if given: ``text`` with escape sequences) padded to
    ``width`` cells, on the left when ``right``."""
    gap = " " * (width - _cells(text))
    shown = text if shown is None else shown
    return gap + shown if right else shown + gap


def _painter(styled: bool) -> Callable[[str, str], str]:
    """``paint(text, style)``: the text in that rich style (as escape sequences when
    ``styled``; as it is when not)."""
    if not styled:
        return lambda text, _style: text
    from rich.style import Style

    styles: dict[str, Style] = {}

    def paint(text: str, style: str) -> str:
        if not style:
            return text
        found = styles.get(style) or styles.setdefault(style, Style.parse(style))
        return found.render(text)

    return paint


def describe_backend(label: str, version: str, isolations: Sequence[str]) -> str:
    """``wisp /usr/bin/wisp 0.3.1`` or ``built-in sandbox provider 0.1.0 (isolation: bwrap)``."""
    text = f"{label} {version}".rstrip()
    if isolations:
        text += f" (isolation: {', '.join(isolations)})"
    return sanitize(text)


def caption_for(backend_label: str, version: str | None, fleet: Fleet, max_vms: int) -> str:
    """``wisp /usr/bin/wisp 0.3.1 · 3 sprites, 2 running · VMs 3/5``: the dashboard's words
    (VMs counts the sprites that are not stopped, against max_vms)."""
    backend = describe_backend(backend_label, version or "version unknown", fleet.isolations)
    count = len(fleet.sprites)
    noun = "sprite" if count == 1 else "sprites"
    running = sum(1 for sprite in fleet.sprites if sprite.state == "running")
    return f"{backend} · {count} {noun}, {running} running · VMs {fleet.active_count}/{max_vms}"
