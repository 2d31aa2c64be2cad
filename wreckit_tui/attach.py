"""Attaching the user's terminal to a sprite: a pty passthrough that always comes back.

:func:`attach` is the one entry point. It puts the user's terminal in raw mode, saves its title,
clears it and shows a banner line, starts ``wisp attach NAME`` on a new pty (through the adapter)
and copies bytes both ways until the child ends or the user presses the detach key. The banner
keeps the terminal's last row for the whole attach (the child's pty is one row shorter and a
scroll region keeps its output above), unless the backend shows the detach key itself (the
built-in provider's tmux status line does). The window size follows the terminal (SIGWINCH);
after a stop and a SIGCONT, raw mode comes back and the child is made to redraw. Ctrl+C and every
other key go to the child. A signal only notes itself and wakes the copy loop, so a flood of
them costs nothing. Whatever happens, the terminal's modes and title are restored exactly, the
screen is cleared, and no process of the attach is left running: on detach the pty master is
closed (the child gets SIGHUP) and the child's process group gets SIGKILL if it is still there
:data:`DETACH_GRACE` seconds later.

This module never imports Textual. Inside a dashboard, stop polling and call :func:`attach` in
the body of ``App.suspend()``, from the main thread. It never raises an ``Exception`` (Textual's
suspend must not see one) and reports through :class:`AttachOutcome` once resumed::

    try:
        with app.suspend():
            outcome = attach(wisp, name, detach_key=config.detach_key)
    except SuspendNotSupported:
        ...  # say that attaching needs a real terminal (wreckit-tui attach NAME)
    else:
        if outcome.stop_signal is not None:
            app.exit(128 + outcome.stop_signal)
        elif outcome.problem:
            ...  # show outcome.tail and outcome.problem as an error, never as markup
    # then resume polling, and poll at once
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wreckit_tui.contract import require_name
from wreckit_tui.errors import ConfigError, WreckitError
from wreckit_tui.text import sanitize

if TYPE_CHECKING:
    import subprocess

    from wreckit_tui.adapter import Wisp
    from wreckit_tui.processes import PtyChild

DEFAULT_DETACH_KEY = "ctrl+]"
DETACH_GRACE = 0.2
"""Seconds between closing the pty and SIGKILL of the attach process group."""
QUICK_EXIT_SECONDS = 5.0
"""A non-zero exit sooner than this after the start is reported as an error, with the tail."""
TAIL_LINES = 5
READ_SIZE = 1 << 16
READS_PER_WAKEUP = 8
"""Reads of the child's output in a row before the keyboard is looked at again."""
REAP_SECONDS = 0.05
RESIZE_POLL_SECONDS = 0.25
"""Off the main thread no signal handler can run: the window size is checked this often."""
EXIT_POLL_SECONDS = 0.02
"""Where pidfds are missing, the child's exit is checked this often."""
_TAIL_BYTES = 16 * 1024

CLEAR_SCREEN = b"\x1b[H\x1b[2J"
SAVE_TITLE = b"\x1b[22;0t"
"""Push the window and icon titles on the terminal's title stack (xterm's), before a sprite can
set its own; :data:`RESTORE_TITLE` pops them back."""
RESTORE_TITLE = b"\x1b[23;0t"
WHOLE_SCREEN_SCROLLS = b"\x1b[r"
SCREEN_RESET = re.compile(rb"\x1b(?:\[[02]?J|\[;?r|\[\?(?:1049|1047|47)[hl]|c)")
"""Output after which the banner line is drawn again: the screen cleared, the scroll region set
back to the whole screen, a switch to or from the alternate screen, a reset."""
RESET_MODES = (
    b"\x1b[?1049l"  # leave the alternate screen
    b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l"  # mouse reporting off
    b"\x1b[?2004l"  # bracketed paste off
    b"\x1b[?1l\x1b>"  # normal cursor keys and keypad
    b"\x1b[?25h\x1b[0m"  # cursor visible, plain attributes
)
"""Terminal modes a program in the sprite may have left on; switched off after every attach."""

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_SIGNALS = (signal.SIGINT, signal.SIGWINCH, signal.SIGCONT, *_STOP_SIGNALS)
NUDGE_SECONDS = 0.05
"""After a SIGCONT the child's window is one row shorter for this long, then right again: two
real resizes, so that the program in the sprite redraws whatever it checks."""


