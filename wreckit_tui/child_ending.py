"""Ending the attach's child: close its pty, give its process group a grace period, SIGKILL it.

:func:`end_child` leaves no process of the attach running and returns the child's exit status;
:func:`open_pidfd` gives the pidfd the copy loop and the wait use to see the child exit.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

    from wreckit_tui.processes import PtyChild

DETACH_GRACE = 0.2
"""Seconds between closing the pty and SIGKILL of the attach process group."""
REAP_SECONDS = 0.05


def end_child(child: PtyChild, pidfd: int | None, grace: float = DETACH_GRACE) -> int | None:
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


def open_pidfd(pid: int) -> int | None:
    """A pidfd for ``pid`` (readable once it exits), or ``None`` where pidfds are missing."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


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
