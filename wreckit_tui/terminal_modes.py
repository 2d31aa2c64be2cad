"""The user's terminal during an attach: raw mode, its window size, and the escape sequences.

:class:`Screen` owns what is written besides the child's output: the title saved and restored,
the screen cleared, the banner on the last row (a scroll region keeps the child's output above
it), and the modes a program may have left on switched off at the end.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import struct
import termios
import tty
from collections.abc import Iterator

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


class Screen:
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
        self.size = window_size(size_fd)

    @property
    def keeps_line(self) -> bool:
        """Whether the banner has the last row (a terminal of at least two known rows)."""
        return self.keep_line and self.size is not None and struct.unpack("H", self.size[:2])[0] > 1

    def resized(self) -> bool:
        """Read the terminal's size again; whether it changed."""
        size = window_size(self.size_fd)
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


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    """Raw mode on ``fd``; its exact previous modes come back on the way out."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def window_size(fd: int) -> bytes | None:
    """The raw ``struct winsize`` of the terminal on ``fd``; ``None`` if unknown or empty."""
    try:
        raw = fcntl.ioctl(fd, termios.TIOCGWINSZ, bytes(8))
    except OSError:
        return None
    rows, cols = struct.unpack("HH", raw[:4])
    return raw if rows and cols else None


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data``, waiting for room when ``fd`` happens to be non-blocking."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [])
