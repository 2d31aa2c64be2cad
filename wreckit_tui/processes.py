"""Running a child process under the rules of the CLI contract, and nothing about wisp itself.

This module owns the plumbing: a child runs from an argv list (never a shell) with no inherited
fds, in a process group of its own. :func:`run_process` runs one to completion with stdin from
``/dev/null``: stdout read up to a cap, the end of stderr kept, exit watched through a pidfd (so
a grandchild that keeps a pipe open cannot hold the caller), the group sent SIGTERM then SIGKILL
on a timeout or a stop, and killed at once when the call is cancelled. :func:`run_exec` runs
one the same way with input on its stdin and both outputs cut at a cap. :func:`spawn_on_pty`
starts an interactive one on a pty of its own. It may touch processes it started, their groups
and their fds, and the orphans they leave (through :mod:`wreckit_tui.orphans`); it raises the
errors of :mod:`wreckit_tui.errors` and never decides which program to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from wreckit_tui.errors import WispBadOutput, WispInterrupted, WispNotFound, WispTimeout
from wreckit_tui.orphans import ORPHANS, Call

DRAIN_SECONDS = 0.5
"""How long pipes may stay open after wisp exited before the group is killed (a grandchild)."""
STDERR_KEEP = 64 * 1024
"""Bytes of wisp's stderr kept, its end: where the summary line and the error screen come from."""


def adopt_orphans() -> bool:
    """Make this process the reaper of what wisp calls leave behind, so that it can end it
    (:mod:`wreckit_tui.orphans`). Only for a program whose every child is started here, like
    the ``wreckit-tui`` command; returns False where the system cannot do it."""
    return ORPHANS.adopt()


@dataclass
class Completed:
    """What a finished call left behind (``stdout`` is the buffer it was read into,
    not a copy: at the output cap a copy would cost ``max_output_bytes`` more)."""

    returncode: int
    stdout: bytes | bytearray
    stderr: str


@dataclass(frozen=True)
class ExecResult:
    """What a command run by ``exec`` did: its status and output, each cut at the cap."""

    returncode: int
    stdout: bytes
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool


@dataclass
class PtyChild:
    """A program running on a pty of its own: the process and the master end of the pty."""

    process: subprocess.Popen
    master_fd: int
    call: Call

    @property
    def pid(self) -> int:
        return self.process.pid

    def ended(self) -> None:
        """Say that the program ended: what it left running is ended too."""
        ORPHANS.end(self.call)


async def run_process(
    argv: list[str],
    *,
    label: str,
    timeout: float,
    grace: float,
    max_stdout: int,
    keeps_leftovers: bool = False,
    stop: asyncio.Event | None = None,
) -> Completed:
    """Run ``argv`` to completion under the rules of the CLI contract.

    Whatever the call leaves running after it is ended, unless ``keeps_leftovers`` (a
    ``start``, which may leave a server for its sprites; cancelled, such a call gets SIGTERM,
    to undo what it half did, not SIGKILL). ``stop`` set ends the call as a timeout does, as
    :class:`WispInterrupted`. A call that exits 0 while it is being ended (timed out or stopped)
    finished after all: its result counts.
    """
    call = ORPHANS.begin(keeps_leftovers=keeps_leftovers)
    try:
        proc = launch(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=call.environment(),
        )
        watch = _ProcessWatch(proc, max_stdout, gentle=keeps_leftovers)
        try:
            return await watch.finish(label, timeout, grace, stop)
        finally:
            watch.close()
    finally:
        ORPHANS.end(call)


async def run_exec(
    argv: list[str],
    *,
    label: str,
    stdin: bytes,
    timeout: float,
    grace: float,
    max_output: int,
    extra_env: Mapping[str, str] | None = None,
) -> ExecResult:
    """:func:`run_process` with ``stdin`` as input, ``extra_env`` added, and each of stdout and
    stderr kept up to ``max_output`` bytes (the rest dropped, and said)."""
    call = ORPHANS.begin()
    try:
        proc = launch(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=call.environment(extra_env),
        )
        watch = _ProcessWatch(proc, max_output, cut=True, stdin=stdin)
        try:
            done = await watch.finish(label, timeout, grace)
        finally:
            watch.close()
    finally:
        ORPHANS.end(call)
    status = done.returncode if done.returncode >= 0 else 128 - done.returncode  # as a shell
    return ExecResult(status, bytes(done.stdout), done.stderr, *watch.cut_streams)


