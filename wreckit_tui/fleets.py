"""Several sprite managers as one (the ``[[backends]]`` setting): :class:`Fleets`.

A sprite is ``BACKEND/NAME``; a bare ``NAME`` names the one sprite of that name across the
backends, and is refused (exit 2) where two have it. Each backend is listed on its own: one
that fails or hangs leaves the others' rows as fresh as ever. From the command line a list
waits for every backend (each within ``list_timeout``) and keeps the failures apart
(:attr:`Fleets.failures`); on the dashboard (:meth:`Fleets.go_live`) it waits a moment at most;
what a backend answers later shows at the next poll, or at once when it is its first answer or
it failed or recovered; a failed backend's last good rows stay, marked ``stale``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import is_
from typing import TYPE_CHECKING

from wreckit_tui.adapter import Wisp
from wreckit_tui.backend_api import SpriteManager, open_backend
from wreckit_tui.backends import Backend, argv_backend, builtin_backend, resolve_backend
from wreckit_tui.contract import require_name
from wreckit_tui.errors import InvalidRequest, SpriteNotFound, WispError, WreckitError
from wreckit_tui.models import Fleet

if TYPE_CHECKING:
    from wreckit_tui.backend_settings import BackendSettings
    from wreckit_tui.config import Config
    from wreckit_tui.processes import ExecResult, PtyChild

SEPARATOR = "/"
LIVE_WAIT = 0.5
"""On the dashboard, a list waits this long for the backends before it shows what came."""
DUE_SHARE = 0.75
"""On the dashboard, a backend is listed again once this share of ``poll_interval`` passed."""


def split(name: str) -> tuple[str | None, str]:
    """``("gpu-box", "x")`` for ``gpu-box/x``; ``(None, "x")`` for a bare ``x``."""
    backend, sep, bare = name.partition(SEPARATOR)
    return (backend, bare) if sep else (None, name)


def qualify(fleet: Fleet, backend: str, *, stale: bool = False) -> Fleet:
    """``fleet`` with each sprite named ``backend/NAME`` and its ``backend`` set."""
    prefix = backend + SEPARATOR
    sprites = tuple(
        sprite.model_copy(update={"name": prefix + sprite.name, "backend": backend, "stale": stale})
        for sprite in fleet.sprites
    )
    warnings = tuple(f"{backend}: {warning}" for warning in fleet.warnings)
    return fleet.model_copy(update={"sprites": sprites, "warnings": warnings})


def public_name(name: str) -> dict[str, str]:
    """``{"name": NAME}``, with ``"backend"`` after it for ``BACKEND/NAME`` (``--json``)."""
    backend, bare = split(name)
    return {"name": bare} if backend is None else {"name": bare, "backend": backend}


def named(error: WreckitError, backend: str) -> WreckitError:
    """``error`` with its message prefixed by the backend's name (once)."""
    if not error.message.startswith(f"{backend}: "):
        error.args = (f"{backend}: {error.message}",)
    return error


@dataclass(eq=False)
class Member:
    """One backend of the fleet, and what its last list gave."""

    name: str
    manager: SpriteManager
    max_vms: int
    fleet: Fleet | None = None
    """The last good list, qualified (stale sprites marked so after a failure)."""
    error: WreckitError | None = None
    """Why the last list failed, or ``None``."""
    listed: Fleet | None = field(default=None, repr=False)
    """What the backend answered for :attr:`fleet`, while that is fresh (not staled)."""
    task: asyncio.Task[Fleet] | None = field(default=None, repr=False)
    ended: float = float("-inf")
    dirty: bool = True


