"""The wisp adapter: the one layer that speaks to a sprite manager through the wisp CLI contract.

:class:`Wisp` turns each command (``--version``, ``capabilities``, ``list``, ``start``, ``kill``,
``attach``, and where announced ``exec``, ``capture``, ``send``) into a call of the backend that
:mod:`wreckit_tui.backends` resolved, checks a request (name, size, the ``max_vms`` quota across
processes) before it runs anything, and turns what a call printed or how it failed into models
and errors. How a call runs (process group, timeouts,
output cap, exit watch, orphans) is :mod:`wreckit_tui.processes`; this module starts no process
itself. Only ``wisp attach`` is interactive: :meth:`Wisp.spawn_attach` starts it on a pty of its
own for :mod:`wreckit_tui.attach`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wreckit_tui.backends import HELPER_COMMANDS, Backend, resolve_backend
from wreckit_tui.contract import NESTING_VARIABLES, require_argv, require_name
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
from wreckit_tui.helper import Helper
from wreckit_tui.models import (
    DEFAULT_MAX_SPRITES,
    Fleet,
    in_use,
    parse_capabilities,
    parse_fleet,
    quota_problem,
    reparses_alike,
    validate_request,
)
from wreckit_tui.processes import (
    Completed,
    ExecResult,
    PtyChild,
    run_exec,
    run_process,
    spawn_on_pty,
)
from wreckit_tui.reservations import Ledger
from wreckit_tui.text import sanitize, sanitize_screen

__all__ = ["ExecResult", "Wisp"]

if TYPE_CHECKING:
    from wreckit_tui.config import Config

DETACH_LABEL_ENV = "WRECKIT_DETACH_LABEL"
"""Set for ``wisp attach`` to the detach key's name (``Ctrl+]``), for a backend to show it."""
EXEC_FAILED = 125
"""``exec``'s status when the backend itself could not run the command."""
MAX_CAPTURE_LINES = 100_000
_VERSION_RE = re.compile(r"\bv?(\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?)")


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
    helper: Helper | None = field(default=None, repr=False)
    """The backend's long-lived helper for read-only calls, once :meth:`keep_helper` asked."""
    _last_list: tuple[bytes, int, Fleet] | None = field(default=None, repr=False)
    """The last ``list`` output, ``max_sprites`` and fleet, while that output parses alike."""

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

    def keep_helper(self) -> None:
        """Answer ``list``, ``capture``, ``capabilities`` and ``--version`` through one
        long-lived helper process where the backend offers one (the built-in provider): for a
        program that calls them again and again (the dashboard, the MCP server). :meth:`close`
        ends it."""
        if self.helper is None and self.backend.helper_argv:
            self.helper = Helper(self.backend.helper_argv)

    def close(self) -> None:
        """End the helper, if one runs."""
        if self.helper is not None:
            self.helper.close()

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

    def known_capabilities(self) -> frozenset[str] | None:
        """The capabilities if the answer is in, else ``None`` (and they are being asked):
        for a poll, which never waits for them."""
        task = self._capabilities
        if task is None or task.cancelled():
            task = self._capabilities = asyncio.ensure_future(self._ask_capabilities())
        if task.done() and not task.cancelled() and task.exception() is None:
            return task.result()
        return None

    async def _ask_capabilities(self) -> frozenset[str]:
        """A backend that refuses the call speaks plain v1 for good; one that timed out or was
        interrupted is asked again next time. What the backend offers may be known already."""
        if self.backend.capabilities is not None:
            return self.backend.capabilities
        try:
            done = await self._call(["capabilities", "--json"], self.list_timeout)
        except (WispTimeout, WispInterrupted):
            self._capabilities = None
            return frozenset()
        except WispError:
            return frozenset()
        return parse_capabilities(done.stdout)

    async def list(self) -> Fleet:
        """The fleet as ``wisp list --json`` reports it; output byte for byte that of the last
        list (and timeless, :func:`reparses_alike`) is the last fleet, the same object."""
        done = await self._call(["list", "--json"], self.list_timeout)
        last = self._last_list
        if last is not None and last[1] == self.max_sprites and last[0] == done.stdout:
            return last[2]
        fleet = await asyncio.to_thread(parse_fleet, done.stdout, max_sprites=self.max_sprites)
        alike = reparses_alike(fleet)
        self._last_list = (bytes(done.stdout), self.max_sprites, fleet) if alike else None
        return fleet

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
        command: list[str] | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Start a sprite after checking the request, the name and the ``max_vms`` quota;
        with ``command``, running it as the sprite's main program (``start-command``).

        The quota is checked against a fresh list plus the starts in flight in every process of
        this user (:mod:`wreckit_tui.reservations`), so no two starts anywhere pass it together;
        a refused request runs no start. Setting ``stop`` stops the start (SIGTERM to its group,
        then SIGKILL): it either finished by then (and succeeded) or raises
        :class:`WispInterrupted`. A start that fails, times out or is stopped leaves no sprite
        running: one that shows up anyway is killed, and the error says so.
        """
        cpus = validate_request(name, memory, cpus)
        if command is not None:
            require_argv(command, "the command")
            await self._require("start-command", "start with a command")

        async def check(booked: frozenset[str]) -> None:
            self._check_launch(await self.list(), name, max_vms, booked)

        async with self._ledger().booked(name, check):
            argv = ["start", name, "--memory", memory, "--cpus", str(cpus)]
            argv += ["--", *command] if command is not None else []
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
        await self._call_on(name, ["kill", name])

    async def exec(
        self,
        name: str,
        argv: list[str],
        *,
        stdin: bytes = b"",
        timeout: float | None = None,
        max_output: int,
    ) -> ExecResult:
        """Run ``argv`` in the sprite (``wisp exec NAME -- ARGV``) with ``stdin`` as its input.

        Its exit status, whatever it is, is the result; each output is kept up to
        ``max_output`` bytes, with a flag when cut. The backend's own failures (exit 125, a
        sprite not found) are errors; past ``timeout`` (default: the configured timeout) the
        call's process group is killed and :class:`WispTimeout` raised.
        """
        require_name(name)
        require_argv(argv, "exec's command")
        await self._require("exec")
        args = ["exec", name, "--", *argv]
        done = await run_exec(
            [*self.backend.argv, *args],
            label=self._label(args[:2]),
            stdin=stdin,
            timeout=self.timeout if timeout is None else timeout,
            grace=self.kill_grace,
            max_output=max_output,
        )
        if done.returncode == EXEC_FAILED:
            failed = WispFailed(self._label(args[:2]), done.returncode, done.stderr)
            raise SpriteNotFound(name) if await self._is_gone(name) else failed
        return done

    async def capture(self, name: str, *, lines: int | None = None, ansi: bool = False) -> str:
        """The text on the sprite's main terminal, its last ``lines`` lines (default: a
        screen), sanitized; with ``ansi`` its colour (SGR) sequences are kept, nothing else."""
        require_name(name)
        if lines is not None and not 1 <= lines <= MAX_CAPTURE_LINES:
            raise InvalidRequest(f"invalid lines {lines}: use 1 to {MAX_CAPTURE_LINES}")
        await self._require("capture")
        args = ["capture", name]
        args += ["--lines", str(lines)] if lines is not None else []
        done = await self._call_on(name, args + (["--ansi"] if ansi else []))
        return sanitize_screen(bytes(done.stdout).decode("utf-8", errors="replace"), sgr=ansi)

    async def send(self, name: str, text: str, *, enter: bool = False) -> None:
        """Type ``text`` into the sprite's main terminal as literal keys, then Enter with
        ``enter`` (``wisp send NAME [--enter] -- TEXT``)."""
        require_name(name)
        if "\0" in text:
            raise InvalidRequest("the text to send cannot hold a NUL character")
        await self._require("send")
        await self._call_on(name, ["send", name, *(["--enter"] if enter else []), "--", text])

    async def _require(self, command: str, what: str = "") -> None:
        """Raise :class:`NotSupported` unless the backend announced ``command``."""
        if command not in await self.capabilities():
            raise NotSupported(
                f"{what or command} is not supported by this backend ({self.backend.label}): "
                f"it does not announce {command} (wisp contract v1.1)"
            )

    async def _call_on(self, name: str, args: list[str]) -> Completed:
        """Run a command on sprite ``name``; a failure because it is gone is SpriteNotFound."""
        try:
            return await self._call(args, self.timeout)
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
        return spawn_on_pty(
            self.attach_argv(name),
            size,
            extra_env={DETACH_LABEL_ENV: detach_label} if detach_label else None,
            drop_env=NESTING_VARIABLES,
        )

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
        label = self._label(args)
        done = None
        if self.helper is not None and args[0] in HELPER_COMMANDS:
            done = await self.helper.call(
                args, label=label, timeout=timeout, max_stdout=self.max_output_bytes
            )
        done = done or await run_process(
            [*self.backend.argv, *args],
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

    def _label(self, args: list[str]) -> str:
        return " ".join([self.backend.name, *args])
