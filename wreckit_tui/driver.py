"""The terminal driver: Textual's Linux driver, letting go of the terminal at once on suspend.

Textual's own input thread notices that it must stop only when its ``select()`` times out (every
0.1 s), and then waits once more for 0.1 s before it ends; ``App.suspend()`` waits for it, so
handing the terminal to an attached sprite would cost about 200 ms. Here each input thread also
waits on a pipe of its own, and stopping input rings every one of them: a thread ends within a
millisecond. That holds for a thread Textual no longer tracks too (a hangup sends SIGCONT after
SIGHUP, and Textual starts a second input thread on SIGCONT), and one started after the app
stopped its input ends with the main thread: none is left to keep the process alive. Output to
a terminal that hung up is dropped (:class:`HungUpProofFile`) so that quitting cannot block.
Everything else, how keys and mouse events are parsed and delivered, is Textual's.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import threading
from codecs import getincrementaldecoder
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from wreckit_tui.textual_private import (
    ParseError,
    XTermParser,
    driver_debug,
    driver_output,
    set_driver_output,
)

TICK_SECONDS = 0.1
"""How often the parser gets a tick without input (a lone Escape becomes a key after one)."""
READ_SIZE = 4096
HANGUP_ERRORS = {errno.EIO, errno.ENXIO}
"""What reading or writing a terminal that hung up fails with."""


class Wakeup:
    """A pipe that tells one input thread to stop: ``ring`` from any thread, any number of times."""

    def __init__(self) -> None:
        self.read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)  # a full pipe already says what a byte would
        self.rang = False
        self._lock = threading.Lock()
        self._closed = False

    def ring(self) -> None:
        with self._lock:
            self.rang = True
            if not self._closed:
                with contextlib.suppress(BlockingIOError):
                    os.write(self._write_fd, b"\0")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self.read_fd)
                os.close(self._write_fd)


class HungUpProofFile:
    """The terminal as Textual's writer thread sees it, where a hangup loses output, not the app.

    Writing to a terminal that hung up fails (EIO). Textual's writer thread would die of it; its
    queue then fills up and the app's shutdown blocks for ever putting its stop mark into it.
    """

    def __init__(self, file: TextIO) -> None:
        self._file = file

    def write(self, text: str) -> int:
        try:
            return self._file.write(text)
        except OSError as exc:
            if exc.errno not in HANGUP_ERRORS:
                raise
            return len(text)

    def flush(self) -> None:
        try:
            self._file.flush()
        except OSError as exc:
            if exc.errno not in HANGUP_ERRORS:
                raise

    def fileno(self) -> int:
        return self._file.fileno()


class QuickSuspendDriver(LinuxDriver):
    """:class:`LinuxDriver` whose input threads stop as soon as input is disabled, and which
    outlives a terminal that hangs up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_driver_output(self, HungUpProofFile(driver_output(self)))
        self._wakeups: set[Wakeup] = set()
        self._wakeups_lock = threading.Lock()

    def disable_input(self) -> None:
        """Stop every input thread, ringing them instead of waiting for their timeouts."""
        with self._wakeups_lock:
            for wakeup in self._wakeups:
                wakeup.ring()
        super().disable_input()  # sets exit_event, joins the current thread

    def run_input_thread(self) -> None:
        """Read the terminal and post its keys and mouse events until input is disabled."""
        wakeup = Wakeup()
        with self._wakeups_lock:
            self._wakeups.add(wakeup)
        try:
            self._read_until(wakeup)
        finally:
            with self._wakeups_lock:
                self._wakeups.discard(wakeup)
            wakeup.close()

    def _read_until(self, wakeup: Wakeup) -> None:
        parser = XTermParser(driver_debug(self))
        decode = getincrementaldecoder("utf-8")(errors="replace").decode
        with selectors.SelectSelector() as selector:  # epoll refuses /dev/null and plain files
            selector.register(self.fileno, selectors.EVENT_READ)
            selector.register(wakeup.read_fd, selectors.EVENT_READ)
            while self._wanted(wakeup):
                ready = {key.fd for key, _ in selector.select(TICK_SECONDS)}
                if self.fileno in ready and not wakeup.rang:
                    self._read(selector, parser, decode)
                self._post(parser.tick())
        with contextlib.suppress(EOFError, ParseError):
            for _ in parser.feed(""):  # end the parser; input is off, so nothing is posted
                pass

    def _wanted(self, wakeup: Wakeup) -> bool:
        """Whether this input thread should go on: not rung, input on, the program running.

        A SIGCONT that comes after the app stopped its input (a hangup sends one) makes Textual
        start a thread nothing will stop: it ends with the main thread.
        """
        stopped = wakeup.rang or self.exit_event.is_set()
        return not stopped and threading.main_thread().is_alive()

    def _read(
        self, selector: selectors.BaseSelector, parser: XTermParser, decode: Callable[..., str]
    ) -> None:
        try:
            data = os.read(self.fileno, READ_SIZE)
        except OSError as exc:
            if exc.errno not in HANGUP_ERRORS:
                raise
            data = b""
        if data:
            self._post(parser.feed(decode(data)))
        else:  # the terminal is gone, or input was not a terminal: nothing more will come
            selector.unregister(self.fileno)

    def _post(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self.process_message(message)