class AttachError(WreckitError):
    """The passthrough could not run or broke down (the terminal or the pty failed).

    Exit code 125, as for ``env``, ``timeout`` or ``docker run``: the tool itself failed; any
    other status is that of ``wisp attach``.
    """

    exit_code = 125


class NotATerminal(AttachError):
    """Attach was asked for while standard input is not a terminal."""

    exit_code = 2


# -- the detach key ------------------------------------------------------------------------------

_NAMED_KEYS = {
    "@": "@",
    "space": "@",
    "at": "@",
    "\\": "\\",
    "backslash": "\\",
    "]": "]",
    "right_square_bracket": "]",
    "^": "^",
    "circumflex_accent": "^",
    "_": "_",
    "underscore": "_",
}
_REFUSED = {
    "[": "it is Escape, which starts every arrow and function key",
    "left_square_bracket": "it is Escape, which starts every arrow and function key",
    "c": "Ctrl+C must reach the sprite",
    "i": "it is Tab",
    "j": "it is a line feed, Enter to many programs",
    "m": "it is Enter",
}


def _parse_key(key: str) -> str:
    """The character after ``ctrl+`` in ``key`` (``ctrl+]`` -> ``]``); ConfigError if unusable."""
    text = key.strip().lower()
    modifier, sep, rest = text.replace("-", "+", 1).partition("+")
    if modifier != "ctrl" or not sep or not rest:
        raise ConfigError(
            f"detach_key {key!r} is not a control key: use ctrl+ followed by a letter "
            "or one of @ \\ ] ^ _ (e.g. ctrl+])"
        )
    if rest in _REFUSED:
        raise ConfigError(f"detach_key {key!r} cannot be used: {_REFUSED[rest]}")
    if len(rest) == 1 and "a" <= rest <= "z":
        return rest
    if rest in _NAMED_KEYS:
        return _NAMED_KEYS[rest]
    raise ConfigError(
        f"detach_key {key!r} is not a key a terminal sends as one byte: use ctrl+ followed "
        "by a letter or one of @ \\ ] ^ _ (e.g. ctrl+])"
    )


def detach_byte(key: str) -> bytes:
    """The byte a terminal sends for ``key``: ``ctrl+]`` is 0x1d, ``ctrl+a`` is 0x01.

    Accepts ``ctrl+X`` or ``ctrl-X`` (any case) where X is a letter, ``@``, ``\\``, ``]``, ``^``
    or ``_`` (Textual's names such as ``right_square_bracket`` too). Raises :class:`ConfigError`
    for anything else, and for keys a sprite needs (Ctrl+C, Escape, Tab, Enter).
    """
    return bytes([ord(_parse_key(key).upper()) & 0x1F])


def key_label(key: str) -> str:
    """How to name ``key`` to a person: ``ctrl+]`` -> ``Ctrl+]``. Raises :class:`ConfigError`."""
    return f"Ctrl+{_parse_key(key).upper()}"


def split_at_detach(keys: bytes, detach: bytes) -> tuple[bytes, bool]:
    """What of one read of ``keys`` goes to the sprite, and whether it held the detach byte.

    The detach byte counts anywhere in the read: the keys before it are forwarded, the rest
    dropped.
    """
    cut = keys.find(detach)
    return (keys, False) if cut < 0 else (keys[:cut], True)


def banner(name: str, detach_key: str = DEFAULT_DETACH_KEY) -> str:
    """The one line shown before attaching: ``Attached to NAME — detach with Ctrl+]``."""
    return f"Attached to {sanitize(name)} — detach with {key_label(detach_key)}"


