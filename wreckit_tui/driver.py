"""The terminal driver: Textual's Linux driver, letting go of the terminal at once on suspend.

Textual's own input thread notices that it must stop only when its ``select()`` times out (every
0.1 s), and then waits once more for 0.1 s before it ends; ``App.suspend()`` waits for it, so
handing the terminal to an attached sprite would cost 100-200 ms. Here the input thread also
waits on a pipe, and stopping input writes a byte to it: the thread ends within a millisecond.
Everything else, how keys and mouse events are parsed and delivered, is Textual's.
"""

from __future__ import annotations

import contextlib
import os
import selectors
from codecs import getincrementaldecoder
from collections.abc import Iterable
from typing import Any

from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

TICK_SECONDS = 0.1
"""How often the parser gets a tick without input (a lone Escape becomes a key after one)."""
READ_SIZE = 4096


class QuickSuspendDriver(LinuxDriver):
    """:class:`LinuxDriver` whose input thread stops as soon as input is disabled."""

    _wake: tuple[int, int] | None = None
    """The pipe that wakes the input thread: (read end, write end), while the thread runs."""

    def start_application_mode(self) -> None:
        self._wake = os.pipe()
        super().start_application_mode()

    def disable_input(self) -> None:
        """Stop the input thread, waking it instead of waiting for its timeout."""
        wake, self._wake = self._wake, None
        if wake is not None:
            os.write(wake[1], b"\0")
        super().disable_input()  # sets exit_event, then joins the thread
        if wake is not None:
            for fd in wake:
                os.close(fd)

    def run_input_thread(self) -> None:
        """Read the terminal and post its keys and mouse events until input is disabled."""
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")(errors="replace").decode
        wake_read = self._wake[0] if self._wake else None
        with selectors.DefaultSelector() as selector:
            selector.register(self.fileno, selectors.EVENT_READ)
            if wake_read is not None:
                selector.register(wake_read, selectors.EVENT_READ)
            while not self.exit_event.is_set():
                ready = {key.fd for key, _ in selector.select(TICK_SECONDS)}
                if wake_read in ready:
                    # disable_input() sets the event right after waking us: wait for it.
                    self.exit_event.wait(TICK_SECONDS)
                    continue
                if self.fileno in ready:
                    self._read(selector, parser, decode)
                self._post(parser.tick())
        with contextlib.suppress(EOFError, ParseError):
            for _ in parser.feed(""):  # end the parser; input is off, so nothing is posted
                pass

    def _read(self, selector: selectors.BaseSelector, parser: XTermParser, decode: Any) -> None:
        data = os.read(self.fileno, READ_SIZE)
        if data:
            self._post(parser.feed(decode(data)))
        else:  # standard input closed: nothing more will come
            selector.unregister(self.fileno)

    def _post(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self.process_message(message)
