"""The main screen: header, gauges, filter, the sprite table and the detail pane."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from wreckit_tui.fleet_view import COLUMNS, FleetState, fleet_gauges, matches, with_pending
from wreckit_tui.widgets.detail import SpriteDetail
from wreckit_tui.widgets.gauges import FleetGauges
from wreckit_tui.widgets.sprite_table import SpriteTable
from wreckit_tui.widgets.status import Status, StatusBar

if TYPE_CHECKING:
    from wreckit_tui.app import WreckitApp


class FilterInput(Input):
    """The name filter. Enter keeps it and returns to the table; escape clears it."""

    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", show=False)]

    def action_clear_filter(self) -> None:
        self.value = ""
        self.screen.query_one(SpriteTable).focus()


class DashboardScreen(Screen[None]):
    """The fleet at a glance. Polling runs only while this screen is the one shown."""

    BINDINGS = [
        Binding("n", "app.launch", "Launch", tooltip="launch a new sprite (max_vms applies)"),
        Binding("d", "app.kill", "Kill", tooltip="kill the marked sprites, or the selected one"),
        Binding("space", "toggle_mark", "Mark", tooltip="mark or unmark the selected sprite"),
        Binding("slash", "filter", "Filter", tooltip="filter by name; enter keeps it, esc clears"),
        Binding("s", "cycle_sort", "Sort", tooltip="sort by the next column"),
        Binding("S", "reverse_sort", "Reverse", tooltip="reverse the sort order"),
        Binding("r", "refresh", "Refresh", tooltip="poll wisp now"),
    ]

    app: WreckitApp

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield FleetGauges(id="gauges")
        yield FilterInput(placeholder="filter: part of a sprite name", id="filter", compact=True)
        with Horizontal(id="main"):
            with Vertical(id="table-pane"):
                yield SpriteTable(id="sprites")
                yield Static(id="empty-hint")
            yield SpriteDetail(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()
        self.set_interval(1.0, self.show_status)

    @property
    def table(self) -> SpriteTable:
        return self.query_one(SpriteTable)

    @property
    def filter_text(self) -> str:
        return self.query_one(FilterInput).value.strip()

    # -- showing state ---------------------------------------------------------------------

    def show_state(self, state: FleetState) -> None:
        """Bring every widget up to date with ``state``; only changed table cells are redrawn."""
        query = self.filter_text
        app = self.app
        rows = with_pending(state.rows, state.by_name, app.starting, app.stopping)
        if query:
            rows = [row for row in rows if matches(row.key, query)]
        self.table.marks &= state.by_name.keys() | app.starting.keys()
        with self.app.batch_update():
            self.table.show(rows)
            self._show_empty_hint(state, shown=len(rows))
            self.query_one(FleetGauges).show(
                fleet_gauges(state.fleet, self.app.host, self.app.config.max_vms)
            )
            self.show_status()
            self.show_detail()
        self.set_class(state.error is not None, "-stale")

    def _show_empty_hint(self, state: FleetState, shown: int) -> None:
        hint = self.query_one("#empty-hint", Static)
        self.query_one("#table-pane").set_class(shown == 0 and state.last_ok is not None, "-empty")
        if state.fleet.sprites:
            hint.update("No sprite matches the filter. Press / then esc to clear it.")
        else:
            hint.update("No sprites yet. Press n to launch one.")

    def show_status(self) -> None:
        state = self.app.state
        since = None if state.last_ok is None else self.app.clock() - state.last_ok
        self.query_one(StatusBar).show(
            Status(
                backend=self.app.backend_description(),
                sprites=len(state.fleet.sprites),
                running=state.running,
                seconds_since_refresh=since,
                error=state.error,
                filter=self.filter_text,
            )
        )

    def show_detail(self) -> None:
        state, name = self.app.state, self.table.selected_key
        sprite = state.by_name.get(name) if name else None
        history = state.history
        self.query_one(SpriteDetail).show(
            sprite, history.cpu.get(name or "", ()), history.memory.get(name or "", ())
        )

    def select(self, name: str) -> None:
        """Put the cursor on ``name``, clearing a filter that hides it."""
        if name not in self.table.shown_keys:
            self.query_one(FilterInput).value = ""
            self.show_state(self.app.state)
        if name in self.table.shown_keys:
            self.table.move_cursor(row=self.table.get_row_index(name))
        self.table.focus()

    # -- events ----------------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        self.app.resume_polling()

    def on_screen_suspend(self) -> None:
        self.app.pause_polling()

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.show_state(self.app.state)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def on_descendant_blur(self) -> None:
        self.query_one(FilterInput).display = bool(self.filter_text) or self._filter_focused()

    def _filter_focused(self) -> bool:
        return self.focused is self.query_one(FilterInput)

    # -- actions ---------------------------------------------------------------------------

    def action_filter(self) -> None:
        filter_input = self.query_one(FilterInput)
        filter_input.display = True
        filter_input.focus()

    def action_cycle_sort(self) -> None:
        self._sort((self.table.sort_column + 1) % len(COLUMNS), reverse=False)

    def action_reverse_sort(self) -> None:
        self._sort(self.table.sort_column, reverse=not self.table.sort_reverse)

    def _sort(self, column: int, *, reverse: bool) -> None:
        self.table.sort_by(column, reverse)

    def action_refresh(self) -> None:
        self.app.poll_now()

    def action_toggle_mark(self) -> None:
        """Mark or unmark the sprite under the cursor and move to the next one."""
        name = self.table.selected_key
        if name is not None:
            self.table.toggle_mark(name)
            self.table.action_cursor_down()

    def kill_targets(self) -> list[str]:
        """The marked sprites (hidden by a filter or not), else the selected one."""
        selected = self.table.selected_key
        return sorted(self.table.marks) or ([selected] if selected else [])

    def unmark(self, names: list[str]) -> None:
        for name in self.table.marks.intersection(names):
            self.table.toggle_mark(name)
