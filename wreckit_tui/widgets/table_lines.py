"""The sprite table's lines: its columns' widths and order of rows, and one row or the header
drawn as a Strip straight from a view's :class:`~wreckit_tui.view.Row`.

Nothing here keeps widget state: :class:`~wreckit_tui.widgets.sprite_table.SpriteTable` holds
the rows and the cursor and asks for the lines it shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import filterfalse

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from wreckit_tui.fields import Column
from wreckit_tui.view import Row

MARK = "●"
MARK_STYLE = Style(bold=True, color="magenta")
MARK_WIDTH = 1
PADDING = 1
"""Blank cells either side of every column's content."""


def starting_width(column: Column) -> int:
    """A column's width before any cell widens it: its label and a sort arrow."""
    return column.width if column.fixed else min(len(column.label) + 2, column.width)


def sort_order(rows: Mapping[str, Row], column: int, reverse: bool) -> list[str]:
    """Row keys by the value of ``column`` (reversed if asked), ties by name either way, and
    rows whose value is unknown last, by name: two plain list sorts of keys (both stable)."""
    by_name = sorted(rows)
    known = [key for key in by_name if rows[key].sort_keys[column] is not None]
    if len(known) < len(by_name):
        unknown = [key for key in by_name if rows[key].sort_keys[column] is None]
    else:
        unknown = []
    known.sort(key=lambda key: rows[key].sort_keys[column], reverse=reverse)
    return known + unknown


def widest(texts: list[str]) -> int:
    """The width in cells of the widest of ``texts``: ASCII text is as wide as it is long; other
    text (bars, names) is measured once per distinct text."""
    ascii_width = max(map(len, filter(str.isascii, texts)), default=0)
    others = set(filterfalse(str.isascii, texts))
    return max(ascii_width, max(map(cell_len, others), default=0))


@dataclass
class Layout:
    """The columns and the width of each one's content: the widest cell it has shown (cells
    come capped), never narrower than its label; a ``fixed`` column keeps its width.

    Widths only grow, so columns stay put as rows come and go; ``version`` counts the changes.
    """

    fields: tuple[Column, ...]
    widths: list[int] = field(default_factory=list)
    version: int = 0

    def __post_init__(self) -> None:
        self.widths = [starting_width(column) for column in self.fields]

    @property
    def total(self) -> int:
        """The width of a whole line of the table: the marks, then every column, padded."""
        return MARK_WIDTH + sum(self.widths) + 2 * PADDING * (len(self.widths) + 1)

    def widen(self, rows: Iterable[Row]) -> bool:
        """Widen the columns that ``rows`` need wider; True if any grew. A column already at
        its cap is not measured."""
        rows = rows if isinstance(rows, list | tuple) else list(rows)
        grown = False
        for index, column in enumerate(self.fields):
            if not rows or self.widths[index] >= column.width:
                continue
            needed = widest([row.cells[index].text for row in rows])
            if needed > self.widths[index]:
                self.widths[index] = min(needed, column.width)
                grown = True
        self.version += grown
        return grown

    def column_start(self, index: int) -> int:
        """Where the column ``index`` (of ``fields``) begins on a line."""
        return MARK_WIDTH + 2 * PADDING + sum(width + 2 * PADDING for width in self.widths[:index])

    def column_at(self, x: int) -> int | None:
        """The column (of ``fields``) at ``x`` on a line; None on the marks or past the end."""
        start = MARK_WIDTH + 2 * PADDING
        if x < start:
            return None
        for index, width in enumerate(self.widths):
            start += width + 2 * PADDING
            if x < start:
                return index
        return None


@dataclass(frozen=True)
class Look:
    """The styles lines are drawn with, from the table's component classes."""

    header: Style
    odd: Style
    even: Style
    cursor: Style
    """Laid over the row's style on the cursor row; its colour wins over each cell's own."""


def label(column: Column, sorted_by: bool, reverse: bool) -> str:
    """A column's header: its label, and ▲ or ▼ on the sort column."""
    return column.label + ((" ▼" if reverse else " ▲") if sorted_by else "  ")


def header_strip(layout: Layout, look: Look, sort: tuple[int, bool], width: int) -> Strip:
    """The header line, ``width`` wide at least."""
    style = look.header
    texts = [" " * (MARK_WIDTH + 2 * PADDING)]
    for index, column in enumerate(layout.fields):
        text = label(column, index == sort[0], sort[1])
        texts.append(f" {set_cell_size(text, layout.widths[index])} ")
    line = "".join(texts)
    return Strip([Segment(line.ljust(width), style)]).simplify()


def row_strip(
    row: Row, layout: Layout, look: Look, state: tuple[bool, bool, bool], width: int
) -> Strip:
    """One row's line, ``width`` wide at least; ``state``: (cursor, even, marked)."""
    cursor, even, marked = state
    base = look.even if even else look.odd
    over = Style.null()
    if cursor:
        base += look.cursor
        over = Style(color=look.cursor.color)
    pad = Segment(" " * PADDING, base + over)
    segments = [pad, Segment(MARK if marked else " ", base + MARK_STYLE + over), pad]
    parse = Style.parse
    for column, cell, size in zip(layout.fields, row.cells, layout.widths, strict=True):
        text = cell.text
        fill = size - cell_len(text)
        if fill < 0:
            text, fill = set_cell_size(text, size), 0
        content = " " * fill + text if column.numeric else text + " " * fill
        style = base + parse(cell.style) + over if cell.style else base + over
        segments += (pad, Segment(content, style), pad)
    if width > layout.total:
        segments.append(Segment(" " * (width - layout.total), base + over))
    return Strip(segments).simplify()
