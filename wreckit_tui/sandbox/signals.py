"""How stop signals end the provider: they unwind its work like Ctrl-C, never half way.

SIGTERM (what a caller sends on a timeout), SIGHUP and SIGINT raise :class:`Stopped` where they
may land, so that cleanup code runs; while a start or a kill changes things they are held back
(:func:`held`) and let through only where a failure is cleaned up. Once a start is done it is
committed (:func:`commit`): a signal that came before undoes it, one that comes after is ignored,
so a start is either reported done or leaves nothing behind. A signal the caller ignores
(``nohup``) stays ignored, for the programs run too.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Stopped(BaseException):
    """A stop signal arrived: it unwinds the stack like Ctrl-C, so cleanup code runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def install() -> None:
    """Make the stop signals raise :class:`Stopped`, except those the caller ignores."""
    for signum in STOP_SIGNALS:  # Python's own SIGINT handler counts as the default
        if signal.getsignal(signum) in {signal.SIG_DFL, signal.default_int_handler}:
            signal.signal(signum, _stop)


def _stop(signum: int, _frame: object) -> None:
    """Raise :class:`Stopped` for the first stop signal; later ones leave its cleanup alone."""
    for other in STOP_SIGNALS:
        if signal.getsignal(other) is _stop:
            signal.signal(other, _ignore)
    raise Stopped(signum)


def _ignore(_signum: int, _frame: object) -> None:
    """A handler that does nothing: ``SIG_IGN`` set while a signal is on its way would make
    Python raise for it, and unlike ``SIG_IGN`` this is not inherited by programs run."""


def block_for_good() -> None:
    """Hold the stop signals back until the process ends: once it knows its outcome, no late
    signal may change its exit status (the interpreter, shutting down, gives them their
    default action back)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


@contextlib.contextmanager
def held() -> Iterator[Callable[[], contextlib.AbstractContextManager[None]]]:
    """Hold back SIGINT, SIGTERM and SIGHUP, so that they stop nothing half done.

    Yields ``let_through``, a context manager under which they arrive (and raise) at once: only
    where a failure is cleaned up. Held back signals arrive when the block ends.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

    @contextlib.contextmanager
    def let_through() -> Iterator[None]:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

    try:
        yield let_through
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def commit(let_through: Callable[[], contextlib.AbstractContextManager[None]]) -> None:
    """The work is done: a stop signal held back meanwhile arrives now (and raises, so the work
    is undone); from here on stop signals are held back for good, so the work is reported
    done."""
    with let_through():
        pass
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is _stop:
            signal.signal(signum, signal.SIG_IGN)  # they are blocked here: none is on its way


def forward_to(pgid: int) -> None:
    """From now on, pass every signal a terminal or a caller sends on to process group ``pgid``
    (one the caller ignores stays ignored)."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            signal.killpg(pgid, signum)

    for signum in FORWARDED:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, forward)


FORWARDED = (*STOP_SIGNALS, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH)
"""What ``exec`` passes on to its command."""


def ignore_forwarded() -> None:
    """In a process that only waits for a command: the signals passed on are the command's."""
    for signum in FORWARDED:
        signal.signal(signum, signal.SIG_IGN)