# -- the outcome ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachOutcome:
    """How an attach ended.

    ``detached``: the user pressed the detach key (or the terminal went away). ``status``: the
    child's exit status, 128+N when signal N ended it, ``None`` when it never ran. ``elapsed``:
    seconds from start to the end of the session. ``tail``: the last lines the child printed,
    sanitized. ``stop_signal``: SIGTERM or SIGHUP ended the session; the caller should now stop
    too. ``error``: the attach could not run or broke down (already cleaned up).
    """

    name: str
    detached: bool = False
    status: int | None = None
    elapsed: float = 0.0
    tail: tuple[str, ...] = ()
    stop_signal: int | None = None
    error: WreckitError | None = None

    @property
    def failed_quickly(self) -> bool:
        """The child ended by itself with a non-zero status soon after the start."""
        return (
            not self.detached
            and self.stop_signal is None
            and self.status not in (None, 0)
            and self.elapsed < QUICK_EXIT_SECONDS
        )

    @property
    def problem(self) -> str | None:
        """One line to show as an error after returning, or ``None`` when there is none."""
        if self.error is not None:
            return self.error.message
        if not self.failed_quickly:
            return None
        text = f"`wisp attach {self.name}` exited with status {self.status}"
        text += f" after {self.elapsed:.1f}s"
        return f"{text}: {self.tail[-1]}" if self.tail else text

    @property
    def exit_code(self) -> int:
        """The status for a shell: the child's, 0 after a detach, the error's code on error."""
        if self.error is not None:
            return self.error.exit_code
        if self.stop_signal is not None:
            return 128 + self.stop_signal
        if self.detached or self.status is None:
            return 0
        return self.status


# -- the entry point -----------------------------------------------------------------------------


def attach(
    wisp: Wisp,
    name: str,
    *,
    detach_key: str = DEFAULT_DETACH_KEY,
    stdin_fd: int = 0,
    stdout_fd: int = 1,
) -> AttachOutcome:
    """Attach the terminal on ``stdin_fd``/``stdout_fd`` to sprite ``name``; block until back.

    Never raises an ``Exception``: a bad ``detach_key`` (:class:`ConfigError`), a bad name
    (:class:`~wreckit_tui.errors.InvalidRequest`), wisp not runnable
    (:class:`~wreckit_tui.errors.WispNotFound`), a stdin that is not a terminal
    (:class:`NotATerminal`) or a breakdown of the passthrough (:class:`AttachError`) comes back
    as ``outcome.error``, with the terminal restored and the child gone. Call it from the main
    thread so that signals can be handled (SIGWINCH, SIGINT, SIGCONT, SIGTERM, SIGHUP);
    elsewhere the window size is polled, and a stop and continue is not noticed.
    """
    try:
        session = _Session(wisp, name, detach_byte(detach_key), stdin_fd, stdout_fd)
        return session.run(banner(name, detach_key), key_label(detach_key))
    except WreckitError as exc:
        return AttachOutcome(name, error=exc)
    except Exception as exc:
        error = AttachError(f"attach to {name!r} broke down: {type(exc).__name__}: {exc}")
        return AttachOutcome(name, error=error)


class _Session:
    """One attach: the user's terminal, the child on its pty, and the copy loop between them."""

    def __init__(self, wisp: Wisp, name: str, detach: bytes, stdin_fd: int, stdout_fd: int) -> None:
        if not os.isatty(stdin_fd):
            raise NotATerminal(
                "attach needs a terminal, but standard input is not a tty; run it from an "
                "interactive shell, not from a pipe, a script or a job without a terminal"
            )
        require_name(name)  # refused before the terminal is touched
        self.wisp = wisp
        self.name = name
        self.detach = detach
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self.recent = bytearray()

    def run(self, banner_line: str, detach_label: str) -> AttachOutcome:
        wakeup = _Wakeup()
        keep_line = not self.wisp.backend.shows_detach_hint
        self.screen = _Screen(self.stdout_fd, self.size_fd(), banner_line, keep_line=keep_line)
        try:
            with _signal_handlers(wakeup) as handled, _raw_mode(self.stdin_fd):
                _write_all(self.stdout_fd, self.screen.opening())
                return self._attached(wakeup, handled, detach_label)
        finally:
            wakeup.close()
            with contextlib.suppress(OSError):
                _write_all(self.stdout_fd, self.screen.closing())

    def _attached(self, wakeup: _Wakeup, signals_handled: bool, detach_label: str) -> AttachOutcome:
        started = time.monotonic()
        child = self.wisp.spawn_attach(self.name, self.screen.child_rows_cols(), detach_label)
        pidfd = _open_pidfd(child.pid)
        try:
            copy = _Copy(self, child, pidfd, wakeup, poll_resize=not signals_handled)
            copy.run()
        finally:
            ended = time.monotonic()
            status = _end_child(child, pidfd)
            if pidfd is not None:
                os.close(pidfd)
            child.ended()
        late_stop = [signum for signum in sorted(wakeup.take()) if signum in _STOP_SIGNALS]
        return AttachOutcome(
            self.name,
            detached=copy.detached,
            status=status,
            elapsed=ended - started,
            tail=tail_lines(bytes(self.recent)),
            stop_signal=copy.stop_signal or next(iter(late_stop), None),
        )

    def size_fd(self) -> int:
        """The fd whose window size the child gets: the output when it is a terminal."""
        return self.stdout_fd if os.isatty(self.stdout_fd) else self.stdin_fd

    def keep(self, output: bytes) -> None:
        """Remember the end of the child's output for the tail."""
        self.recent += output
        if len(self.recent) > 2 * _TAIL_BYTES:
            del self.recent[:-_TAIL_BYTES]


