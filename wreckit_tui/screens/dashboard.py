"""The main screen: header, gauges, filter, the sprite table and the detail pane.

It shows the snapshot the app sets, owns filter, marks, sort and selection, and posts requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from wreckit_tui.fields import COLUMNS, Column
from wreckit_tui.models import Sprite
from wreckit_tui.preview import Preview
from wreckit_tui.screens.help import HelpScreen
from wreckit_tui.screens.keys import dashboard_key as _key
from wreckit_tui.screens.keys import key_label
from wreckit_tui.screens.palette import SpriteCommands
from wreckit_tui.screens.requests import (
    KillRequested,
    LastErrorRequested,
    LaunchRequested,
    OpenRequested,
    PreviewRequested,
    RefreshRequested,
    Request,
    SendRequested,
)
from wreckit_tui.textual_private import bindings_by_key, replace_binding
from wreckit_tui.view import Row, RowFilter, Snapshot
from wreckit_tui.widgets.detail import SpriteDetail
from wreckit_tui.widgets.form_input import FormInput
from wreckit_tui.widgets.gauges import FleetGauges
from wreckit_tui.widgets.preview import preview_content
from wreckit_tui.widgets.sprite_table import SpriteTable
from wreckit_tui.widgets.status import Status, StatusBar

DETAIL_MIN_WIDTH = 100
"""Narrower terminals give the table all the width, unless v asks for the detail pane."""


class DashboardScreen(Screen[None]):
    """The fleet at a glance.

    It owns what is on it (filter, marks, sort, selection), shows the :class:`Snapshot` the
    app sets as :attr:`snapshot`, and posts requests (:mod:`.requests`) for the app to act on.
    Its keys are priority bindings: each runs as the app reads it, so a key typed right after
    one that opens a dialog reaches that dialog, not the table. While the filter has the focus,
    only esc (clear it) is the dashboard's; every other key types into the filter.
    """

    COMMANDS = {SpriteCommands}
    BINDINGS = [
        _key("n", "launch", "Launch", "launch a new sprite (max_vms applies)"),
        _key("d", "kill", "Kill", "kill the marked sprites, or the selected one"),
        _key("a", "open", "Attach", "attach to the selected sprite (also enter)"),
        _key("slash", "filter", "Filter", "filter by name; enter keeps it, esc clears"),
        _key("s", "cycle_sort", "Sort", "sort by the next column (figures: highest first)"),
        _key("question_mark", "help", "Help", "show this list of keys"),
        _key("q", "app('quit')", "Quit", "quit the dashboard"),
        # after q, and in the footer only from DETAIL_MIN_WIDTH columns: see _footer_keys
        _key("i", "send", "Send", "type a line and Enter into the selected or marked sprites"),
        _key("p", "toggle_preview", "Preview", "show the selected sprite's screen, or its fields"),
        _key("space", "toggle_mark", "Mark", "mark or unmark the selected sprite", show=False),
        _key("S", "reverse_sort", "Reverse", "reverse the sort order", show=False),
        _key("r", "refresh", "Refresh", "poll the backend now", show=False),
        _key("e", "last_error", "Error", "show the last error in full", show=False),
        _key("tab", "next_attention", "Next", "the next sprite that needs you", show=False),
        _key("v", "toggle_detail", "Details", "show or hide the detail pane", show=False),
        _key("b", "toggle_backends", "Backends", "several backends: gauges of each", show=False),
        _key("enter", "open", "Attach", "attach to the selected sprite", show=False),
        _key("escape", "clear_filter", "Clear filter", "clear the filter", show=False),
        _key("up,k", "cursor('cursor_up')", "Up", "move the cursor up", show=False),
        _key("down,j", "cursor('cursor_down')", "Down", "move the cursor down", show=False),
        _key("pageup", "cursor('page_up')", "Page up", "one page up", show=False),
        _key("pagedown", "cursor('page_down')", "Page down", "one page down", show=False),
        _key("home", "cursor('scroll_top')", "First", "first sprite", show=False),
        _key("end", "cursor('scroll_bottom')", "Last", "last sprite", show=False),
    ]
    LISTED_KEYS = (
        *("n", "d", "a", "i", "p", "space", "slash", "s", "S", "r", "e", "tab", "v", "b"),
        *("question_mark", "q"),
    )
    """The bindings the help screen lists, in this order (cursor keys get one line there)."""

    snapshot: reactive[Snapshot] = reactive(Snapshot, always_update=True, init=False, repaint=False)
    """What to show; the app sets a new one at every change. Not a repaint of the whole screen:
    each widget that :meth:`show` changes repaints itself."""
    preview: reactive[Preview | None] = reactive(
        None, always_update=True, init=False, repaint=False
    )
    """The last capture of the previewed sprite's screen; the app sets each new one."""
    preview_mode = False
    """Whether the detail pane shows the selected sprite's screen (p) rather than its fields."""
    _previewing: str | None = None
    """The sprite whose screen the app was last asked to capture."""
    columns: tuple[Column, ...] = COLUMNS
    """The table's columns (the app sets them before mounting, BACKEND with several)."""

    def __init__(self, detach_key: str = "ctrl+]", clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.clock, self._row_filter = clock, RowFilter()
        self.detach_key = key_label(detach_key)
        attach = bindings_by_key(self)["a"][0]
        replace_binding(
            self,
            "a",
            replace(
                attach,
                description=f"Attach ({self.detach_key} back)",
                tooltip=f"attach to the selected sprite (also enter); {self.detach_key} "
                "detaches and brings you back",
            ),
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the filter has the focus, keys type into it; esc still clears it."""
        return self.focused is not self.filter or action == "clear_filter"

    detail_choice: bool | None = None
    """Whether the user asked (with v) for the detail pane; None: it follows the width."""
    hidden = 0
    """How many rows the filter hides."""

    def compose(self) -> ComposeResult:
        self.status = StatusBar(id="status")
        self.gauges = FleetGauges(id="gauges")
        self.filter = FormInput(
            placeholder="filter: part of a sprite name", id="filter", compact=True
        )
        self.table = SpriteTable(self.columns, id="sprites")
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
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.table.focus()
        self.show()  # a snapshot handed down before the screen was mounted
        self.set_interval(1.0, self.show_status)

    @property
    def filter_text(self) -> str:
        return self.filter.value.strip()

    # -- showing state ---------------------------------------------------------------------

    def watch_snapshot(self) -> None:
        if self.is_mounted:  # else on_mount shows it, once the widgets are there
            self.show()

    def show(self) -> None:
        """Bring every widget up to date with the snapshot; only changed cells are redrawn."""
        snapshot = self.snapshot
        rows = self._filtered(snapshot.rows)
        if self.table.marks:
            self.table.marks &= snapshot.by_name.keys() | snapshot.pending.starting.keys()
        with self.app.batch_update():
            self.table.show(rows)
            self._show_empty_hint(snapshot, shown=len(rows))
            self.gauges.show(snapshot.view.gauges, snapshot.view.by_backend, snapshot.stale)
            self.show_status()
            self.show_detail()
        self.set_class(snapshot.error is not None and not snapshot.stale, "-stale")

    def _filtered(self, rows: tuple[Row, ...]) -> tuple[Row, ...]:
        """The rows the filter lets through (incrementally); ``hidden`` counts the others."""
        shown = self._row_filter(rows, self.filter_text)
        self.hidden = len(rows) - len(shown)
        return shown

    def _show_empty_hint(self, snapshot: Snapshot, shown: int) -> None:
        empty = shown == 0 and snapshot.last_ok is not None
        self.table_pane.set_class(empty, "-empty")
        if empty:
            self.empty_hint.update(
                "No sprite matches the filter. Press / then esc to clear it."
                if snapshot.fleet.sprites
                else "No sprites yet. Press n to launch one."
            )

    def show_status(self) -> None:
        snapshot = self.snapshot
        since = None if snapshot.last_ok is None else self.clock() - snapshot.last_ok
        self.status.show(
            Status(
                backend=snapshot.backend,
                sprites=len(snapshot.fleet.sprites),
                running=snapshot.view.running,
                seconds_since_refresh=since,
                error=snapshot.error,
                stale=snapshot.stale,
                filter=self.filter_text,
                warnings=snapshot.fleet.warning_count,
                marked=len(self.table.marks),
                hidden=self.hidden,
                attention=len(snapshot.view.attention),
            )
        )

    def show_detail(self) -> None:
        """The selected sprite in the detail pane (its fields, or its screen in preview mode);
        a sprite still starting shows as it is."""
        name = self.table.selected_key
        sprite = self.snapshot.sprite(name)
        self._ask_preview(name, sprite)
        if self.preview_mode:
            self.detail.show_preview(*preview_content(name, sprite, self.preview))
            return
        cpu, memory = self.snapshot.series(name) if sprite else ((), ())
        self.detail.show(sprite, list(cpu), list(memory), self.snapshot.fleet.usage_reported)

    def watch_preview(self) -> None:
        if self.preview_mode:
            self.show_detail()

    def _ask_preview(self, name: str | None, sprite: Sprite | None) -> None:
        """Ask the app to capture the screen of the sprite previewed, or of none: only while
        the pane shows a preview, and only of a sprite that runs."""
        shown = self.preview_mode and not self.has_class("-no-detail")
        running = sprite is not None and sprite.state == "running"
        wanted = name if shown and running else None
        if wanted != self._previewing:
            self._previewing = wanted
            self.app.post_message(PreviewRequested(wanted))

    def select(self, name: str) -> None:
        """Put the cursor on ``name``, clearing a filter that hides it."""
        if name not in self.table.shown_keys:
            self.filter.value = ""
            self.show()
        if name in self.table.shown_keys:
            self.table.move_cursor(row=self.table.get_row_index(name))
        self.table.focus()

    # -- events ----------------------------------------------------------------------------

    def on_sprite_table_row_highlighted(self, _event: SpriteTable.RowHighlighted) -> None:
        self.show_detail()

    def on_sprite_table_row_selected(self, event: SpriteTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def on_sprite_table_header_selected(self, event: SpriteTable.HeaderSelected) -> None:
        """A click on a column's header sorts by it; a second click reverses the order."""
        event.stop()
        column = event.column
        if column == self.table.sort_column:
            self._sort(column, reverse=not self.table.sort_reverse)
        else:
            self._sort(column, reverse=self.columns[column].highest_first)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.show()

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
        """The next column, highest first where its values are figures."""
        column = (self.table.sort_column + 1) % len(self.columns)
        self._sort(column, reverse=self.columns[column].highest_first)

    def action_reverse_sort(self) -> None:
        self._sort(self.table.sort_column, reverse=not self.table.sort_reverse)

    def _sort(self, column: int, *, reverse: bool) -> None:
        self.table.sort_by(column, reverse)

    def request(self, request: Request) -> None:
        """Ask the app: posted to it at once, so that it holds the keys typed after this one
        until it has acted (a dialog it opens gets them)."""
        self.app.post_message(request)

    def action_launch(self) -> None:
        self.request(LaunchRequested())

    def action_kill(self) -> None:
        """Kill the marked sprites (hidden by a filter or not), else the selected one."""
        selected = self.table.selected_key
        names = sorted(self.table.marks) or ([selected] if selected else [])
        if names:
            self.request(KillRequested(names))

    def action_open(self) -> None:
        name = self.table.selected_key
        if name is not None:
            self.request(OpenRequested(name))

    def action_last_error(self) -> None:
        self.request(LastErrorRequested())

    def action_help(self) -> None:
        bindings = bindings_by_key(self)
        listed = [bindings[key][0] for key in self.LISTED_KEYS]
        self.app.push_screen(HelpScreen(listed, self.detach_key))

    async def action_app(self, name: str) -> None:
        """The app's action ``name`` (``quit``), as a binding of this screen, so that
        ``check_action`` applies to it."""
        await self.app.run_action(name)

    def action_next_attention(self) -> None:
        """Select the next sprite that needs you, longest waiting first, round and round."""
        names = list(self.snapshot.view.attention)
        if not names:
            self.notify("No sprite needs you.", timeout=3)
            return
        current = self.table.selected_key
        after = names.index(current) + 1 if current in names else 0
        self.select(names[after % len(names)])

    def action_cursor(self, move: str) -> None:
        """Move the table's cursor: ``move`` names one of its actions (``cursor_down``,
        ``page_up``, ``scroll_top`` for the first sprite, ``scroll_bottom`` for the last...)."""
        getattr(self.table, f"action_{move}")()

    def action_toggle_detail(self) -> None:
        """Show or hide the detail pane; the choice then holds at any width."""
        self.detail_choice = self.has_class("-no-detail")
        self._place_detail()

    def action_toggle_preview(self) -> None:
        """Switch the detail pane between the sprite's screen and its fields; the pane comes
        into view if it was folded away."""
        self.preview_mode = not self.preview_mode
        self.set_class(self.preview_mode, "-preview")
        self.detail.set_preview(self.preview_mode)
        if self.preview_mode and self.has_class("-no-detail"):
            self.detail_choice = True
            self._place_detail()
        self.show_detail()

    def action_send(self) -> None:
        """Ask for a line to type into the marked sprites (hidden by a filter or not), else
        into the selected one."""
        selected = self.table.selected_key
        marked = sorted(self.table.marks)
        if marked:
            self.request(SendRequested(marked, marked=True))
        elif selected is not None:
            self.request(SendRequested([selected], marked=False))

    def on_resize(self, _event: events.Resize) -> None:
        self._place_detail()

    def _place_detail(self) -> None:
        """The detail pane: beside the table from ``DETAIL_MIN_WIDTH`` columns up, narrower
        below that when asked for with i, else hidden (the table needs the room)."""
        wide = self.size.width >= DETAIL_MIN_WIDTH
        shown = wide if self.detail_choice is None else self.detail_choice
        self.set_class(not shown, "-no-detail")
        self.set_class(not wide, "-narrow")
        self._footer_keys(wide)
        if self.is_mounted:
            name = self.table.selected_key
            self._ask_preview(name, self.snapshot.sprite(name))

    def _footer_keys(self, wide: bool) -> None:
        """The footer names i and p only where there is room: at 80 columns it keeps the main
        keys and the palette (help lists them all)."""
        bindings = bindings_by_key(self)
        for key in ("i", "p"):
            binding = bindings[key][0]
            if binding.show != wide:
                replace_binding(self, key, replace(binding, show=wide))
                self.refresh_bindings()

    def action_toggle_backends(self) -> None:
        """Under the gauges, one line per backend (with several), or none."""
        self.gauges.per_backend = not self.gauges.per_backend
        self.show()

    def action_refresh(self) -> None:
        self.request(RefreshRequested())

    def action_toggle_mark(self) -> None:
        """Mark or unmark the sprite under the cursor and move to the next one."""
        name = self.table.selected_key
        if name is not None:
            self.table.toggle_mark(name)
            self.table.action_cursor_down()
            self.show_status()

    def unmark(self, names: list[str]) -> None:
        for name in self.table.marks.intersection(names):
            self.table.toggle_mark(name)
        self.show_status()