def launch(argv: list[str], **popen: Any) -> subprocess.Popen:
    """Start ``argv`` with ``popen`` options and no inherited fds; one that cannot run is
    :class:`WispNotFound`."""
    try:
        process = subprocess.Popen(argv, close_fds=True, **popen)
    except FileNotFoundError:
        raise WispNotFound(argv[0]) from None
    except PermissionError:
        raise WispNotFound(argv[0], "is not executable") from None
    except OSError as exc:
        raise WispNotFound(argv[0], f"cannot be run ({exc.strerror})") from None
    ORPHANS.own(process)
    return process


def spawn_on_pty(
    argv: list[str],
    size: tuple[int, int] | None = None,
    *,
    extra_env: Mapping[str, str] | None = None,
    drop_env: Collection[str] = (),
) -> PtyChild:
    """Start ``argv`` on a new pty whose window is ``size`` (rows, columns).

    The child leads a new session (its process group id is its pid) with the pty as its
    controlling terminal, and runs with this environment plus ``extra_env``, less the variables
    in ``drop_env``. The caller owns the returned master fd and process, and calls
    :meth:`PtyChild.ended` once it reaped it. Raises :class:`WispNotFound` when the program
    cannot be run.
    """
    call = ORPHANS.begin()
    env = call.environment(extra_env)
    master_fd, slave_fd = pty.openpty()
    try:
        if size:
            fcntl.ioctl(slave_fd, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
        process = launch(
            argv,
            stdin=slave_fd,
            stdout=slave_fd,
            stderr=slave_fd,
            start_new_session=True,
            preexec_fn=take_controlling_terminal,
            env={k: v for k, v in env.items() if k not in drop_env},
        )
    except BaseException:
        os.close(master_fd)
        ORPHANS.end(call)
        raise
    finally:
        os.close(slave_fd)
    return PtyChild(process, master_fd, call)


def take_controlling_terminal() -> None:
    """In the child, after ``setsid``: make its stdin (the pty) the controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class _ProcessWatch:
    """Event-loop readers for one child's stdout, stderr and exit."""

    def __init__(
        self,
        proc: subprocess.Popen,
        max_stdout: int,
        *,
        gentle: bool = False,
        cut: bool = False,
        stdin: bytes = b"",
    ) -> None:
        self.proc = proc
        self.gentle = gentle  # cancelled, it gets SIGTERM and is left to finish on its own
        self.max_stdout = max_stdout
        self.cut = cut  # both outputs kept up to max_stdout, the rest dropped: no overflow
        self.cut_streams = [False, False]  # whether stdout, stderr went over the cap
        self.loop = asyncio.get_running_loop()
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.overflow = False
        self.terminated = False  # timed out: whatever is left of the group gets SIGKILL
        self.exited = asyncio.Event()
        self.settled = asyncio.Event()  # exited, or stdout went over the cap
        self.pipes_closed = asyncio.Event()
        self._open = {proc.stdout.fileno(): self.stdout, proc.stderr.fileno(): self.stderr}
        for fd in self._open:
            os.set_blocking(fd, False)
            self.loop.add_reader(fd, self._on_readable, fd)
        self._pidfd = _watch_exit(self.loop, proc.pid, self._on_exit)
        self._input = memoryview(stdin)
        if proc.stdin:
            os.set_blocking(proc.stdin.fileno(), False)
            self.loop.add_writer(proc.stdin.fileno(), self._on_writable)

    async def finish(
        self, label: str, timeout: float, grace: float, stop: asyncio.Event | None = None
    ) -> Completed:
        deadline = self.loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                stopped = await self._settled_or(stop)
        except TimeoutError:
            stopped = None
            if not self.settled.is_set():  # an event loop held up (by an attach) may see both
                await self._terminate(grace)
                if not self._finished_after_all():
                    raise WispTimeout(label, timeout) from None
        if stopped:
            await self._terminate(grace)
            if not self._finished_after_all():
                raise WispInterrupted(label)
        if not self.overflow:
            drain = min(DRAIN_SECONDS, max(deadline - self.loop.time(), 0.05))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.pipes_closed.wait(), drain)
        if self.overflow:
            raise WispBadOutput(f"`{label}` printed more than {self.max_stdout} bytes")
        return Completed(
            returncode=self.proc.wait(),
            stdout=self.stdout,
            stderr=self.stderr.decode("utf-8", errors="replace"),
        )

    async def _settled_or(self, stop: asyncio.Event | None) -> bool:
        """Wait until the call settles or ``stop`` is set; whether it was stopped first."""
        if stop is None:
            await self.settled.wait()
            return False
        waits = {asyncio.ensure_future(self.settled.wait()), asyncio.ensure_future(stop.wait())}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return not self.settled.is_set()

    def _finished_after_all(self) -> bool:
        """Whether a call being ended exited 0 meanwhile: it finished, its output whole."""
        if self.exited.is_set() and self.proc.poll() == 0 and not self.overflow:
            self.terminated = False
            return True
        return False

    async def _terminate(self, grace: float) -> None:
        """SIGTERM the group and give it ``grace`` seconds; ``close`` sends the SIGKILL."""
        self.terminated = True
        self._signal_group(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.exited.wait(), grace)

    def close(self) -> None:
        """Kill what is left of the group unless it ended cleanly; reap; release every fd."""
        ended_cleanly = self.exited.is_set() and self.pipes_closed.is_set() and not self.overflow
        if self.gentle and not self.terminated and not self.exited.is_set():
            self._signal_group(signal.SIGTERM)  # cancelled: let it undo what it half did
        elif self.terminated or not ended_cleanly:
            self._signal_group(signal.SIGKILL)
        _reap(self.loop, self.proc)
        for fd in list(self._open):
            self._close_pipe(fd)
        self._stop_exit_watch()
        self._close_stdin()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe:
                pipe.close()

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signum)

    def _on_exit(self) -> None:
        self._stop_exit_watch()
        self.exited.set()
        self.settled.set()

    def _stop_exit_watch(self) -> None:
        if self._pidfd is not None:
            self.loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None

    def _on_readable(self, fd: int) -> None:
        buffer = self._open[fd]
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close_pipe(fd)
            return
        if self.cut:
            room = self.max_stdout - len(buffer)
            buffer += chunk[: max(room, 0)]
            if len(chunk) > room:
                self.cut_streams[buffer is self.stderr] = True
            return
        buffer += chunk
        if buffer is self.stdout and len(buffer) > self.max_stdout:
            self.overflow = True
            self.settled.set()
            self._close_pipe(fd)
        elif buffer is self.stderr and len(buffer) > 2 * STDERR_KEEP:
            del buffer[:-STDERR_KEEP]

    def _on_writable(self) -> None:
        try:
            written = os.write(self.proc.stdin.fileno(), self._input[: 1 << 16])
        except BlockingIOError:
            return
        except OSError:  # it closed its stdin: the rest is not wanted
            written = len(self._input)
        self._input = self._input[written:]
        if not self._input:
            self._close_stdin()

    def _close_stdin(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.loop.remove_writer(self.proc.stdin.fileno())
            self.proc.stdin.close()

    def _close_pipe(self, fd: int) -> None:
        if self._open.pop(fd, None) is not None:
            self.loop.remove_reader(fd)
        if not self._open:
            self.pipes_closed.set()


REAP_WAIT = 0.1
"""How long the event loop may wait for a killed child to die before reaping it later."""


def _reap(loop: asyncio.AbstractEventLoop, proc: subprocess.Popen) -> None:
    """Collect the exit status of a killed child; one stuck in the kernel is reaped later."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=REAP_WAIT)
    if proc.returncode is None:
        _reap_later(loop, proc, tries=500)


def _reap_later(loop: asyncio.AbstractEventLoop, proc: subprocess.Popen, tries: int) -> None:
    if proc.poll() is None and tries:
        loop.call_later(0.02, _reap_later, loop, proc, tries - 1)


def _watch_exit(
    loop: asyncio.AbstractEventLoop, pid: int, callback: Callable[[], None]
) -> int | None:
    """Call ``callback`` when ``pid`` exits: a pidfd reader, or polling where pidfds are missing."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        _poll_exit(loop, pid, callback)
        return None
    loop.add_reader(pidfd, callback)
    return pidfd


def _poll_exit(loop: asyncio.AbstractEventLoop, pid: int, callback: Callable[[], None]) -> None:
    try:
        finished = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        finished = True
    if finished:
        callback()
    else:
        loop.call_later(0.02, _poll_exit, loop, pid, callback)
