"""What a wisp call leaves running: found after the call, wherever it went, and ended.

A call runs in a process group of its own, which a timeout kills whole; but a daemon can leave
the group (``setsid``) and outlive the call. With :meth:`Orphans.adopt` this process becomes a
child subreaper (Linux ``PR_SET_CHILD_SUBREAPER``): every process orphaned below it is
re-parented to it rather than to init, so it can see them. Each call's environment carries a
marker, ``WRECKIT_WISP_CALL=<pid>:<call>``, which everything the call starts inherits. When a call
ends, :meth:`Orphans.sweep` looks at the adopted children (those not started here):

- one that carries the marker of a finished call is killed (SIGKILL) and reaped, unless that call
  was a ``start``: a provider may leave a server behind for its sprites (the built-in provider's
  tmux server), which must live on; what it leaves is only reaped once it exits. Orphans of a
  killed process are adopted in turn and go the same way;
- one that carries the marker of a call still running is left to that call's own sweep;
- one without a marker of this process (it cleared its environment, or runs as another user) is
  left running: nothing tells it from what a ``start`` left. It is reaped once it exits;
- one that has exited is reaped, whatever it was (a zombie's environment can no longer be read).

A child is reaped with ``waitid`` on its pid alone, never ``waitpid(-1)``, which would take the
exit status of a subprocess that :mod:`wreckit_tui.processes` waits for itself. Only a program
whose every child comes from there may adopt orphans (the ``wreckit-tui`` command does): any other
child of its own that has exited would be reaped too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

MARKER = "WRECKIT_WISP_CALL"
PR_SET_CHILD_SUBREAPER = 36
SWEEP_SECONDS = 0.5
"""How long a sweep waits for what it killed to exit; anything slower is reaped by a later one."""


@dataclass(frozen=True)
class Call:
    """One wisp call, as its marker names it."""

    number: int
    keeps_leftovers: bool

    @property
    def marker(self) -> str:
        return f"{os.getpid()}:{self.number}"

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """This process's environment plus the call's marker (and ``extra``)."""
        return {**os.environ, **(extra or {}), MARKER: self.marker}


class Orphans:
    """The calls of this process and the processes they leave behind."""

    def __init__(self) -> None:
        self.adopting = False
        self._lock = threading.Lock()
        self._next = 0
        self._running: set[int] = set()
        self._kept: set[int] = set()  # start calls: what they leave is never killed
        self._own: weakref.WeakSet = weakref.WeakSet()  # subprocess.Popen objects started here

    def adopt(self) -> bool:
        """Make this process the reaper of its orphaned descendants; False where it cannot."""
        if not self.adopting:
            self.adopting = _become_subreaper()
        return self.adopting

    def begin(self, *, keeps_leftovers: bool = False) -> Call:
        """A new call; ``keeps_leftovers`` for one whose leftovers must live on (``start``)."""
        with self._lock:
            call = Call(self._next, keeps_leftovers)
            self._next += 1
            self._running.add(call.number)
            if keeps_leftovers:
                self._kept.add(call.number)
        return call

    def own(self, process: object) -> None:
        """Note a ``subprocess.Popen`` started here: its process is no orphan."""
        self._own.add(process)

    def end(self, call: Call) -> None:
        """``call`` is over: end what it left behind (see the module's rules)."""
        with self._lock:
            self._running.discard(call.number)
        self.sweep()

    def sweep(self) -> None:
        """Reap the adopted children that exited; kill and reap those finished calls left."""
        if not self.adopting:
            return
        deadline = time.monotonic() + SWEEP_SECONDS
        with self._lock:
            while (doomed := self._leftovers()) and time.monotonic() < deadline:
                _kill_and_reap(doomed, deadline)

    def _leftovers(self) -> list[int]:
        """Adopted children still running that a finished call left (the others are reaped)."""
        own = {process.pid for process in self._own if process.returncode is None}
        return [
            pid for pid in _children() - own if not _reap(pid) and self._left_by_finished_call(pid)
        ]

    def _left_by_finished_call(self, pid: int) -> bool:
        """Whether ``pid`` carries the marker of a call of ours that ended and keeps nothing."""
        prefix = f"{MARKER}={os.getpid()}:".encode()
        for entry in _read(f"/proc/{pid}/environ").split(b"\0"):
            if entry.startswith(prefix):
                number = entry[len(prefix) :]
                if not number.isdigit() or int(number) >= self._next:
                    return False
                return int(number) not in self._running | self._kept
        return False


ORPHANS = Orphans()
"""The calls of this process: one registry, since a process has one set of children."""


def _become_subreaper() -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux, or no prctl
        return False


def _kill_and_reap(pids: list[int], deadline: float) -> None:
    """SIGKILL ``pids``, children of ours (so none can have been reused), and reap them."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    waiting = set(pids)
    while waiting and time.monotonic() < deadline:
        waiting = {pid for pid in waiting if not _reap(pid)}
        if waiting:
            time.sleep(0.002)


def _reap(pid: int) -> bool:
    """Collect the exit status of child ``pid`` if it has exited; whether it is gone."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG) is not None
    except ChildProcessError:  # reaped already
        return True


_CHILDREN_FILES = os.path.exists(f"/proc/self/task/{os.getpid()}/children")
"""Whether the kernel lists each thread's children (CONFIG_PROC_CHILDREN)."""


def _children() -> set[int]:
    """The pids of this process's children, from the kernel's lists where it keeps them, else
    from the parent pid of every process (a millisecond for a few hundred processes)."""
    if _CHILDREN_FILES:
        tasks = os.listdir("/proc/self/task")
        return {
            int(pid) for task in tasks for pid in _read(f"/proc/self/task/{task}/children").split()
        }
    parent = str(os.getpid()).encode()
    children = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _read(f"/proc/{name}/stat")
            fields = stat[stat.rfind(b")") + 2 :].split(b" ", 2)  # state, parent, the rest
            if len(fields) == 3 and fields[1] == parent:
                children.add(int(name))
    return children


def _read(path: str) -> bytes:
    """The content of a small ``/proc`` file; empty when it cannot be read (a process that
    just exited, or one of another user)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return b""
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return b""
    finally:
        os.close(fd)
