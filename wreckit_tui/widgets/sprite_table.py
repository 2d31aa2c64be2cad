"""The sprite table: a virtual table that draws only the lines on screen, straight from the
view's rows, and repaints only what a refresh changed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from wreckit_tui.fields import COLUMNS, Cell, Column
from wreckit_tui.view import Row, diff_rows
from wreckit_tui.widgets.table_lines import (
    MARK,
    Layout,
    Look,
    header_strip,
    label,
    row_strip,
    sort_order,
)

HEADER_HEIGHT = 1
STRIPS_KEPT = 1024
"""Rows' lines kept drawn: many screens of them."""


class SpriteTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Sprites, one per line under a fixed header, sorted by a column; a cursor row, marks.

    ``show`` takes a view's rows: a row object the table shows already is unchanged at once
    (the view keeps the row object of a sprite that did not change), so the work is in
    proportion to the change. Each line is drawn from its row when it comes on screen and kept
    (keyed by the row object and what its look depends on) until that row changes.

    The screen binds the cursor keys and calls the ``action_*`` cursor moves; the table binds
    only left and right, which scroll a table wider than its pane.
    """

    BINDINGS = [
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
    ]

    COMPONENT_CLASSES = {
        "sprite-table--header",
        "sprite-table--cursor",
        "sprite-table--even-row",
        "sprite-table--odd-row",
    }
    DEFAULT_CSS = """
    SpriteTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .sprite-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .sprite-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .sprite-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .sprite-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .sprite-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .sprite-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .sprite-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class RowHighlighted(Message):
        """The cursor moved to another sprite (``key``)."""

        def __init__(self, table: SpriteTable, key: str | None) -> None:
            super().__init__()
            self.table, self.key = table, key

        @property
        def control(self) -> SpriteTable:
            return self.table

    class RowSelected(RowHighlighted):
        """The sprite under the cursor was clicked again."""

    class HeaderSelected(Message):
        """A column's header was clicked: ``column`` indexes the table's ``fields``."""

        def __init__(self, table: SpriteTable, column: int) -> None:
            super().__init__()
            self.table, self.column = table, column

        @property
        def control(self) -> SpriteTable:
            return self.table

    def __init__(self, columns: tuple[Column, ...] = COLUMNS, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.fields = columns
        """The columns shown, in the order of each row's cells."""
        self.sort_column = 0
        self.sort_reverse = False
        self.marks: set[str] = set()
        self.cursor_row = 0
        """The index of the cursor's row in ``shown_keys``."""
        self._shown: dict[str, Row] = {}
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._rows: Sequence[Row] | None = None
        self._layout = Layout(columns)
        self._look: Look | None = None
        self._strips: LRUCache[tuple[object, ...], tuple[Row, Strip]] = LRUCache(STRIPS_KEPT)
        self._header: tuple[tuple[object, ...], Strip] | None = None
        self.lines_drawn = 0
        """Rows' lines drawn so far (a line found kept is not drawn again)."""

    # -- what is shown ----------------------------------------------------------------------

    @property
    def selected_key(self) -> str | None:
        """The name of the sprite under the cursor."""
        order, row = self._order, self.cursor_row
        return order[row] if row < len(order) else None

    @property
    def shown_keys(self) -> list[str]:
        """Names in the order the table shows them."""
        return list(self._order)

    @property
    def row_count(self) -> int:
        return len(self._order)

    def get_row_index(self, key: str) -> int:
        """Where the sprite ``key`` is in ``shown_keys``."""
        return self._index[key]

    def get_cell(self, key: str, column: str) -> Cell:
        """The cell shown for sprite ``key`` in ``column`` (a column's key, or ``mark``)."""
        if column == "mark":
            return Cell(MARK if key in self.marks else " ", "bold magenta")
        index = next(i for i, field in enumerate(self.fields) if field.key == column)
        return self._shown[key].cells[index]

    def column_label(self, column: int) -> str:
        """The header of ``column`` (an index into ``fields``), with its sort arrow."""
        return label(self.fields[column], column == self.sort_column, self.sort_reverse)

    def column_start(self, column: int) -> int:
        """Where ``column`` (an index into ``fields``) begins on a line."""
        return self._layout.column_start(column)

    # -- refreshing -------------------------------------------------------------------------

    def show(self, rows: Sequence[Row]) -> None:
        """Make the table show exactly ``rows``, sorted; repaint only the lines on screen whose
        row changed, or all of them when rows came, went or moved."""
        if rows is self._rows:  # the very rows shown last: nothing to compare
            return
        self._rows = rows
        selected = self.selected_key
        delta = diff_rows(self._shown, rows)
        shown, column = self._shown, self.sort_column
        moved = bool(delta.removed or delta.added)
        for key in delta.removed:
            del shown[key]
        for row in (*delta.added, *delta.changed):
            before = shown.get(row.key)
            moved |= before is not None and before.sort_keys[column] != row.sort_keys[column]
            shown[row.key] = row
        grown = self._layout.widen([*delta.added, *delta.changed])
        self._size_to_rows()
        if moved:
            self._sort(selected)
        elif grown:
            self.refresh()
        else:
            self._refresh_rows(row.key for row in delta.changed)

    def sort_by(self, column: int, reverse: bool) -> None:
        """Sort by ``column`` (an index into ``fields``); the cursor keeps its sprite."""
        self.sort_column, self.sort_reverse = column, reverse
        self._sort(self.selected_key)

    def toggle_mark(self, key: str) -> None:
        """Mark or unmark ``key``; marks outlive a filter that hides their row."""
        self.marks ^= {key}
        self._refresh_rows([key])

    def _sort(self, selected: str | None) -> None:
        self._order = sort_order(self._shown, self.sort_column, self.sort_reverse)
        self._index = {key: index for index, key in enumerate(self._order)}
        row = self._index.get(selected, self.cursor_row) if selected else self.cursor_row
        self._place_cursor(row, key=selected)
        self.refresh()

    def _size_to_rows(self) -> None:
        size = Size(self._layout.total, HEADER_HEIGHT + len(self._shown))
        if size != self.virtual_size:
            self.virtual_size = size

    def _refresh_rows(self, keys: Iterable[str]) -> None:
        """Repaint the lines of the rows ``keys`` that are on screen."""
        width, height = self.size
        top = HEADER_HEIGHT - self.scroll_offset.y
        for key in keys:
            index = self._index.get(key)
            if index is not None and HEADER_HEIGHT <= top + index < height:
                self.refresh(Region(0, top + index, width, 1))

    # -- the cursor -------------------------------------------------------------------------

    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        """Put the cursor on ``row`` (an index into ``shown_keys``, kept in range)."""
        self._place_cursor(row, scroll=scroll)

    def _place_cursor(self, row: int, *, scroll: bool = True, key: str | None = "") -> None:
        """Move the cursor to ``row``; tell the screen if it is now on another sprite than
        ``key`` (by default, the one it was on)."""
        before, key = self.cursor_row, self.selected_key if key == "" else key
        self.cursor_row = max(0, min(row, len(self._order) - 1))
        if self.cursor_row != before:
            for index in (before, self.cursor_row):
                if index < len(self._order):
                    self._refresh_rows([self._order[index]])
            if scroll:
                self._scroll_to_cursor()
        if self.selected_key != key:
            self.post_message(self.RowHighlighted(self, self.selected_key))

    def _scroll_to_cursor(self) -> None:
        rows_seen = self.scrollable_content_region.height - HEADER_HEIGHT
        if rows_seen <= 0:
            return
        top = round(self.scroll_y)
        if self.cursor_row < top:
            top = self.cursor_row
        elif self.cursor_row >= top + rows_seen:
            top = self.cursor_row - rows_seen + 1
        if top != round(self.scroll_y):
            self.scroll_to(y=top, animate=False, force=True, immediate=True)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - HEADER_HEIGHT)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.scroll_to(y=self.scroll_y - self._page(), animate=False, force=True, immediate=True)
        self.move_cursor(row=self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self.scroll_to(y=self.scroll_y + self._page(), animate=False, force=True, immediate=True)
        self.move_cursor(row=self.cursor_row + self._page())

    def action_scroll_top(self) -> None:
        self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(row=len(self._order) - 1)

    def on_click(self, event: events.Click) -> None:
        """A header sorts by its column; a row takes the cursor, or is selected if it had it."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        scroll_x, scroll_y = self.scroll_offset
        if offset.y < HEADER_HEIGHT:
            column = self._layout.column_at(offset.x + scroll_x)
            if column is not None:
                self.post_message(self.HeaderSelected(self, column))
            return
        row = offset.y - HEADER_HEIGHT + scroll_y
        if row == self.cursor_row and row < len(self._order):
            self.post_message(self.RowSelected(self, self.selected_key))
        elif row < len(self._order):
            self.move_cursor(row=row)

    # -- drawing ----------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        """Take the look (focus, theme) once per frame; lines drawn in another are dropped."""
        get = self.get_component_rich_style
        look = Look(
            header=get("sprite-table--header"),
            odd=get("sprite-table--odd-row"),
            even=get("sprite-table--even-row"),
            cursor=get("sprite-table--cursor"),
        )
        if look != self._look:
            self._look = look
            self._strips.clear()
            self._header = None
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y < HEADER_HEIGHT:
            strip = self._header_line(width)
        elif (row := y - HEADER_HEIGHT + scroll_y) < len(self._order):
            strip = self._row_line(row, width)
        else:
            return Strip.blank(width, self.rich_style)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _header_line(self, width: int) -> Strip:
        key = (self._layout.version, self.sort_column, self.sort_reverse, width)
        if self._header is None or self._header[0] != key:
            look = self._look or self._fallback_look()
            sort = (self.sort_column, self.sort_reverse)
            self._header = (key, header_strip(self._layout, look, sort, width))
        return self._header[1]

    def _row_line(self, index: int, width: int) -> Strip:
        row = self._shown[self._order[index]]
        state = (index == self.cursor_row, index % 2 == 0, row.key in self.marks)
        key = (row.key, state, width, self._layout.version)
        kept = self._strips.get(key)
        if kept is not None and kept[0] is row:
            return kept[1]
        self.lines_drawn += 1
        strip = row_strip(row, self._layout, self._look or self._fallback_look(), state, width)
        self._strips[key] = (row, strip)
        return strip

    def _fallback_look(self) -> Look:
        style = self.rich_style
        return Look(header=style, odd=style, even=style, cursor=style)
