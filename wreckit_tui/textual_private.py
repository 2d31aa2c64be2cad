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
"""

from __future__ import annotations

from typing import TextIO

from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.driver import Driver

__all__ = [
    "ParseError",
    "XTermParser",
    "bindings_by_key",
    "driver_debug",
    "driver_output",
    "replace_binding",
    "set_driver_output",
]


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