class _Copy:
    """The poll loop copying bytes between the user's terminal and the child's pty."""

    def __init__(
        self,
        session: _Session,
        child: PtyChild,
        pidfd: int | None,
        wakeup: _Wakeup,
        *,
        poll_resize: bool,
    ) -> None:
        self.session = session
        self.screen = session.screen
        self.master = child.master_fd
        self.wakeup = wakeup
        self.poll_resize = poll_resize
        self.pidfd = pidfd
        self.process = child.process
        self.pending = bytearray()  # keys not yet taken by the pty
        self.detached = False
        self.stop_signal: int | None = None
        self.done = False
        self.drain_deadline: float | None = None
        self.nudge_deadline: float | None = None  # when the child's window is set right again
        os.set_blocking(self.master, False)
        self.poller = select.poll()
        self.poller.register(session.stdin_fd, select.POLLIN)
        self.poller.register(self.master, select.POLLIN)
        self.poller.register(wakeup.read_fd, select.POLLIN)
        if self.pidfd is not None:
            self.poller.register(self.pidfd, select.POLLIN)

    def run(self) -> None:
        handlers: dict[int, Callable[[int], None]] = {
            self.session.stdin_fd: self._from_user,
            self.master: self._from_child,
            self.wakeup.read_fd: self._on_signal,
        }
        if self.pidfd is not None:
            handlers[self.pidfd] = self._on_exit
        while not self.done:
            ready = self.poller.poll(self._timeout_ms())
            for fd, events in ready:
                handlers[fd](events)
                if self.done:
                    return
            self._on_tick()

    def _timeout_ms(self) -> int | None:
        waits = []
        for deadline in (self.drain_deadline, self.nudge_deadline):
            if deadline is not None:
                waits.append(max(deadline - time.monotonic(), 0))
        if self.poll_resize:
            waits.append(RESIZE_POLL_SECONDS)
        if self.pidfd is None:
            waits.append(EXIT_POLL_SECONDS)
        return int(min(waits) * 1000) if waits else None

    def _on_tick(self) -> None:
        if self.drain_deadline is not None and time.monotonic() >= self.drain_deadline:
            self.done = True
        if self.nudge_deadline is not None and time.monotonic() >= self.nudge_deadline:
            self.nudge_deadline = None
            self._set_child_window(self.screen.child_window())
        if self.pidfd is None and self.drain_deadline is None and self.process.poll() is not None:
            self._on_exit(0)
        if self.poll_resize:
            self._copy_size()

    def _from_user(self, _events: int) -> None:
        try:
            data = os.read(self.session.stdin_fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the user's terminal went away
            self.detached = self.done = True
            return
        data, self.detached = split_at_detach(data, self.session.detach)
        self.done = self.detached
        if data:
            self.pending += data
            self._flush_keys()

    def _flush_keys(self) -> None:
        try:
            written = os.write(self.master, self.pending)
        except BlockingIOError:
            written = 0
        except OSError:  # the child's side is gone; the exit watch ends the loop
            written = len(self.pending)
        del self.pending[:written]
        events = select.POLLIN | (select.POLLOUT if self.pending else 0)
        self.poller.modify(self.master, events)

    def _from_child(self, events: int) -> None:
        if events & select.POLLOUT:
            self._flush_keys()
        if not events & (select.POLLIN | select.POLLHUP | select.POLLERR):
            return
        for _ in range(READS_PER_WAKEUP):
            try:
                data = os.read(self.master, READ_SIZE)
            except BlockingIOError:
                return
            except OSError:  # EIO: every end of the child's pty is closed
                data = b""
            if not data:
                self.done = True
                return
            _write_all(self.session.stdout_fd, data)
            if self.screen.keeps_line and SCREEN_RESET.search(data):
                _write_all(self.session.stdout_fd, self.screen.banner_line())
            self.session.keep(data)

    def _on_exit(self, _events: int) -> None:
        """The child exited: read what it left in the pty for at most the grace period."""
        if self.pidfd is not None:
            self.poller.unregister(self.pidfd)
        self.drain_deadline = time.monotonic() + DETACH_GRACE

    def _on_signal(self, _events: int) -> None:
        signals = self.wakeup.take()
        if signal.SIGCONT in signals:
            self._continued()
        elif signal.SIGWINCH in signals:
            self._copy_size()
        stop = [signum for signum in _STOP_SIGNALS if signum in signals]
        if stop:
            self.stop_signal = stop[0]
            self.done = True

    def _copy_size(self) -> None:
        if self.screen.resized():
            self._set_child_window(self.screen.child_window())
            _write_all(self.session.stdout_fd, self.screen.banner_line())

    def _continued(self) -> None:
        """After a stop (a job-control shell took the terminal back and set its own modes):
        raw mode again, the banner again, and a resize nudge for the child to redraw."""
        tty.setraw(self.session.stdin_fd, termios.TCSANOW)
        self.screen.resized()
        _write_all(self.session.stdout_fd, self.screen.banner_line())
        window = self.screen.child_window()
        if window is not None:
            rows, cols, xpixels, ypixels = struct.unpack("HHHH", window)
            shorter = struct.pack(
                "HHHH", rows - 1 if rows > 1 else rows + 1, cols, xpixels, ypixels
            )
            self._set_child_window(shorter)
            self.nudge_deadline = time.monotonic() + NUDGE_SECONDS

    def _set_child_window(self, window: bytes | None) -> None:
        if window is not None:
            with contextlib.suppress(OSError):
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, window)


