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
:data:`~wreckit_tui.child_ending.DETACH_GRACE` seconds later.

This module owns the session and the copy loop between the terminal and the pty; the parts it
uses live next to it: :mod:`~wreckit_tui.detach_key` (the key's grammar and the banner text),
:mod:`~wreckit_tui.terminal_modes` (raw mode and the screen's escape sequences),
:mod:`~wreckit_tui.attach_signals` (signals waking the loop), :mod:`~wreckit_tui.child_ending`
(no process left running) and :mod:`~wreckit_tui.attach_outcome` (what the caller gets back).
With ``record_dir``, :mod:`~wreckit_tui.recording` writes the session as an asciicast file.

This module never imports Textual. Inside a dashboard, stop polling and call :func:`attach` in
the body of ``App.suspend()``, from the main thread. It never raises an ``Exception`` (Textual's
suspend must not see one) and reports through an
:class:`~wreckit_tui.attach_outcome.AttachOutcome` once resumed::

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
import select
import shlex
import signal
import struct
import termios
import time
import tty
from collections.abc import Callable
from typing import TYPE_CHECKING

from wreckit_tui.attach_outcome import AttachError, AttachOutcome, NotATerminal, tail_lines
from wreckit_tui.attach_signals import STOP_SIGNALS, Wakeup, signal_handlers
from wreckit_tui.child_ending import DETACH_GRACE, end_child, open_pidfd
from wreckit_tui.contract import require_sprite_name
from wreckit_tui.detach_key import (
    DEFAULT_DETACH_KEY,
    banner,
    detach_byte,
    key_label,
    split_at_detach,
)
from wreckit_tui.errors import WreckitError
from wreckit_tui.recording import Recorder, open_recorder
from wreckit_tui.terminal_modes import SCREEN_RESET, Screen, raw_mode, write_all

if TYPE_CHECKING:
    from wreckit_tui.backend_api import SpriteManager
    from wreckit_tui.processes import PtyChild

READ_SIZE = 1 << 16
READS_PER_WAKEUP = 8
"""Reads of the child's output in a row before the keyboard is looked at again."""
RESIZE_POLL_SECONDS = 0.25
"""Off the main thread no signal handler can run: the window size is checked this often."""
EXIT_POLL_SECONDS = 0.02
"""Where pidfds are missing, the child's exit is checked this often."""
_TAIL_BYTES = 16 * 1024
NUDGE_SECONDS = 0.05
"""After a SIGCONT the child's window is one row shorter for this long, then right again: two
real resizes, so that the program in the sprite redraws whatever it checks."""


# -- the entry point -----------------------------------------------------------------------------


def attach(
    wisp: SpriteManager,
    name: str,
    *,
    detach_key: str = DEFAULT_DETACH_KEY,
    stdin_fd: int = 0,
    stdout_fd: int = 1,
    end_fd: int | None = None,
    record_dir: str | None = None,
    record_input: bool = False,
) -> AttachOutcome:
    """Attach the terminal on ``stdin_fd``/``stdout_fd`` to sprite ``name``; block until back.
    ``end_fd`` turning readable ends the session as the child's end does (not a detach). With
    ``record_dir`` the child's window size, resizes and output (and, with ``record_input``, the
    keys) are recorded there; a recording that cannot be opened is ``outcome.warning``.

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
        session.end_fd = end_fd
        session.record = (record_dir, record_input) if record_dir else None
        return session.run(banner(name, detach_key), key_label(detach_key))
    except WreckitError as exc:
        return AttachOutcome(name, error=exc)
    except Exception as exc:
        error = AttachError(f"attach to {name!r} broke down: {type(exc).__name__}: {exc}")
        return AttachOutcome(name, error=error)


class _Session:
    """One attach: the user's terminal, the child on its pty, and the copy loop between them."""

    def __init__(
        self, wisp: SpriteManager, name: str, detach: bytes, stdin_fd: int, stdout_fd: int
    ) -> None:
        if not os.isatty(stdin_fd):
            raise NotATerminal(
                "attach needs a terminal, but standard input is not a tty; run it from an "
                "interactive shell, not from a pipe, a script or a job without a terminal"
            )
        require_sprite_name(name)  # refused before the terminal is touched
        self.wisp = wisp
        self.name = name
        self.detach = detach
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self.recent = bytearray()
        self.end_fd: int | None = None
        self.record: tuple[str, bool] | None = None  # the directory, and whether keys too

    def run(self, banner_line: str, detach_label: str) -> AttachOutcome:
        wakeup = Wakeup()
        keep_line = not self.wisp.backend.shows_detach_hint
        self.screen = Screen(self.stdout_fd, self.size_fd(), banner_line, keep_line=keep_line)
        try:
            with signal_handlers(wakeup) as handled, raw_mode(self.stdin_fd):
                write_all(self.stdout_fd, self.screen.opening())
                return self._attached(wakeup, handled, detach_label)
        finally:
            wakeup.close()
            with contextlib.suppress(OSError):
                write_all(self.stdout_fd, self.screen.closing())

    def _attached(self, wakeup: Wakeup, signals_handled: bool, detach_label: str) -> AttachOutcome:
        started = time.monotonic()
        rows_cols = self.screen.child_rows_cols()
        child = self.wisp.spawn_attach(self.name, rows_cols, detach_label)
        pidfd = open_pidfd(child.pid)
        recorder, warning = None, None
        try:
            if self.record is not None:
                directory, keys = self.record
                size = rows_cols or (24, 80)
                recorder, warning = open_recorder(directory, self.name, size, record_input=keys)
            copy = _Copy(self, child, pidfd, wakeup, poll_resize=not signals_handled)
            copy.recorder = recorder
            copy.run()
        finally:
            if recorder is not None:
                recorder.close()
            ended = time.monotonic()
            status = end_child(child, pidfd)
            if pidfd is not None:
                os.close(pidfd)
            child.ended()
        late_stop = [signum for signum in sorted(wakeup.take()) if signum in STOP_SIGNALS]
        return AttachOutcome(
            self.name,
            detached=copy.detached,
            status=status,
            elapsed=ended - started,
            tail=tail_lines(bytes(self.recent)),
            stop_signal=copy.stop_signal or next(iter(late_stop), None),
            warning=warning,
            command=self._shown_command(list(child.process.args)),
        )

    def _shown_command(self, argv: list[str]) -> str:
        """The attach's command as a person would type it: ``wisp attach NAME``, ``sprite
        console -s NAME``."""
        backend = self.wisp.backend
        return shlex.join([backend.name, *argv[len(backend.argv) :]])

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
        wakeup: Wakeup,
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
        self.recorder: Recorder | None = None
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
        if self.session.end_fd is not None:
            self.poller.register(self.session.end_fd, select.POLLIN)
            handlers[self.session.end_fd] = self._on_end
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
            if self.recorder is not None:
                self.recorder.input(data)
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
            write_all(self.session.stdout_fd, data)
            if self.recorder is not None:
                self.recorder.output(data)
            if self.screen.keeps_line and SCREEN_RESET.search(data):
                write_all(self.session.stdout_fd, self.screen.banner_line())
            self.session.keep(data)

    def _on_exit(self, _events: int) -> None:
        """The child exited: read what it left in the pty for at most the grace period."""
        if self.pidfd is not None:
            self.poller.unregister(self.pidfd)
        self.drain_deadline = time.monotonic() + DETACH_GRACE

    def _on_end(self, _events: int) -> None:
        self.done = True

    def _on_signal(self, _events: int) -> None:
        signals = self.wakeup.take()
        if signal.SIGCONT in signals:
            self._continued()
        elif signal.SIGWINCH in signals:
            self._copy_size()
        stop = [signum for signum in STOP_SIGNALS if signum in signals]
        if stop:
            self.stop_signal = stop[0]
            self.done = True

    def _copy_size(self) -> None:
        if self.screen.resized():
            self._set_child_window(self.screen.child_window())
            write_all(self.session.stdout_fd, self.screen.banner_line())

    def _continued(self) -> None:
        """After a stop (a job-control shell took the terminal back and set its own modes):
        raw mode again, the banner again, and a resize nudge for the child to redraw."""
        tty.setraw(self.session.stdin_fd, termios.TCSANOW)
        self.screen.resized()
        write_all(self.session.stdout_fd, self.screen.banner_line())
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
            if self.recorder is not None:
                self.recorder.resize(*struct.unpack("HH", window[:4]))
