"""Signals during an attach: each one leaves a note and wakes the copy loop, nothing more.

:func:`signal_handlers` installs the handlers for the length of an attach and puts the old ones
back; :class:`Wakeup` is the pipe and the notes the copy loop reads them from.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals that end the attach, and then the caller too."""
SIGNALS = (signal.SIGINT, signal.SIGWINCH, signal.SIGCONT, *STOP_SIGNALS)
WAKEUP_READS = 16
"""Reads of the wakeup pipe per wakeup at most, so that a flood cannot hold up the copy loop."""


class Wakeup:
    """Where signals leave a note for the copy loop, without any Python code running for them.

    The handler is a dict's own ``__setitem__``: a C function, so that no Python frame runs
    for a signal and a flood can neither nest handlers (a RecursionError) nor grow a queue: each
    signal is one key, however often it comes. Python's C-level handler also writes the
    signal's number to a pipe (``signal.set_wakeup_fd``), which wakes the poll loop.
    """

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)
        self.arrived: dict[int, object] = {}
        self.handler = self.arrived.__setitem__

    def take(self) -> set[int]:
        """The signals that arrived since the last call, each once.

        The pipe is read before the notes: a signal that comes in between leaves its byte in
        the pipe, so the loop wakes again for it.
        """
        taken: set[int] = set()
        for _ in range(WAKEUP_READS):
            try:
                chunk = os.read(self.read_fd, 4096)
            except OSError:
                break
            taken.update(chunk)
        for signum in list(self.arrived):
            self.arrived.pop(signum, None)
            taken.add(signum)
        return taken

    def close(self) -> None:
        os.close(self.read_fd)
        os.close(self.write_fd)


@contextlib.contextmanager
def signal_handlers(wakeup: Wakeup) -> Iterator[bool]:
    """SIGINT, SIGWINCH, SIGCONT, SIGTERM and SIGHUP note themselves in ``wakeup`` (SIGINT is
    then ignored). Yields whether the handlers are in place (only the main thread can install
    them); restores the old handlers and wakeup fd, the latter first, so that no signal can
    write to the pipe once it is closed."""
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    previous: dict[int, object] = {}
    old_wakeup = signal.set_wakeup_fd(wakeup.write_fd, warn_on_full_buffer=False)
    try:
        for signum in SIGNALS:
            old = signal.getsignal(signum)
            if old is not None:  # a handler set outside Python could not be put back
                previous[signum] = signal.signal(signum, wakeup.handler)
        yield True
    finally:
        signal.set_wakeup_fd(old_wakeup)
        for signum, old in previous.items():
            signal.signal(signum, old)  # type: ignore[arg-type]
