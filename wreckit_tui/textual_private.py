"""Every use of Textual's private API, in this one module; the rest of the package uses its
public API only (``tests/test_textual_private.py`` checks both, and names what a Textual
release removed or changed).

What is used, and why:

- ``textual._xterm_parser.XTermParser`` and ``textual._parser.ParseError``: the driver
  (:mod:`wreckit_tui.driver`) runs its own input thread, which parses the terminal's bytes into
  key and mouse events exactly as Textual's does.
- ``Driver._file`` and ``Driver._debug``: the terminal the driver writes to (the driver wraps
  it so that a hangup loses output, not the app) and the debug flag its parser takes.
- ``App._driver``: the running driver, whose public ``write`` puts a desktop notification
  (an OSC sequence) on the terminal, as Textual's own ``App.bell`` puts BEL there.
- ``DOMNode._bindings`` (a ``BindingsMap``, whose ``key_to_bindings`` is public): a node's own
  bindings by key, which the dashboard relabels at start and lists on its help screen, and
  which ``FormInput`` runs as it reads each key.
- ``DataTable._render_cell(row_index, column_index, base_style, width, cursor, hover)``:
  overridden by :class:`CellRenderingTable`, so that the sprite table can cache cell
  renderings by value rather than by DataTable's table-wide change counter.
- ``DataTable._show_hover_cursor`` and ``DataTable._pseudo_class_state``: besides the cell,
  what a cell's rendering depends on (DataTable's own cell cache keys on them too).
- ``DataTable._update_count`` and ``DataTable._require_update_dimensions``: bumped and set when
  columns are widened directly, as DataTable itself does when a column's width changes.
"""

from __future__ import annotations

from typing import TextIO

from rich.segment import Segment
from rich.style import Style
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.driver import Driver
from textual.widgets import DataTable

__all__ = [
    "RENDER_CELL_PARAMETERS",
    "CellRenderingTable",
    "ParseError",
    "XTermParser",
    "bindings_by_key",
    "driver_debug",
    "driver_output",
    "replace_binding",
    "set_driver_output",
]

RENDER_CELL_PARAMETERS = (
    "self",
    "row_index",
    "column_index",
    "base_style",
    "width",
    "cursor",
    "hover",
)
"""The parameters of ``DataTable._render_cell`` that :class:`CellRenderingTable` overrides."""


def bindings_by_key(node: DOMNode) -> dict[str, list[Binding]]:
    """``node``'s own bindings by key (``"a"``, ``"ctrl+u"``...): the live mapping."""
    return node._bindings.key_to_bindings


def replace_binding(node: DOMNode, key: str, binding: Binding) -> None:
    """Make ``binding`` the only binding of ``key`` on ``node`` (this instance only)."""
    node._bindings.key_to_bindings[key] = [binding]


def write_to_terminal(app: App, text: str) -> None:
    """Write ``text`` to the app's terminal as it is (nothing where there is none)."""
    driver = app._driver
    if not app.is_headless and driver is not None:
        driver.write(text)


def driver_output(driver: Driver) -> TextIO:
    """The file ``driver`` writes the screen to."""
    return driver._file  # type: ignore[attr-defined]


def set_driver_output(driver: Driver, file: TextIO) -> None:
    """Make ``driver`` write the screen to ``file`` (before the application mode starts)."""
    driver._file = file  # type: ignore[attr-defined]


def driver_debug(driver: Driver) -> bool:
    """Whether ``driver`` runs in debug mode (its parser then logs keys)."""
    return driver._debug


class CellRenderingTable(DataTable):
    """A DataTable whose cell rendering a subclass overrides under public names:
    :meth:`render_table_cell` (calls :meth:`default_render_cell` unless overridden)."""

    def _render_cell(  # noqa: PLR0917 - DataTable's signature
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        return self.render_table_cell(row_index, column_index, base_style, width, cursor, hover)

    def render_table_cell(  # noqa: PLR0917 - DataTable's signature
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """The lines of one cell (row -1: the header, column -1: the row label)."""
        return self.default_render_cell(row_index, column_index, base_style, width, cursor, hover)

    def default_render_cell(  # noqa: PLR0917 - DataTable's signature
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """DataTable's own rendering of one cell (with its own cache)."""
        return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)

    @property
    def cell_render_state(self) -> tuple[object, ...]:
        """Besides the cell and the arguments, what its rendering depends on: whether the hover
        cursor shows and the table's pseudo-classes (focus, hover...)."""
        return (self._show_hover_cursor, self._pseudo_class_state)

    def columns_resized(self) -> None:
        """After column widths were set directly: cached rows, cells and the virtual width are
        stale."""
        self._update_count += 1
        self._require_update_dimensions = True
