"""The sprite table: a DataTable keyed by sprite name, refreshed by diffs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Self

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.widgets.data_table import ColumnKey

from wreckit_tui.fields import COLUMNS, Cell, Column
from wreckit_tui.textual_private import CellRenderingTable
from wreckit_tui.view import Row, RowDelta, diff_rows

MARK = "●"
REBUILD_SHARE = 0.5
"""Removing rows one by one costs O(rows) each; past this share of the table, rebuild."""


@dataclass
class Repaint:
    """What a refresh of the table has to repaint."""

    rows: set[str] = field(default_factory=set)
    whole: bool = False


def starting_width(column: Column) -> int:
    """A column's width before any cell widens it: its label and a sort arrow."""
    return column.width if column.fixed else min(len(column.label) + 2, column.width)


def sort_order(rows: dict[str, Row], column: int, reverse: bool) -> list[str]:
    """Row keys by the value of ``column`` (reversed if asked), ties by name either way, and
    rows whose value is unknown last, by name."""
    by_name = sorted(rows)
    known = [key for key in by_name if rows[key].sort_keys[column] is not None]
    unknown = [key for key in by_name if rows[key].sort_keys[column] is None]
    known.sort(key=lambda key: rows[key].sort_keys[column], reverse=reverse)
    return known + unknown


class NameText(Text):
    """The NAME cell: literal text that also carries its row key, for sorting."""

    __slots__ = ("row_key",)

    def __init__(self, cell: Cell, row_key: str) -> None:
        super().__init__(cell.text, style=cell.style, no_wrap=True, end="")
        self.row_key = row_key


