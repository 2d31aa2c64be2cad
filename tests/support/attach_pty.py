"""A real pty standing in for the user's terminal: keys in, screen bytes out, resizes, modes.

Used by the attach tests and by ``bench/attach_bench.py``; :func:`read_until` reads any pty or
pipe until a pattern. A reader thread drains the master
end all the time, so whatever runs on the terminal never blocks on a full pty.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Mapping, Sequence

from wreckit_tui.processes import take_controlling_terminal


def read_until(fd: int, needle: bytes, timeout: float = 10.0) -> bytes:
    """Read ``fd`` (a pty or a pipe) until ``needle`` shows, it ends or ``timeout`` seconds pass;
    return all that was read."""
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


class Terminal:
    """The user's side of a new pty; ``slave`` is the terminal a program under test gets."""

    def __init__(self, rows: int = 24, cols: int = 80) -> None:
        self.master, self.slave = os.openpty()
        self.resize(rows, cols)
        self._screen = bytearray()
        self._mark = 0
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 1 << 16)
            except OSError:
                return
            with self._changed:
                self._screen += data
                self._changed.notify_all()

    def type(self, keys: bytes | str) -> None:
        """Send ``keys`` as if typed (all in one write, so usually one read at the far end)."""
        os.write(self.master, keys.encode() if isinstance(keys, str) else keys)

    def expect(self, text: bytes | str, timeout: float = 10.0) -> bytes:
        """Wait until ``text`` shows after the last match; return the output up to its end."""
        needle = text.encode() if isinstance(text, str) else text
        deadline = time.monotonic() + timeout
        with self._changed:
            while (found := self._screen.find(needle, self._mark)) < 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{needle!r} not seen within {timeout}s; "
                        f"screen since last match: {bytes(self._screen[self._mark :])!r}"
                    )
                self._changed.wait(left)
            end = found + len(needle)
            seen = bytes(self._screen[self._mark : end])
            self._mark = end
            return seen

    def screen(self) -> bytes:
        """Everything the terminal received so far."""
        with self._changed:
            return bytes(self._screen)

    def settle(self, quiet: float = 0.1, timeout: float = 5.0) -> bytes:
        """Wait until nothing arrives for ``quiet`` seconds; return everything seen."""
        deadline = time.monotonic() + timeout
        with self._changed:
            size = -1
            while size != len(self._screen) and time.monotonic() < deadline:
                size = len(self._screen)
                self._changed.wait(quiet)
            return bytes(self._screen)

    def resize(self, rows: int, cols: int) -> None:
        """Change the window size, as a terminal emulator does (SIGWINCH to the foreground)."""
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def modes(self) -> str:
        """``stty -a`` of this terminal."""
        done = subprocess.run(
            ["stty", "-a"], stdin=self.slave, capture_output=True, text=True, check=True
        )
        return done.stdout

    def spawn(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> subprocess.Popen:
        """Run ``argv`` with this terminal as its controlling terminal, in a session of its own."""
        return subprocess.Popen(
            argv,
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            start_new_session=True,
            preexec_fn=take_controlling_terminal,  # noqa: PLW1509 - only the child can take its tty
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )

    def close(self) -> None:
        self._stop.set()
        self._reader.join(2)
        os.close(self.master)
        os.close(self.slave)
