"""Looking at processes that may end while a test looks at them."""

from __future__ import annotations

import psutil


def command_line(process: psutil.Process) -> list[str]:
    """``process``'s argv, or nothing if it ended since it was listed."""
    try:
        return process.cmdline()
    except psutil.NoSuchProcess:  # ended (or a zombie) between the listing and this look
        return []
