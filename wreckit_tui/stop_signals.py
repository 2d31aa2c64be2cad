"""SIGINT, SIGTERM and SIGHUP during a start: they stop the start instead of ending the process.

A start the caller gave up on is either undone or reported as done, never left running after a
death by the signal. So the signals are caught with handlers of this module's own (the event
loop's would put back the default action when the loop closes, while the report is not yet
out), and once the start is done they are held: only noted, then ignored (:func:`hold`) until
the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


@dataclass
class Stop:
    """Set by the first signal caught; ``caught`` lists them all."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    caught: list[int] = field(default_factory=list)


@contextlib.contextmanager
def stopping_signals(*, keep: bool) -> Iterator[Stop]:
    """While the block runs, the signals set the :class:`Stop` it gets. After a block that
    raised, they do what they did before; after one that finished they are only noted when
    ``keep`` (call :func:`hold` once the outcome is reported), else as before too."""
    loop = asyncio.get_running_loop()
    stop = Stop()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.caught.append(signum)
        with contextlib.suppress(RuntimeError):  # the loop is closed: the start is over
            loop.call_soon_threadsafe(stop.event.set)

    previous: dict[int, Handler] = {signum: signal.signal(signum, on_signal) for signum in HANDLED}
    try:
        with _woken_by_signals(loop):
            yield stop
    except BaseException:
        _restore(previous)
        raise
    if not keep:
        _restore(previous)


def hold() -> None:
    """From here to the process's exit the signals are ignored: its outcome is reported."""
    for signum in HANDLED:
        signal.signal(signum, signal.SIG_IGN)


@contextlib.contextmanager
def _woken_by_signals(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Wake the loop whichever thread a signal lands on: the handlers run on the main thread,
    which may be waiting in the selector."""
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    loop.add_reader(reader.fileno(), _drain, reader)
    before = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    try:
        yield
    finally:
        signal.set_wakeup_fd(before)
        loop.remove_reader(reader.fileno())
        reader.close()
        writer.close()


def _drain(reader: socket.socket) -> None:
    with contextlib.suppress(OSError):
        reader.recv(4096)


def _restore(previous: dict[int, Handler]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, signal.SIG_DFL if handler is None else handler)
