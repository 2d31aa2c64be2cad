"""The virtual sprite table on its own: it draws only the lines on screen, repaints only rows
that changed and are seen, sorts, widens its columns, and moves its cursor at 10,000 rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.strip import Strip

from wreckit_tui.models import Sprite
from wreckit_tui.view import Row, build_row
from wreckit_tui.widgets.sprite_table import SpriteTable

SIZE = (160, 20)
ROWS_SEEN = SIZE[1] - 1  # under the header
MANY = 10_000


def row(index: int, cpu: float = 10.0, name: str | None = None) -> Row:
    return build_row(
        Sprite(
            name=name or f"agent-{index:05d}",
            state="running",
            cpus=1,
            memory_mib=512,
            cpu_percent=cpu,
            memory_used_mib=100,
            uptime_seconds=90,
        )
    )


class CountingTable(SpriteTable):
    """Counts the lines the compositor asks for: each is a line repainted."""

    painted = 0

    def render_line(self, y: int) -> Strip:
        self.painted += 1
        return super().render_line(y)


class TableApp(App[None]):
    def __init__(self, rows: tuple[Row, ...]) -> None:
        super().__init__()
        self.rows, self.messages = rows, []

    def compose(self) -> ComposeResult:
        yield CountingTable(id="table")

    def on_mount(self) -> None:
        self.query_one(SpriteTable).show(self.rows)

    def on_sprite_table_header_selected(self, message: SpriteTable.HeaderSelected) -> None:
        self.messages.append(("header", message.column))

    def on_sprite_table_row_highlighted(self, message: SpriteTable.RowHighlighted) -> None:
        self.messages.append(("highlighted", message.key))


@asynccontextmanager
async def table_of(
    rows: tuple[Row, ...], size: tuple[int, int] = SIZE
) -> AsyncIterator[tuple[Pilot, CountingTable]]:
    """A table showing ``rows`` in an app of its own, once it has drawn them."""
    app = TableApp(rows)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        yield pilot, app.query_one(CountingTable)


def lines(table: SpriteTable) -> list[str]:
    return [strip.text for strip in table.render_lines(table.size.region)]


async def test_of_10000_rows_only_the_lines_on_screen_are_drawn() -> None:
    rows = tuple(row(index) for index in range(MANY))
    async with table_of(rows) as (_pilot, table):
        assert table.row_count == MANY
        assert table.virtual_size.height == MANY + 1
        assert 0 < table.lines_drawn <= ROWS_SEEN
        drawn = lines(table)
        assert drawn[0].split()[:2] == ["NAME", "▲"]
        assert drawn[1].split()[0] == "agent-00000"
        assert drawn[-1].split()[0] == f"agent-{ROWS_SEEN - 1:05d}"


async def test_a_changed_row_is_redrawn_only_where_it_is_seen() -> None:
    rows = tuple(row(index) for index in range(MANY))
    async with table_of(rows) as (pilot, table):
        drawn, painted = table.lines_drawn, table.painted
        off_screen = list(rows)
        off_screen[5_000] = row(5_000, cpu=99)
        table.show(tuple(off_screen))
        await pilot.pause()
        assert (table.lines_drawn, table.painted) == (drawn, painted)  # nothing repainted
        assert "99%" in table.get_cell("agent-05000", "cpu").text
        on_screen = list(off_screen)
        on_screen[3] = row(3, cpu=77)
        table.show(tuple(on_screen))
        await pilot.pause()
        assert (table.lines_drawn, table.painted) == (drawn + 1, painted + 1)  # its line only
        assert "77%" in lines(table)[4]


async def test_a_sort_by_a_figure_reorders_and_the_cursor_keeps_its_sprite() -> None:
    rows = tuple(row(index, cpu=index % 100) for index in range(MANY))
    async with table_of(rows) as (pilot, table):
        table.move_cursor(row=table.get_row_index("agent-00042"))
        table.sort_by(4, reverse=True)  # CPU %, highest first; ties by name
        await pilot.pause()
        assert table.shown_keys[:2] == ["agent-00099", "agent-00199"]
        assert table.column_label(4) == "CPU % ▼"
        assert table.selected_key == "agent-00042"
        cursor_line = table.cursor_row - round(table.scroll_y) + 1
        assert 1 <= cursor_line < SIZE[1]
        assert lines(table)[cursor_line].split()[0] == "agent-00042"


async def test_clicking_a_header_names_its_column_and_the_marks_have_none() -> None:
    async with table_of(tuple(row(index) for index in range(3))) as (pilot, table):
        await pilot.click(table, offset=(table.column_start(4) + 1, 0))
        await pilot.click(table, offset=(1, 0))  # the marks' column
        await pilot.click(table, offset=(table.column_start(0) + 1, 0))
        await pilot.pause()
        headers = [message for message in pilot.app.messages if message[0] == "header"]
        assert headers == [("header", 4), ("header", 0)]


async def test_columns_grow_with_their_cells_and_figures_are_right_justified() -> None:
    async with table_of((row(1), row(2))) as (pilot, table):
        state = table.column_start(1)
        table.show((row(1, name="a-much-longer-sprite-name"), row(2)))
        await pilot.pause()
        assert table.column_start(1) > state
        drawn = lines(table)
        line = next(text for text in drawn if "a-much-longer" in text)
        cpu = table.column_start(4)
        memory = table.column_start(5)
        assert line[cpu:memory].rstrip().endswith("10%")
        assert line[memory - 2] == "%"  # flush right, then the padding
        table.show((row(2),))  # the long name gone: the columns stay where they are
        await pilot.pause()
        assert table.column_start(1) > state


async def test_page_and_end_keys_move_the_cursor_and_keep_it_on_screen() -> None:
    async with table_of(tuple(row(index) for index in range(MANY))) as (pilot, table):
        table.action_page_down()
        assert table.cursor_row == ROWS_SEEN
        table.action_scroll_bottom()
        await pilot.pause()
        assert table.selected_key == f"agent-{MANY - 1:05d}"
        assert lines(table)[-1].split()[0] == f"agent-{MANY - 1:05d}"
        table.action_page_up()
        table.action_cursor_up()
        await pilot.pause()
        name = table.selected_key
        assert name == f"agent-{MANY - 2 - ROWS_SEEN:05d}"
        assert any(text.split()[:1] == [name] for text in lines(table)[1:])
        table.action_scroll_top()
        await pilot.pause()
        assert lines(table)[1].split()[0] == "agent-00000"
        assert ("highlighted", "agent-00000") in pilot.app.messages


async def test_a_click_on_a_row_moves_the_cursor_there() -> None:
    async with table_of(tuple(row(index) for index in range(5))) as (pilot, table):
        await pilot.click(table, offset=(5, 3))
        assert table.selected_key == "agent-00002"
        table.toggle_mark("agent-00002")
        await pilot.pause()
        assert lines(table)[3].split()[0] == "●"


async def test_left_and_right_scroll_a_table_wider_than_its_pane() -> None:
    async with table_of(tuple(row(index) for index in range(3)), size=(60, 10)) as (pilot, table):
        assert pilot.app.focused is table
        await pilot.press("right", "right")
        await pilot.pause()
        assert table.scroll_x > 0
        assert not lines(table)[1].startswith("    agent-00000")
        await pilot.press("left", "left")
        await pilot.pause()
        assert table.scroll_x == 0
        assert lines(table)[1].startswith("    agent-00000")
