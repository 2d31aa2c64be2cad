"""Textual's private API, as :mod:`wreckit_tui.textual_private` uses it: still there and still
shaped as expected (each failure names what changed), and used nowhere else in the package."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from textual import events
from textual.binding import Binding, BindingsMap
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.widget import Widget

from wreckit_tui import textual_private

PACKAGE = Path(textual_private.__file__).parent
PRIVATE_MODULES = {"textual._parser": "ParseError", "textual._xterm_parser": "XTermParser"}
PRIVATE_ATTRIBUTES = {
    "_bindings",
    "_debug",
    "_driver",
}
"""Private attributes of Textual objects that only ``textual_private`` may name. (``_file`` is
Textual's too, but also a common name of one's own: the driver test covers it.)"""


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
        "class T:\n    def _debug(self): ...\n"
    )
    assert len(private_uses(sample)) == 5
