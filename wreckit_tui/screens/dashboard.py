"""The main screen: header, gauges, filter, the sprite table and the detail pane."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from wreckit_tui.fleet_view import COLUMNS, FleetState, matches, with_pending
from wreckit_tui.widgets.detail import SpriteDetail
from wreckit_tui.widgets.gauges import FleetGauges
from wreckit_tui.widgets.sprite_table import SpriteTable
from wreckit_tui.widgets.status import Status, StatusBar

if TYPE_CHECKING:
    from wreckit_tui.app import WreckitApp


class DashboardScreen(Screen[None]):
    """The fleet at a glance. Polling runs only while this screen is the one shown."""

    BINDINGS = [
        Binding("n", "app.launch", "Launch", tooltip="launch a new sprite (max_vms applies)"),
        Binding("d", "app.kill", "Kill", tooltip="kill the marked sprites, or the selected one"),
        Binding("a", "app.attach", "Attach", tooltip="attach to the selected sprite (also enter)"),
        Binding("space", "toggle_mark", "Mark", tooltip="mark or unmark the selected sprite"),
        Binding("slash", "filter", "Filter", tooltip="filter by name; enter keeps it, esc clears"),
        Binding("escape", "clear_filter", "Clear filter", show=False, tooltip="clear the filter"),
        Binding("s", "cycle_sort", "Sort", tooltip="sort by the next column"),
        Binding("S", "reverse_sort", "Reverse", tooltip="reverse the sort order"),
        Binding("r", "refresh", "Refresh", tooltip="poll wisp now"),
        Binding(
            "e",
            "app.last_error",
            "Error",
            tooltip="show the last error in full, with wisp's stderr",
        ),
    ]

    app: WreckitApp

    def compose(self) -> ComposeResult:
        self.status = StatusBar(id="status")
        self.gauges = FleetGauges(id="gauges")
        self.filter = Input(placeholder="filter: part of a sprite name", id="filter", compact=True)
        self.table = SpriteTable(id="sprites")
        self.empty_hint = Static(id="empty-hint")
        self.detail = SpriteDetail(id="detail")
        yield self.status
        yield self.gauges
        yield self.filter
        with Horizontal(id="main"):
            with Vertical(id="table-pane") as self.table_pane:
                yield self.table
                yield self.empty_hint
            yield self.detail
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()
        self.set_interval(1.0, self.show_status)

    @property
    def filter_text(self) -> str:
        return self.filter.value.strip()

    # -- showing state ---------------------------------------------------------------------

    def show_state(self, state: FleetState) -> None:
        """Bring every widget up to date with ``state``; only changed table cells are redrawn."""
        query = self.filter_text
        app = self.app
        rows = with_pending(state.rows, state.by_name, app.starting, app.stopping)
        if query:
            rows = [row for row in rows if matches(row.key, query)]
        if self.table.marks:
            self.table.marks &= state.by_name.keys() | app.starting.keys()
        with app.batch_update():
            self.table.show(rows, state.view.delta if rows is state.rows else None)
            self._show_empty_hint(state, shown=len(rows))
            self.gauges.show(state.view.gauges)
            self.show_status()
            self.show_detail()
        self.set_class(state.error is not None, "-stale")

    def _show_empty_hint(self, state: FleetState, shown: int) -> None:
        empty = shown == 0 and state.last_ok is not None
        self.table_pane.set_class(empty, "-empty")
        if empty:
            self.empty_hint.update(
                "No sprite matches the filter. Press / then esc to clear it."
                if state.fleet.sprites
                else "No sprites yet. Press n to launch one."
            )

    def show_status(self) -> None:
        state = self.app.state
        since = None if state.last_ok is None else self.app.clock() - state.last_ok
        self.status.show(
            Status(
                backend=self.app.backend_description(),
                sprites=len(state.fleet.sprites),
                running=state.view.running,
                seconds_since_refresh=since,
                error=state.error,
                filter=self.filter_text,
                warnings=state.fleet.warning_count,
            )
        )

    def show_detail(self) -> None:
        """The selected sprite in the detail pane; a sprite still starting shows as it is."""
        state, name = self.app.state, self.table.selected_key
        sprite = (state.by_name.get(name) or self.app.starting.get(name)) if name else None
        cpu, memory = state.history.series(name) if sprite else ([], [])
        self.detail.show(sprite, cpu, memory)

    def select(self, name: str) -> None:
        """Put the cursor on ``name``, clearing a filter that hides it."""
        if name not in self.table.shown_keys:
            self.filter.value = ""
            self.show_state(self.app.state)
        if name in self.table.shown_keys:
            self.table.move_cursor(row=self.table.get_row_index(name))
        self.table.focus()

    # -- events ----------------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        self.app.poller.resume()

    def on_screen_suspend(self) -> None:
        self.app.poller.pause()

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.app.action_attach()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a column's header sorts by it; a second click reverses the order."""
        event.stop()
        column = event.column_index - 1  # the first column holds the marks
        if column < 0:
            return
        reverse = column == self.table.sort_column and not self.table.sort_reverse
        self._sort(column, reverse=reverse)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.show_state(self.app.state)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def on_descendant_blur(self) -> None:
        self.filter.display = bool(self.filter_text) or self.focused is self.filter

    # -- actions ---------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.filter.display = True
        self.filter.focus()

    def action_clear_filter(self) -> None:
        self.filter.value = ""
        self.filter.display = False
        self.table.focus()

    def action_cycle_sort(self) -> None:
        self._sort((self.table.sort_column + 1) % len(COLUMNS), reverse=False)

    def action_reverse_sort(self) -> None:
        self._sort(self.table.sort_column, reverse=not self.table.sort_reverse)

    def _sort(self, column: int, *, reverse: bool) -> None:
        self.table.sort_by(column, reverse)

    def action_refresh(self) -> None:
        self.app.poller.now()

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
