"""The sprite table: a DataTable keyed by sprite name, refreshed by diffs."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from wreckit_tui.fleet_view import COLUMNS, Cell, Row

MARK = "●"
REBUILD_SHARE = 0.5
"""Removing rows one by one costs O(rows) each; past this share of the table, rebuild."""


class NameText(Text):
    """The NAME cell: literal text that also carries its row key, for sorting."""

    __slots__ = ("row_key",)

    def __init__(self, cell: Cell, row_key: str) -> None:
        super().__init__(cell.text, style=cell.style, no_wrap=True, end="")
        self.row_key = row_key


class SpriteTable(DataTable):
    """Sprites by name. ``show`` adds and removes rows by key and updates changed cells only."""

    DEFAULT_CSS = ""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.sort_column = 0
        self.sort_reverse = False
        self.marks: set[str] = set()
        self._shown: dict[str, Row] = {}

    def on_mount(self) -> None:
        self.add_column(" ", key="mark", width=1)
        for column in COLUMNS:
            self.add_column(f"{column.label}  ", key=column.key)
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
        """Make the table show exactly ``rows``, sorted, touching only what changed."""
        selected = self.selected_key
        wanted = {row.key: row for row in rows}
        gone = [key for key in self._shown if key not in wanted]
        added = [row for row in rows if row.key not in self._shown]
        if len(gone) > max(len(self._shown) * REBUILD_SHARE, 8):
            self._rebuild(rows)
        else:
            resort = bool(added)
            for key in gone:
                self.remove_row(key)
            for row in added:
                self.add_row(*self._row_texts(row), key=row.key)
            for row in rows:
                old = self._shown.get(row.key)
                if old is not None and old != row:
                    resort |= self._update_changed(old, row)
            self._shown = wanted
            if resort:
                self._sort()
        self._restore_cursor(selected)

    def sort_by(self, column: int, reverse: bool) -> None:
        """Sort by ``column`` (an index into ``COLUMNS``); the cursor keeps its sprite."""
        selected = self.selected_key
        self.sort_column, self.sort_reverse = column, reverse
        self._label_sort_column()
        self._sort()
        self._restore_cursor(selected)

    def _label_sort_column(self) -> None:
        """Show ▲ or ▼ after the label of the sort column."""
        arrow = "▼" if self.sort_reverse else "▲"
        for index, column in enumerate(COLUMNS):
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
        """Update the cells that differ; True when the sort key changed."""
        for index, (before, after) in enumerate(zip(old.cells, new.cells, strict=True)):
            if before != after:
                text = self._cell_text(index, after, new.key)
                self.update_cell(new.key, COLUMNS[index].key, text, update_width=True)
        column = self.sort_column
        return old.sort_keys[column] != new.sort_keys[column]

    def _sort(self) -> None:
        shown, column = self._shown, self.sort_column

        def sort_key(name: NameText) -> tuple:
            return (shown[name.row_key].sort_keys[column], name.row_key)

        self.sort("name", key=sort_key, reverse=self.sort_reverse)

    def _restore_cursor(self, selected: str | None) -> None:
        if selected is not None and selected in self._shown:
            self.move_cursor(row=self.get_row_index(selected), animate=False)

    def _row_texts(self, row: Row) -> list[Text]:
        cells = [self._cell_text(index, cell, row.key) for index, cell in enumerate(row.cells)]
        return [self._mark_text(row.key), *cells]

    def _mark_text(self, key: str) -> Text:
        return Text(MARK if key in self.marks else " ", style="bold magenta")

    @staticmethod
    def _cell_text(index: int, cell: Cell, key: str) -> Text:
        if index == 0:
            return NameText(cell, key)
        justify = "right" if COLUMNS[index].numeric else "left"
        return Text(cell.text, style=cell.style, justify=justify, no_wrap=True, end="")