class Fleets:
    """Every configured backend behind one :class:`SpriteManager`, sprites named
    ``BACKEND/NAME``. ``failures``: the backends whose last list failed, with their errors."""

    def __init__(self, members: list[Member], interval: float = 2.0) -> None:
        self.members = members
        self.by_name = {member.name: member for member in members}
        self.interval = interval
        self.live = False
        self.on_answer: Callable[[], object] | None = None
        names = ", ".join(member.name for member in members)
        local = all(member.manager.backend.local for member in members)
        self.backend = Backend(argv=(), label=f"backends {names}", name="backend", local=local)
        self._waiting = False
        """Whether a list waits for the backends now (it shows what they answer)."""
        self._merged: tuple[list[Fleet], Fleet] | None = None
        """The parts last merged and their merge."""

    @classmethod
    def from_config(cls, config: Config) -> Fleets:
        members = [
            Member(entry.name, open_member(config, entry), entry.max_vms or config.max_vms)
            for entry in config.backends
        ]
        return cls(members, config.poll_interval)

    @property
    def failures(self) -> dict[str, WreckitError]:
        return {m.name: m.error for m in self.members if m.error is not None}

    def go_live(self, on_answer: Callable[[], object]) -> None:
        """Dashboard mode: lists wait :data:`LIVE_WAIT` at most, and ``on_answer`` is called
        when a backend answers after that with news: its first answer, a failure, a recovery."""
        self.live, self.on_answer = True, on_answer

    def keep_helper(self) -> None:
        """Each backend keeps what makes its repeated calls cheap."""
        for member in self.members:
            member.manager.keep_helper()

    def close(self) -> None:
        """Each backend ends what it kept."""
        for member in self.members:
            member.manager.close()

    def member(self, name: str) -> Member:
        found = self.by_name.get(name)
        if found is None:
            known = ", ".join(self.by_name)
            raise InvalidRequest(f"no backend named {name!r}: the backends are {known}")
        return found

    # -- listing ---------------------------------------------------------------------------

    async def list(self) -> Fleet:
        """The sprites of every backend that answered, in the configured order. Where none
        did, the (first) error; the others are in :attr:`failures`."""
        now = time.monotonic()
        for member in self.members:
            due = member.dirty or now - member.ended >= self.interval * DUE_SHARE
            if member.task is None and (due or not self.live):
                member.dirty = False
                member.task = asyncio.ensure_future(self._list_one(member))
        tasks = [member.task for member in self.members if member.task is not None]
        if tasks:
            self._waiting = True
            try:
                await asyncio.wait(tasks, timeout=LIVE_WAIT if self.live else None)
            except asyncio.CancelledError:  # quitting: no backend is listed any longer
                for task in tasks:
                    task.cancel()
                raise
            finally:
                self._waiting = False
        if all(member.error is not None for member in self.members):
            raise self._all_failed()
        return self.merged()

    async def _list_one(self, member: Member) -> Fleet:
        before = (member.fleet is None, member.error is None)
        try:
            listed = await member.manager.list()
            if listed is not member.listed or member.fleet is None:  # else: the same answer
                member.fleet = await asyncio.to_thread(qualify, listed, member.name)
                member.listed = listed
            member.error = None
        except WreckitError as exc:
            member.error, member.listed = named(exc, member.name), None
            fleet = member.fleet
            if fleet is not None and self.live and fleet.sprites and not fleet.sprites[0].stale:
                member.fleet = await asyncio.to_thread(_staled, fleet)
        finally:
            member.task, member.ended = None, time.monotonic()
        news = before != (member.fleet is None, member.error is None)
        if self.live and news and not self._waiting and self.on_answer is not None:
            self.on_answer()  # its first rows, or it failed or recovered: shown at once
        return member.fleet or Fleet()

    def merged(self) -> Fleet:
        """One fleet of the backends' last lists (on the command line only fresh ones); the
        same object as last time when each of them is."""
        parts = [
            m.fleet for m in self.members if m.fleet is not None and (self.live or m.error is None)
        ]
        last = self._merged
        if last is not None and len(last[0]) == len(parts) and all(map(is_, last[0], parts)):
            return last[1]
        sprites = tuple(sprite for part in parts for sprite in part.sprites)
        merged = Fleet(
            sprites=sprites,
            warnings=tuple(warning for part in parts for warning in part.warnings),
            more_warnings=sum(part.more_warnings for part in parts),
            usage_reported=all(part.usage_reported for part in parts),
        )
        self._merged = (parts, merged)
        return merged

    def _all_failed(self) -> WreckitError:
        errors = [m.error for m in self.members if m.error is not None]
        if len(errors) == 1:
            return errors[0]
        failed = WispError("; ".join(error.message for error in errors))
        codes = {error.exit_code for error in errors}
        failed.exit_code = codes.pop() if len(codes) == 1 else WispError.exit_code
        return failed

    # -- names -----------------------------------------------------------------------------

    async def qualified(self, name: str) -> str:
        """``BACKEND/NAME`` for ``name``: checked as it is when it names its backend, else the
        one backend that has a sprite ``name`` (none: :class:`SpriteNotFound`; two or more:
        :class:`InvalidRequest` naming them)."""
        backend, bare = split(name)
        require_name(bare)
        if backend is not None:
            self.member(backend)
            return name
        lists = await asyncio.gather(
            *(m.manager.list() for m in self.members), return_exceptions=True
        )
        hits = [
            f"{m.name}{SEPARATOR}{bare}"
            for m, got in zip(self.members, lists, strict=True)
            if isinstance(got, Fleet) and got.get(bare) is not None
        ]
        if len(hits) > 1:
            raise InvalidRequest(
                f"sprite {bare!r} is on {len(hits)} backends ({', '.join(hits)}): name one "
                "of them as BACKEND/NAME"
            )
        for member, got in zip(self.members, lists, strict=True):
            if isinstance(got, WreckitError):
                error = named(got, member.name)
                error.args = (f"{error.message}; name the sprite as BACKEND/NAME",)
                raise error
            if isinstance(got, BaseException):
                raise got
        if not hits:
            raise SpriteNotFound(bare)
        return hits[0]

    def free_name(self, fleet: Fleet) -> str:
        """A free ``sprite-N`` on the first backend, as ``BACKEND/NAME``."""
        from wreckit_tui.names import free_name

        first = self.members[0].name + SEPARATOR
        names = {s.name.removeprefix(first) for s in fleet.sprites if s.name.startswith(first)}
        return first + free_name(names)

    def start_name(self, name: str, backend: str | None = None) -> str:
        """Where a new sprite goes: ``BACKEND/NAME``, else ``backend`` (``--backend``), else
        the first backend."""
        named_backend, bare = split(name)
        chosen = named_backend or backend or self.members[0].name
        if named_backend and backend and named_backend != backend:
            raise InvalidRequest(f"{name!r} names backend {named_backend!r}, not {backend!r}")
        require_name(bare)
        self.member(chosen)
        return f"{chosen}{SEPARATOR}{bare}"

    def _route(self, name: str) -> tuple[Member, str]:
        """The backend of ``name`` and its name there; a bare name by the last lists."""
        backend, bare = split(name)
        if backend is not None:
            return self.member(backend), bare
        holders = [m for m in self.members if m.fleet and m.fleet.get(m.name + SEPARATOR + bare)]
        if len(holders) != 1:
            example = (holders or self.members)[0].name
            raise InvalidRequest(f"name the sprite as BACKEND/NAME, such as {example}/{bare}")
        return holders[0], bare

    # -- what a backend does ---------------------------------------------------------------

    async def version(self) -> str:
        async def one(member: Member) -> str:
            try:
                return f"{member.name} {await member.manager.version()}"
            except WreckitError:
                return f"{member.name} ?"

        return "(" + ", ".join(await asyncio.gather(*map(one, self.members))) + ")"

    async def capabilities(self) -> frozenset[str]:
        """What any backend offers (each call still asks its own backend)."""
        answers = await asyncio.gather(*(m.manager.capabilities() for m in self.members))
        return frozenset().union(*answers)

    def known_capabilities(self) -> frozenset[str] | None:
        known = [m.manager.known_capabilities() for m in self.members]
        got = [answer for answer in known if answer is not None]
        return frozenset().union(*got) if got else None

    async def _on(
        self, name: str, call: Callable[[Member, str], object], *, new: bool = False
    ) -> object:
        """``call`` on the backend of ``name``: a bare name is that of the one backend that
        has it, or (``new``, a start) the first backend."""
        if new:
            name = self.start_name(name)
        elif split(name)[0] is None:
            name = await self.qualified(name)
        member, bare = self._route(name)
        member.dirty = True
        try:
            return await call(member, bare)  # type: ignore[misc]
        except WreckitError as exc:
            raise named(exc, member.name) from None

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
        """Start ``name`` on its backend, under that backend's own ``max_vms``."""
        await self._on(
            name,
            lambda m, bare: m.manager.start(
                bare, memory, cpus, max_vms=m.max_vms, command=command, stop=stop
            ),
            new=True,
        )

    async def resume(self, name: str, *, max_vms: int, stop: asyncio.Event | None = None) -> None:
        await self._on(name, lambda m, bare: m.manager.resume(bare, max_vms=m.max_vms, stop=stop))

    async def kill(self, name: str) -> None:
        await self._on(name, lambda m, bare: m.manager.kill(bare))

    async def exec(
        self,
        name: str,
        argv: list[str],
        *,
        stdin: bytes = b"",
        timeout: float | None = None,
        max_output: int,
    ) -> ExecResult:
        return await self._on(  # type: ignore[return-value]
            name,
            lambda m, bare: m.manager.exec(
                bare, argv, stdin=stdin, timeout=timeout, max_output=max_output
            ),
        )

    async def capture(self, name: str, *, lines: int | None = None, ansi: bool = False) -> str:
        return await self._on(  # type: ignore[return-value]
            name, lambda m, bare: m.manager.capture(bare, lines=lines, ansi=ansi)
        )

    async def send(self, name: str, text: str, *, enter: bool = False) -> None:
        await self._on(name, lambda m, bare: m.manager.send(bare, text, enter=enter))

    def spawn_attach(
        self, name: str, size: tuple[int, int] | None = None, detach_label: str = ""
    ) -> PtyChild:
        member, bare = self._route(name)
        return member.manager.spawn_attach(bare, size, detach_label)


def open_member(config: Config, entry: BackendSettings) -> SpriteManager:
    """The sprite manager of one ``[[backends]]`` entry; the global settings (timeouts,
    limits) apply to it as to a lone backend."""
    if entry.kind == "sprites":
        update = {
            "backend": "sprites",
            "sprites_org": entry.sprites_org,
            "sprites_token_file": entry.sprites_token_file,
            "sprite_path": entry.sprite_path or config.sprite_path,
            "backends": (),
        }
        return open_backend(config.model_copy(update=update))
    wisp = Wisp.from_config(config)
    argv = entry.argv
    if entry.kind == "builtin" or argv is None:
        wisp.backend = builtin_backend() if entry.kind == "builtin" else resolve_backend(None)
    else:
        wisp.backend = argv_backend(argv)
    return wisp


def _staled(fleet: Fleet) -> Fleet:
    """``fleet`` (qualified) with every sprite marked stale."""
    sprites = tuple(sprite.model_copy(update={"stale": True}) for sprite in fleet.sprites)
    return fleet.model_copy(update={"sprites": sprites})