# -- the user's screen -----------------------------------------------------------------------------


class _Screen:
    """The user's terminal during an attach: its size, its title, and the banner line.

    With ``keep_line`` the banner keeps the last row for the whole attach: the child's window is
    one row shorter, and a scroll region (DECSTBM) keeps the child's output above the banner.
    Without, the banner is a line at the top that the child draws over (the backend shows the
    detach key itself).
    """

    def __init__(self, out_fd: int, size_fd: int, banner_text: str, *, keep_line: bool) -> None:
        self.out_fd = out_fd
        self.size_fd = size_fd
        self.text = banner_text
        self.keep_line = keep_line
        self.size = _window_size(size_fd)

    @property
    def keeps_line(self) -> bool:
        """Whether the banner has the last row (a terminal of at least two known rows)."""
        return self.keep_line and self.size is not None and struct.unpack("H", self.size[:2])[0] > 1

    def resized(self) -> bool:
        """Read the terminal's size again; whether it changed."""
        size = _window_size(self.size_fd)
        changed = size is not None and size != self.size
        if changed:
            self.size = size
        return changed

    def child_window(self) -> bytes | None:
        """The ``struct winsize`` the child gets: the terminal's, less the banner's row."""
        if not self.keeps_line:
            return self.size
        rows, cols, xpixels, ypixels = struct.unpack("HHHH", self.size)
        return struct.pack("HHHH", rows - 1, cols, xpixels, ypixels * (rows - 1) // rows)

    def child_rows_cols(self) -> tuple[int, int] | None:
        window = self.child_window()
        return struct.unpack("HH", window[:4]) if window else None

    def opening(self) -> bytes:
        """What the terminal shows first: its title saved, the screen cleared, the banner."""
        if not self.keeps_line:
            return SAVE_TITLE + CLEAR_SCREEN + self.text.encode() + b"\r\n"
        return SAVE_TITLE + CLEAR_SCREEN + self._line() + b"\x1b[H"

    def banner_line(self) -> bytes:
        """The banner line drawn again, the cursor and its attributes left as they were."""
        return b"\x1b7" + self._line() + b"\x1b8" if self.keeps_line else b""

    def closing(self) -> bytes:
        """Modes a program left switched off, the whole screen scrolling, the title back."""
        return RESET_MODES + WHOLE_SCREEN_SCROLLS + RESTORE_TITLE + CLEAR_SCREEN

    def _line(self) -> bytes:
        """The scroll region above the last row, and the banner on it in reverse video."""
        rows, cols = struct.unpack("HH", self.size[:4])
        text = self.text[: cols - 1].ljust(cols - 1)
        return f"\x1b[1;{rows - 1}r\x1b[{rows};1H\x1b[0;7m{text}\x1b[0m".encode()


# -- ending the child ----------------------------------------------------------------------------


def _end_child(child: PtyChild, pidfd: int | None, grace: float = DETACH_GRACE) -> int | None:
    """Close the pty, give the child's process group ``grace`` seconds, then SIGKILL it; reap.

    Returns the child's exit status (128+N for signal N), ``None`` if it could not be reaped.
    """
    deadline = time.monotonic() + grace
    with contextlib.suppress(OSError):
        os.close(child.master_fd)
    _await_exit(child.process, pidfd, deadline)
    code = child.process.poll()
    if code is None or _group_lingers(child.pid, deadline):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            code = child.process.wait(REAP_SECONDS)
    if code is None:
        return None
    return 128 - code if code < 0 else code


def _await_exit(process: subprocess.Popen, pidfd: int | None, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if pidfd is not None:
        with contextlib.suppress(InterruptedError):
            select.select([pidfd], [], [], max(remaining, 0))
        return
    with contextlib.suppress(Exception):
        process.wait(max(remaining, 0))


def _group_lingers(pgid: int, deadline: float) -> bool:
    """Whether process group ``pgid`` still has members at ``deadline`` (its leader reaped)."""
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.005)


def _open_pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


# -- the terminal --------------------------------------------------------------------------------


@contextlib.contextmanager
def _raw_mode(fd: int) -> Iterator[None]:
    """Raw mode on ``fd``; its exact previous modes come back on the way out."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def _window_size(fd: int) -> bytes | None:
    """The raw ``struct winsize`` of the terminal on ``fd``; ``None`` if unknown or empty."""
    try:
        raw = fcntl.ioctl(fd, termios.TIOCGWINSZ, bytes(8))
    except OSError:
        return None
    rows, cols = struct.unpack("HH", raw[:4])
    return raw if rows and cols else None


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data``, waiting for room when ``fd`` happens to be non-blocking."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [])


def tail_lines(output: bytes, count: int = TAIL_LINES) -> tuple[str, ...]:
    """The last ``count`` non-empty lines of terminal ``output``, as a person saw them.

    A carriage return overwrites its line; escape sequences and control characters are removed
    (:func:`wreckit_tui.text.sanitize`).
    """
    text = output.decode("utf-8", errors="replace")
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        visible = sanitize(line.rstrip("\r").rsplit("\r", 1)[-1]).strip()
        if visible:
            lines.append(visible)
    return tuple(lines[-count:])


# -- signals -------------------------------------------------------------------------------------


WAKEUP_READS = 16
"""Reads of the wakeup pipe per wakeup at most, so that a flood cannot hold up the copy loop."""


class _Wakeup:
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
def _signal_handlers(wakeup: _Wakeup) -> Iterator[bool]:
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
        for signum in _SIGNALS:
            old = signal.getsignal(signum)
            if old is not None:  # a handler set outside Python could not be put back
                previous[signum] = signal.signal(signum, wakeup.handler)
        yield True
    finally:
        signal.set_wakeup_fd(old_wakeup)
        for signum, old in previous.items():
            signal.signal(signum, old)  # type: ignore[arg-type]
