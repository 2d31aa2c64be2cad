"""The wisp adapter: the only code in wreckit-tui that starts the ``wisp`` program.

Every call runs an argv list (never a shell) with stdin from ``/dev/null`` in a process group of
its own. On timeout the group gets SIGTERM, then SIGKILL after ``kill_grace`` seconds; a call that
is cancelled kills its group at once. Exit is watched through a pidfd, not through the pipes, so
a grandchild that keeps stdout open cannot hold the caller. What a call leaves running outside
its group (a daemon that called ``setsid``) is ended after it by :mod:`wreckit_tui.orphans`,
once :func:`adopt_orphans` made this process their reaper. Only ``wisp attach`` is interactive:
:meth:`Wisp.spawn_attach` starts it on a pty of its own for :mod:`wreckit_tui.attach`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import pty
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wreckit_tui.contract import NESTING_VARIABLES, require_name
from wreckit_tui.errors import (
    InvalidRequest,
    NotSupported,
    SpriteNotFound,
    StoppedSprite,
    WispBadOutput,
    WispError,
    WispFailed,
    WispInterrupted,
    WispNotFound,
    WispTimeout,
)
from wreckit_tui.models import (
    DEFAULT_MAX_SPRITES,
    Fleet,
    in_use,
    parse_fleet,
    quota_problem,
    validate_request,
)
from wreckit_tui.orphans import ORPHANS, Call
from wreckit_tui.reservations import Ledger
from wreckit_tui.text import sanitize

if TYPE_CHECKING:
    from wreckit_tui.config import Config

DETACH_LABEL_ENV = "WRECKIT_DETACH_LABEL"
"""Set for ``wisp attach`` to the detach key's name (``Ctrl+]``), for a backend to show it."""
DRAIN_SECONDS = 0.5
"""How long pipes may stay open after wisp exited before the group is killed (a grandchild)."""
STDERR_KEEP = 64 * 1024
"""Bytes of wisp's stderr kept, its end: where the summary line and the error screen come from."""
_VERSION_RE = re.compile(r"\bv?(\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?)")


@dataclass(frozen=True)
class Backend:
    """The program that speaks the wisp CLI contract, and how to name it to a person.

    ``label`` names it in the header; ``name`` stands for it in messages (``wisp list
    --json``); ``local``: its sprites run on this machine, so the host's cores and memory bound
    them. ``shows_detach_hint``: while attached, the backend itself shows how to detach (the
    built-in provider's tmux status line does, from ``WRECKIT_DETACH_LABEL``), so the attach
    keeps no line of the terminal for a banner of its own.
    """

    argv: tuple[str, ...]
    label: str
    name: str = "wisp"
    local: bool = False
    shows_detach_hint: bool = False

    @property
    def key(self) -> str:
        """What tells this backend from any other of this user: its argv, and for the built-in
        provider the home it works on."""
        home = os.environ.get("WRECKIT_SANDBOX_HOME", "") if self.local else ""
        return "\0".join([*self.argv, home])

    def shell_command(self, args: list[str]) -> str:
        """``args`` as a command a person can paste into a shell to run them as the call did."""
        program = BUILTIN_COMMAND if self.local else self.argv[0]
        return shlex.join([program, *args])


def resolve_backend(wisp_path: str | None) -> Backend:
    """``wisp_path`` when set, else ``wisp`` on PATH, else the built-in provider."""
    if wisp_path:
        program = os.path.expanduser(wisp_path)
        if os.sep not in program:
            program = shutil.which(program) or program
        return Backend(argv=(program,), label=f"wisp {program}")
    found = shutil.which("wisp")
    if found:
        return Backend(argv=(found,), label=f"wisp {found}")
    return builtin_backend()


BUILTIN_COMMAND = "wreckit-sandbox"
CAPABILITY_COMMANDS = frozenset({"exec", "capture", "send", "resume", "start-command"})
"""The optional commands of contract v1.1 a backend may announce."""


def builtin_backend() -> Backend:
    """The built-in local provider, run with this interpreter so no PATH is needed."""
    return Backend(
        argv=(sys.executable, "-m", "wreckit_tui.sandbox"),
        label="built-in sandbox provider",
        name=BUILTIN_COMMAND,
        local=True,
        shows_detach_hint=True,
    )


def adopt_orphans() -> bool:
    """Make this process the reaper of what wisp calls leave behind, so that it can end it
    (:mod:`wreckit_tui.orphans`). Only for a program whose every child is started here, like
    the ``wreckit-tui`` command; returns False where the system cannot do it."""
    return ORPHANS.adopt()


@dataclass
class Completed:
    """What a finished ``wisp`` call left behind (``stdout`` is the buffer it was read into,
    not a copy: at the output cap a copy would cost ``max_output_bytes`` more)."""

    returncode: int
    stdout: bytes | bytearray
    stderr: str


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