class SpriteTable(CellRenderingTable):
    """Sprites by name. ``show`` adds and removes rows by key and updates changed cells only."""

    _deferred: list[bool] | None = None
    """While ``show`` runs: the ``layout`` flag of each refresh asked for, else None."""

    def __init__(self, columns: tuple[Column, ...] = COLUMNS, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.fields = columns
        """The columns shown, in the order of each row's cells."""
        self.sort_column = 0
        self.sort_reverse = False
        self.marks: set[str] = set()
        self._shown: dict[str, Row] = {}
        self._rows: Sequence[Row] | None = None
        self._rendered_cells: LRUCache[tuple, tuple[object, list[list[Segment]]]] = LRUCache(1024)

    def on_mount(self) -> None:
        self.add_column(" ", key="mark", width=1)
        for column in self.fields:
            self.add_column(f"{column.label}  ", key=column.key, width=starting_width(column))
        self._label_sort_column()

    @property
    def selected_key(self) -> str | None:
        """The name of the sprite under the cursor."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    @property
    def shown_keys(self) -> list[str]:
        """Names in the order the table shows them."""
        return [row.key.value for row in self.ordered_rows]

    def show(self, rows: Sequence[Row]) -> None:
        """Make the table show exactly ``rows``, sorted, touching only what changed.

        A row object the table shows already is unchanged at once (the view keeps the row
        object of a sprite that did not change), so the work is in proportion to the change.
        """
        same = rows is self._rows  # the very rows shown last: nothing to compare
        self._rows = rows
        selected = self.selected_key
        delta = RowDelta((), (), ()) if same else diff_rows(self._shown, rows)
        with self._deferred_refresh() as repaint:
            if len(delta.removed) > max(len(self._shown) * REBUILD_SHARE, 8):
                self._rebuild(rows)
                repaint.whole = True
            else:
                self._apply(delta, repaint)
            repaint.whole |= self._widen([*delta.added, *delta.changed])
        self._restore_cursor(selected)

    def _widen(self, rows: Sequence[Row]) -> bool:
        """Widen the columns whose new cells need it (cells come capped); True if any grew.

        Widths are set here, at once, rather than measured by DataTable when it is next idle:
        a frame drawn in between would be cached at the old widths and stay on screen.
        """
        grown = False
        for index, column in enumerate(self.fields):
            table_column = self.columns[ColumnKey(column.key)]
            needed = max((cell_len(row.cells[index].text) for row in rows), default=0)
            if needed > table_column.width:
                table_column.width = needed
                grown = True
        if grown:
            self.columns_resized()
        return grown

    @contextmanager
    def _deferred_refresh(self) -> Iterator[Repaint]:
        """Hold the refresh each DataTable change asks for; then repaint only the visible rows
        whose cells changed, or the whole table when rows came, went or moved."""
        repaint = Repaint()
        self._deferred = []
        try:
            yield repaint
        finally:
            layout = any(self._deferred)
            self._deferred = None
            if repaint.whole or layout:
                super().refresh(layout=layout)
            else:
                self._refresh_rows(repaint.rows)

    def refresh(self, *regions: Region, layout: bool = False, **kwargs: object) -> Self:
        if self._deferred is not None and not regions and not kwargs:
            self._deferred.append(layout)
            return self
        return super().refresh(*regions, layout=layout, **kwargs)

    def _refresh_rows(self, keys: set[str]) -> None:
        """Repaint the rows ``keys`` where they are on screen (every row is one line high)."""
        top = self.header_height if self.show_header else 0
        width, height = self.size
        for key in keys:
            y = top + self.get_row_index(key) - self.scroll_offset.y
            if top <= y < height:
                super().refresh(Region(0, y, width, 1))

    def _apply(self, delta: RowDelta, repaint: Repaint) -> None:
        shown = self._shown
        for key in delta.removed:
            self.remove_row(key)
            del shown[key]
        for row in delta.added:
            self.add_row(*self._row_texts(row), key=row.key)
            shown[row.key] = row
        repaint.whole |= bool(delta.removed or delta.added)
        for row in delta.changed:
            repaint.whole |= self._update_changed(shown[row.key], row)
            repaint.rows.add(row.key)
            shown[row.key] = row
        if delta.added or repaint.whole:
            self._sort()

    def sort_by(self, column: int, reverse: bool) -> None:
        """Sort by ``column`` (an index into ``fields``); the cursor keeps its sprite."""
        selected = self.selected_key
        self.sort_column, self.sort_reverse = column, reverse
        self._label_sort_column()
        self._sort()
        self._restore_cursor(selected)

    def _label_sort_column(self) -> None:
        """Show ▲ or ▼ after the label of the sort column."""
        arrow = "▼" if self.sort_reverse else "▲"
        for index, column in enumerate(self.fields):
            suffix = f" {arrow}" if index == self.sort_column else "  "
            self.columns[ColumnKey(column.key)].label = Text(column.label + suffix)
        self.refresh()

    def toggle_mark(self, key: str) -> None:
        """Mark or unmark ``key``; marks outlive a filter that hides their row."""
        self.marks ^= {key}
        if key in self._shown:
            self.update_cell(key, "mark", self._mark_text(key))

    def _rebuild(self, rows: Sequence[Row]) -> None:
        self.clear()
        self._shown = {row.key: row for row in rows}
        for row in rows:
            self.add_row(*self._row_texts(row), key=row.key)
        self._sort()

    def _update_changed(self, old: Row, new: Row) -> bool:
        """Update the cells that differ; True when rows may move (a sort key changed), which
        needs the whole table repainted."""
        moved = old.sort_keys[self.sort_column] != new.sort_keys[self.sort_column]
        for index, (before, after) in enumerate(zip(old.cells, new.cells, strict=True)):
            if before != after:
                key = self.fields[index].key
                self.update_cell(new.key, key, self._cell_text(index, after, new.key))
        return moved

    def _sort(self) -> None:
        """Order by the sort column; ties, and unknown values (always last), by name."""
        rank = {
            key: index
            for index, key in enumerate(
                sort_order(self._shown, self.sort_column, self.sort_reverse)
            )
        }
        self.sort("name", key=lambda name: rank[name.row_key])

    def _restore_cursor(self, selected: str | None) -> None:
        if selected is None or selected not in self._shown:
            return
        row = self.get_row_index(selected)
        if row != self.cursor_row:
            self.move_cursor(row=row, animate=False)

    def _row_texts(self, row: Row) -> list[Text]:
        cells = [self._cell_text(index, cell, row.key) for index, cell in enumerate(row.cells)]
        return [self._mark_text(row.key), *cells]

    def _mark_text(self, key: str) -> Text:
        return Text(MARK if key in self.marks else " ", style="bold magenta")

    def _cell_text(self, index: int, cell: Cell, key: str) -> Text:
        if index == 0:
            return NameText(cell, key)
        justify = "right" if self.fields[index].numeric else "left"
        return Text(cell.text, style=cell.style, justify=justify, no_wrap=True, end="")

    def render_table_cell(  # noqa: PLR0917 - DataTable's signature
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """Render a cell, reusing the last rendering while the cell's value object is the same.

        DataTable keys its own cell cache on a counter bumped by every change to the table,
        so each refresh would re-render every visible cell. Here the key is the value object
        itself (a new one replaces every changed cell), so a refresh renders what changed.
        """
        if column_index < 0:
            return self.default_render_cell(
                row_index, column_index, base_style, width, cursor, hover
            )
        if row_index < 0:
            value: object = self.ordered_columns[column_index].label
        else:
            value = self.get_cell_at(Coordinate(row_index, column_index))
        key = (
            id(value),
            row_index,
            column_index,
            base_style,
            width,
            cursor,
            hover,
            *self.cell_render_state,
        )
        cached = self._rendered_cells.get(key)
        if cached is None or cached[0] is not value:
            lines = self.default_render_cell(
                row_index, column_index, base_style, width, cursor, hover
            )
            cached = (value, lines)
            self._rendered_cells[key] = cached
        return cached[1]
