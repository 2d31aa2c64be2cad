"""Textual's private API, as :mod:`wreckit_tui.textual_private` uses it: still there and still
shaped as expected (each failure names what changed), and used nowhere else in the package."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from textual import events
from textual.app import App
from textual.binding import Binding, BindingsMap
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.widget import Widget
from textual.widgets import DataTable

from wreckit_tui import textual_private
from wreckit_tui.textual_private import RENDER_CELL_PARAMETERS, CellRenderingTable

PACKAGE = Path(textual_private.__file__).parent
PRIVATE_MODULES = {"textual._parser": "ParseError", "textual._xterm_parser": "XTermParser"}
PRIVATE_ATTRIBUTES = {
    "_bindings",
    "_render_cell",
    "_show_hover_cursor",
    "_pseudo_class_state",
    "_update_count",
    "_require_update_dimensions",
    "_debug",
    "_driver",
}
"""Private attributes of Textual objects that only ``textual_private`` may name. (``_file`` is
Textual's too, but also a common name of one's own: the driver test covers it.)"""
DATA_TABLE_ATTRIBUTES = (
    "_show_hover_cursor",
    "_pseudo_class_state",
    "_update_count",
    "_require_update_dimensions",
)


def changed(thing: str, how: str) -> str:
    return f"Textual changed its private {thing}: {how}; update wreckit_tui/textual_private.py"


@pytest.mark.parametrize(("module", "name"), PRIVATE_MODULES.items())
def test_the_private_modules_still_offer_what_is_used(module: str, name: str) -> None:
    try:
        imported = importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(changed(module, f"the module is gone ({exc})"))
    assert hasattr(imported, name), changed(f"{module}.{name}", "it is gone")


def test_parse_error_is_an_exception() -> None:
    assert issubclass(textual_private.ParseError, Exception), changed(
        "textual._parser.ParseError", "it is no longer an Exception"
    )


def test_the_xterm_parser_still_turns_bytes_into_key_events() -> None:
    parameters = list(inspect.signature(textual_private.XTermParser).parameters)
    assert parameters == ["debug"], changed(
        "textual._xterm_parser.XTermParser", f"it takes {parameters}, not (debug)"
    )
    parser = textual_private.XTermParser(False)
    keys = [message for message in parser.feed("a\x1b[A") if isinstance(message, events.Key)]
    keys += [message for message in parser.tick() if isinstance(message, events.Key)]
    assert [key.key for key in keys] == ["a", "up"], changed(
        "textual._xterm_parser.XTermParser", f"'a' then ESC [ A parse as {keys}"
    )


def test_a_driver_still_keeps_its_output_file_and_debug_flag() -> None:
    source = inspect.getsource(LinuxDriver.__init__)
    assert "self._file" in source, changed("LinuxDriver._file", "__init__ no longer sets it")
    assert "self._debug" in inspect.getsource(Driver.__init__), changed(
        "Driver._debug", "__init__ no longer sets it"
    )
    uses = inspect.getsource(LinuxDriver.start_application_mode)
    assert "self._file" in uses, changed(
        "LinuxDriver._file", "the application mode no longer writes to it"
    )


def test_an_app_still_keeps_its_driver_and_bells_through_it() -> None:
    from textual.app import App

    assert "self._driver" in inspect.getsource(App.__init__), changed(
        "App._driver", "__init__ no longer sets it"
    )
    assert "self._driver.write(" in inspect.getsource(App.bell), changed(
        "App._driver", "App.bell no longer writes through it"
    )


def test_a_node_still_keeps_its_bindings_by_key() -> None:
    class Keyed(Widget):
        BINDINGS = [Binding("a", "one", "One"), Binding("b", "two", "Two")]

    node = Keyed()
    assert isinstance(getattr(node, "_bindings", None), BindingsMap), changed(
        "DOMNode._bindings", "it is not a BindingsMap"
    )
    by_key = textual_private.bindings_by_key(node)
    assert isinstance(by_key, dict), changed("BindingsMap.key_to_bindings", "it is not a dict")
    assert all(isinstance(value, list) for value in by_key.values()), changed(
        "BindingsMap.key_to_bindings", "its values are not lists"
    )
    assert [binding.action for binding in by_key["a"]] == ["one"], changed(
        "BindingsMap.key_to_bindings", f"it maps 'a' to {by_key.get('a')}"
    )
    textual_private.replace_binding(node, "a", Binding("a", "three", "Three"))
    assert [binding.action for binding in textual_private.bindings_by_key(node)["a"]] == ["three"]
    assert [binding.action for binding in textual_private.bindings_by_key(Keyed())["a"]] == [
        "one"
    ], changed("DOMNode._bindings", "instances share it: replacing a binding changes the class")


def test_the_overridden_cell_rendering_still_has_the_signature_expected() -> None:
    method = getattr(DataTable, "_render_cell", None)
    assert method is not None, changed("DataTable._render_cell", "it is gone")
    parameters = tuple(inspect.signature(method).parameters)
    assert parameters == RENDER_CELL_PARAMETERS, changed(
        "DataTable._render_cell", f"it takes {parameters}, not {RENDER_CELL_PARAMETERS}"
    )
    ours = tuple(inspect.signature(CellRenderingTable._render_cell).parameters)
    assert ours == RENDER_CELL_PARAMETERS
    uses = inspect.getsource(DataTable._render_line_in_row)
    assert "self._render_cell" in uses, changed(
        "DataTable._render_cell", "rows are no longer drawn through it"
    )


def test_the_data_table_still_has_the_state_a_cell_rendering_depends_on() -> None:
    source = inspect.getsource(DataTable)
    for name in DATA_TABLE_ATTRIBUTES:
        assert f"self.{name}" in source, changed(f"DataTable.{name}", "DataTable no longer has it")
    render_cell = inspect.getsource(DataTable._render_cell)
    for name in ("_show_hover_cursor", "_pseudo_class_state", "_update_count"):
        assert name in render_cell, changed(
            f"DataTable.{name}", "DataTable's cell cache no longer keys on it"
        )


async def test_a_cell_rendering_table_renders_through_its_public_hook() -> None:
    rendered: list[tuple[int, int]] = []

    class Table(CellRenderingTable):
        def render_table_cell(  # noqa: PLR0917
            self, row_index, column_index, base_style, width, cursor=False, hover=False
        ):
            rendered.append((row_index, column_index))
            return super().render_table_cell(
                row_index, column_index, base_style, width, cursor, hover
            )

    class TableApp(App[None]):
        def compose(self):
            table = Table()
            table.add_column("x")
            table.add_row("1")
            yield table

    async with TableApp().run_test() as pilot:
        await pilot.pause()
        table = pilot.app.query_one(Table)
        assert (0, 0) in rendered, changed("DataTable._render_cell", "no cell is drawn with it")
        hover, pseudo_classes = table.cell_render_state
        assert isinstance(hover, bool)
        assert pseudo_classes == table.get_pseudo_class_state()
        before = table._update_count
        table.columns_resized()
        assert table._update_count == before + 1
        assert table._require_update_dimensions is True


def private_uses(path: Path) -> list[str]:
    """Where ``path`` imports a ``textual._`` module or names a private Textual attribute."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
            modules += [f"{node.module}.{alias.name}" for alias in node.names]
        private = [module for module in modules if module.startswith("textual._")]
        if private:
            found.append(f"{path.name}:{node.lineno} imports {private[0]}")
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTES:
            found.append(f"{path.name}:{node.lineno} uses .{node.attr}")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in (
            PRIVATE_ATTRIBUTES
        ):
            found.append(f"{path.name}:{node.lineno} overrides {node.name}")
    return found


def test_no_other_module_uses_textual_private_api() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 20
    others = [path for path in sources if path.name != "textual_private.py"]
    found = [use for path in others for use in private_uses(path)]
    assert not found, "Textual's private API outside textual_private.py:\n" + "\n".join(found)


def test_the_check_finds_private_uses(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from textual._xterm_parser import XTermParser\n"
        "import textual._parser\n"
        "from textual import _compositor\n"
        "node._bindings.key_to_bindings\n"
        "class T:\n    def _render_cell(self): ...\n"
    )
    assert len(private_uses(sample)) == 5