@dataclass
class Wisp:
    """Async client of one wisp-compatible program."""

    backend: Backend
    timeout: float = 300
    list_timeout: float = 10
    kill_grace: float = 5
    max_output_bytes: int = 16 * 1024 * 1024
    max_sprites: int = DEFAULT_MAX_SPRITES
    ledger: Ledger | None = field(default=None, repr=False)
    """The starts in flight on this backend, shared with every process of this user."""
    _capabilities: asyncio.Task[frozenset[str]] | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: Config) -> Wisp:
        return cls(
            backend=resolve_backend(config.wisp_path),
            timeout=config.timeout,
            list_timeout=config.list_timeout,
            kill_grace=config.kill_grace,
            max_output_bytes=config.max_output_bytes,
            max_sprites=config.max_sprites,
        )

    async def version(self) -> str:
        """The version that ``wisp --version`` prints."""
        done = await self._call(["--version"], self.list_timeout)
        match = _VERSION_RE.search(bytes(done.stdout).decode("utf-8", errors="replace"))
        if not match:
            raise WispBadOutput("`--version` printed no version number")
        return match[1]

    async def capabilities(self) -> frozenset[str]:
        """The v1.1 commands the backend announces (``wisp capabilities --json``), asked once.

        A backend that fails the call, times out or prints anything but the documented object
        speaks plain v1: the answer is then empty, never an error.
        """
        task = self._capabilities
        if task is None or task.cancelled():
            task = self._capabilities = asyncio.ensure_future(self._ask_capabilities())
        return await task

    async def _ask_capabilities(self) -> frozenset[str]:
        try:
            done = await self._call(["capabilities", "--json"], self.list_timeout)
        except WispError:
            return frozenset()
        return parse_capabilities(done.stdout)

    async def list(self) -> Fleet:
        """The fleet as ``wisp list --json`` reports it."""
        done = await self._call(["list", "--json"], self.list_timeout)
        return await asyncio.to_thread(parse_fleet, done.stdout, max_sprites=self.max_sprites)

    def _ledger(self) -> Ledger:
        if self.ledger is None:
            self.ledger = Ledger(self.backend.key)
        return self.ledger

    async def start(
        self,
        name: str,
        memory: str,
        cpus: int | str,
        *,
        max_vms: int,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Start a sprite after checking the request, the name and the ``max_vms`` quota.

        The quota is checked against a fresh list plus the starts in flight in every process of
        this user (:mod:`wreckit_tui.reservations`), so no two starts anywhere pass it together;
        a refused request runs no start. Setting ``stop`` stops the start (SIGTERM to its group,
        then SIGKILL): it either finished by then (and succeeded) or raises
        :class:`WispInterrupted`. A start that fails, times out or is stopped leaves no sprite
        running: one that shows up anyway is killed, and the error says so.
        """
        cpus = validate_request(name, memory, cpus)

        async def check(booked: frozenset[str]) -> None:
            self._check_launch(await self.list(), name, max_vms, booked)

        async with self._ledger().booked(name, check):
            argv = ["start", name, "--memory", memory, "--cpus", str(cpus)]
            try:  # a start may leave a server for its sprites running
                await self._call(argv, self.timeout, keeps_leftovers=True, stop=stop)
            except WispNotFound:
                raise
            except WispError as exc:
                raise await self._undo_start(name, exc) from None

    async def _undo_start(self, name: str, error: WispError) -> WispError:
        """After a start that did not succeed: kill the sprite if it shows up all the same, and
        return ``error`` saying what became of it."""
        try:
            sprite = (await self.list()).get(name)
            if sprite is None or not sprite.active:
                return error
            await self.kill(name)
        except WispError as undo:
            note = f"; and {name!r} may be left running ({undo.message}): check with list"
        else:
            note = f"; {name!r} had started all the same and was killed"
        error.args = (error.message + note,)
        return error

    async def resume(self, name: str, *, max_vms: int, stop: asyncio.Event | None = None) -> None:
        """Start the stopped sprite ``name`` again with its disk kept (``wisp start NAME``).

        Only where the backend announced ``resume``: elsewhere :class:`NotSupported`. The sprite
        must be in the fleet (:class:`SpriteNotFound`) and ``stopped``, and ``max_vms`` applies
        as to a new sprite, across processes too; a refused request runs nothing.
        """
        require_name(name)

        async def check(booked: frozenset[str]) -> None:
            fleet, capabilities = await asyncio.gather(self.list(), self.capabilities())
            self._check_resume(fleet, name, max_vms, capabilities, booked)

        async with self._ledger().booked(name, check):
            await self._call(["start", name], self.timeout, keeps_leftovers=True, stop=stop)

    async def kill(self, name: str) -> None:
        """Kill a sprite; one that is not in the fleet is :class:`SpriteNotFound`."""
        require_name(name)
        try:
            await self._call(["kill", name], self.timeout)
        except WispFailed:
            if await self._is_gone(name):
                raise SpriteNotFound(name) from None
            raise

    def attach_argv(self, name: str) -> list[str]:
        """The argv of ``wisp attach NAME``, to be run on a terminal by the caller."""
        require_name(name)
        return [*self.backend.argv, "attach", name]

    def spawn_attach(
        self, name: str, size: tuple[int, int] | None = None, detach_label: str = ""
    ) -> PtyChild:
        """Start ``wisp attach NAME`` on a new pty whose window is ``size`` (rows, columns).

        The child leads a new session (its process group id is its pid) with the pty as its
        controlling terminal, and runs without ``TMUX``/``TMUX_PANE``, with ``detach_label`` in
        ``WRECKIT_DETACH_LABEL``. The caller owns the returned master fd and process, and calls
        :meth:`PtyChild.ended` once it reaped it. Raises :class:`InvalidRequest` for a bad name
        and :class:`WispNotFound` when the program cannot be run.
        """
        argv = self.attach_argv(name)
        call = ORPHANS.begin()
        env = call.environment({DETACH_LABEL_ENV: detach_label} if detach_label else None)
        master_fd, slave_fd = pty.openpty()
        try:
            if size:
                fcntl.ioctl(slave_fd, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
            process = _launch(
                argv,
                stdin=slave_fd,
                stdout=slave_fd,
                stderr=slave_fd,
                start_new_session=True,
                preexec_fn=take_controlling_terminal,
                env={k: v for k, v in env.items() if k not in NESTING_VARIABLES},
            )
        except BaseException:
            os.close(master_fd)
            ORPHANS.end(call)
            raise
        finally:
            os.close(slave_fd)
        return PtyChild(process, master_fd, call)

    def _check_launch(self, fleet: Fleet, name: str, max_vms: int, booked: frozenset[str]) -> None:
        existing = fleet.get(name)
        if existing is not None and existing.state == "stopped":
            raise StoppedSprite(
                f"sprite {name!r} exists and is stopped: `wreckit-tui start {name}` without "
                "--memory and --cpus starts it again as it was"
            )
        if existing is not None or name in booked:
            raise InvalidRequest(f"a sprite named {name!r} already exists; choose another name")
        self._check_quota(fleet, max_vms, booked)

    def _check_resume(
        self,
        fleet: Fleet,
        name: str,
        max_vms: int,
        capabilities: frozenset[str],
        booked: frozenset[str],
    ) -> None:
        sprite = fleet.get(name)
        if sprite is None:
            raise SpriteNotFound(name)
        if sprite.state != "stopped" or name in booked:
            state = "starting" if name in booked else sanitize(sprite.state or "unknown")
            raise InvalidRequest(
                f"sprite {name!r} is {state}, not stopped: only a stopped sprite starts again"
            )
        if "resume" not in capabilities:
            raise NotSupported(
                f"this backend ({self.backend.name}) cannot start a stopped sprite again: it "
                f"does not announce resume (contract v1.1); kill {name!r} (its disk goes with "
                "it) and start a new one"
            )
        self._check_quota(fleet, max_vms, booked)

    def _check_quota(self, fleet: Fleet, max_vms: int, booked: frozenset[str]) -> None:
        """Sprites not stopped, plus starts in flight whose sprite is not yet listed as such."""
        problem = quota_problem(in_use(fleet, booked), max_vms)
        if problem:
            raise InvalidRequest(problem)

    async def _is_gone(self, name: str) -> bool:
        try:
            fleet = await self.list()
        except WispError:
            return False
        return name not in fleet.names()

    async def _call(
        self,
        args: list[str],
        timeout: float,
        *,
        keeps_leftovers: bool = False,
        stop: asyncio.Event | None = None,
    ) -> Completed:
        argv = [*self.backend.argv, *args]
        label = " ".join([self.backend.name, *args])
        done = await run_process(
            argv,
            label=label,
            timeout=timeout,
            grace=self.kill_grace,
            max_stdout=self.max_output_bytes,
            keeps_leftovers=keeps_leftovers,
            stop=stop,
        )
        if done.returncode != 0:
            raise WispFailed(label, done.returncode, done.stderr, self.backend.shell_command(args))
        return done


def parse_capabilities(stdout: bytes) -> frozenset[str]:
    """The known commands of a ``capabilities --json`` answer; anything malformed is none."""
    try:
        answer = json.loads(stdout.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return frozenset()
    commands = answer.get("commands") if isinstance(answer, dict) else None
    if not isinstance(commands, list):
        return frozenset()
    return frozenset(c for c in commands if isinstance(c, str)) & CAPABILITY_COMMANDS


# -- running one process ----------------------------------------------------------------------


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
        proc = _launch(
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


def _launch(argv: list[str], **popen: Any) -> subprocess.Popen:
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


def take_controlling_terminal() -> None:
    """In the child, after ``setsid``: make its stdin (the pty) the controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class _ProcessWatch:
    """Event-loop readers for one child's stdout, stderr and exit."""

    def __init__(self, proc: subprocess.Popen, max_stdout: int, *, gentle: bool = False) -> None:
        self.proc = proc
        self.gentle = gentle  # cancelled, it gets SIGTERM and is left to finish on its own
        self.max_stdout = max_stdout
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
        buffer += chunk
        if buffer is self.stdout and len(buffer) > self.max_stdout:
            self.overflow = True
            self.settled.set()
            self._close_pipe(fd)
        elif buffer is self.stderr and len(buffer) > 2 * STDERR_KEEP:
            del buffer[:-STDERR_KEEP]

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
