"""Fly.io Sprites as a backend: the fleet from its REST API, attach and exec through ``sprite``.

:class:`SpritesBackend` is a :class:`~wreckit_tui.backend_api.SpriteManager`. It lists, creates
and deletes through :mod:`wreckit_tui.sprites_api`; ``attach`` runs ``sprite console -s NAME``
on a pty and ``exec`` runs ``sprite exec -s NAME -- CMD`` (with ``-o ORG`` when ``sprites_org``
is set), each given the token in its environment (``SPRITE_TOKEN``), never on its argv. Sprites
reports no CPU or memory in use, and has no screen to capture or type into: those are unknown,
or not supported by this backend.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wreckit_tui.backends import Backend
from wreckit_tui.contract import NESTING_VARIABLES, require_argv, require_name, size_to_mib
from wreckit_tui.errors import (
    ConfigError,
    InvalidRequest,
    NotSupported,
    StoppedSprite,
    WispError,
    WispInterrupted,
    WispNotFound,
)
from wreckit_tui.models import Fleet, in_use, parse_fleet, quota_problem, validate_request
from wreckit_tui.processes import ExecResult, PtyChild, run_exec, spawn_on_pty
from wreckit_tui.reservations import Ledger
from wreckit_tui.sprites_api import Listing, SpritesAPI, SpritesAuthError
from wreckit_tui.text import sanitize

if TYPE_CHECKING:
    from wreckit_tui.config import Config

DEFAULT_API_URL = "https://api.sprites.dev"
API_URL_ENV = "SPRITES_API_URL"
TOKEN_ENV = "SPRITE_TOKEN"
DETACH_LABEL_ENV = "WRECKIT_DETACH_LABEL"
MAX_TOKEN_BYTES = 64 * 1024
CAPABILITIES = frozenset({"exec"})
_RUNNING = ("running", "warm")
_TOKEN_RE = re.compile(r"[!-~]{1,4096}")


class SpriteCliMissing(WispError):
    """The official ``sprite`` CLI (for attach and exec) cannot be run."""

    exit_code = 3

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"the sprite CLI {reason}: tried {path!r}. Install it (sprites.dev) and put it on "
            "PATH, or set sprite_path"
        )


@dataclass
class SpritesBackend:
    """The sprites of one Fly.io Sprites organisation."""

    backend: Backend
    api_url: str = DEFAULT_API_URL
    org: str | None = None
    token_file: str | None = None
    timeout: float = 300
    list_timeout: float = 10
    kill_grace: float = 5
    max_output_bytes: int = 16 * 1024 * 1024
    max_sprites: int = 20_000
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    _api: SpritesAPI | None = field(default=None, repr=False)
    _ledger: Ledger | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: Config) -> SpritesBackend:
        api_url = os.environ.get(API_URL_ENV) or DEFAULT_API_URL
        where = _host_of(api_url)
        org = config.sprites_org
        label = f"Fly.io Sprites {where}" + (f" org {org}" if org else "")
        return cls(
            backend=Backend(argv=(config.sprite_path,), label=label, name="sprite"),
            api_url=api_url,
            org=org,
            token_file=config.sprites_token_file,
            timeout=config.timeout,
            list_timeout=config.list_timeout,
            kill_grace=config.kill_grace,
            max_output_bytes=config.max_output_bytes,
            max_sprites=config.max_sprites,
        )

    # -- the token and the API ----------------------------------------------------------------

    def token(self) -> str:
        """``SPRITE_TOKEN``, else the first line of ``sprites_token_file``; printable ASCII
        (anything else could not go in a header, and the error would quote it)."""
        token = self._read_token()
        if not _TOKEN_RE.fullmatch(token):
            raise SpritesAuthError(
                f"the Sprites API token (from {TOKEN_ENV} or sprites_token_file) holds "
                "characters a token cannot have: spaces, control or non-ASCII characters"
            )
        return token

    def _read_token(self) -> str:
        token = self.environ.get(TOKEN_ENV, "").strip()
        if token:
            return token
        if not self.token_file:
            raise SpritesAuthError(
                f"no Sprites API token: set {TOKEN_ENV} or sprites_token_file "
                "(a file holding the token from sprites.dev/account)"
            )
        path = os.path.expanduser(self.token_file)
        try:
            with open(path, "rb") as file:
                raw = file.read(MAX_TOKEN_BYTES + 1)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SpritesAuthError(f"sprites_token_file cannot be read: {reason}") from None
        lines = raw.decode("utf-8", errors="replace").strip().splitlines()
        if len(raw) > MAX_TOKEN_BYTES or not lines or not lines[0].strip():
            raise SpritesAuthError("sprites_token_file holds no token (one line, from sprites.dev)")
        return lines[0].strip()

    def api(self) -> SpritesAPI:
        if self._api is None:
            self._api = SpritesAPI(
                self.api_url,
                self.token(),
                list_timeout=self.list_timeout,
                timeout=self.timeout,
                max_output_bytes=self.max_output_bytes,
                max_sprites=self.max_sprites,
            )
        return self._api

    # -- what it is -----------------------------------------------------------------------------

    async def version(self) -> str:
        return "API v1"

    async def capabilities(self) -> frozenset[str]:
        return CAPABILITIES

    def known_capabilities(self) -> frozenset[str] | None:
        return CAPABILITIES

    # -- listing --------------------------------------------------------------------------------

    async def list(self) -> Fleet:
        """Every page of the org's sprites, in the API's order, as one fleet."""
        listing = await self.api().list_all()
        return await asyncio.to_thread(fleet_of, listing, self.max_sprites)

    # -- operations -----------------------------------------------------------------------------

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
        """Create sprite ``name`` (``POST /v1/sprites``) after the checks every backend makes.

        ``memory`` and ``cpus`` go as the SDK sends them (``config.ram_mb``, ``config.cpus``);
        the API may size the sprite its own way, and the table shows what it reports.
        """
        cpus = validate_request(name, memory, cpus)
        if command is not None:
            raise self._unsupported("start with a command", "its sprites start with a shell")

        async def check(booked: frozenset[str]) -> None:
            _check_launch(await self.list(), name, max_vms, booked)

        if self._ledger is None:
            self._ledger = Ledger("\0".join(["sprites", self.api_url, self.org or ""]))
        payload = {
            "name": name,
            "url_settings": {"auth": "sprite"},
            "config": {"ram_mb": int(size_to_mib(memory)), "cpus": cpus},
        }
        async with self._ledger.booked(name, check):
            await self._create(name, payload, stop)

    async def _create(self, name: str, payload: dict[str, Any], stop: asyncio.Event | None) -> None:
        """The POST, stopped when ``stop`` is set; a create that failed or was stopped leaves no
        sprite behind (one that shows up anyway is deleted)."""
        creating = asyncio.ensure_future(self.api().create(payload))
        stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
        try:
            await asyncio.wait(
                [t for t in (creating, stopping) if t], return_when="FIRST_COMPLETED"
            )
        finally:
            if stopping is not None:
                stopping.cancel()
        if creating.done():
            try:
                creating.result()
                return
            except WispError as exc:
                raise await self._undo(name, exc) from None
        creating.cancel()
        raise await self._undo(name, WispInterrupted("Sprites API POST /v1/sprites")) from None

    async def _undo(self, name: str, error: WispError) -> WispError:
        try:
            if (await self.list()).get(name) is None:
                return error
            await self.api().delete(name)
        except WispError as undo:
            note = f"; and {name!r} may be left ({undo.message}): check with list"
        else:
            note = f"; {name!r} had been created all the same and was deleted"
        error.args = (error.message + note,)
        return error

    async def resume(self, name: str, *, max_vms: int, stop: asyncio.Event | None = None) -> None:
        require_name(name)
        raise NotSupported(
            f"this backend ({self.backend.label}) cannot start a stopped sprite again: a cold "
            f"sprite wakes by itself when used (wreckit-tui attach {name}, or exec)"
        )

    async def kill(self, name: str) -> None:
        """``DELETE /v1/sprites/{name}``: the sprite and its disk go."""
        require_name(name)
        await self.api().delete(name)

    async def exec(
        self,
        name: str,
        argv: list[str],
        *,
        stdin: bytes = b"",
        timeout: float | None = None,
        max_output: int,
    ) -> ExecResult:
        """``sprite exec -s NAME -- ARGV``: its status, whatever it is, is the result."""
        require_name(name)
        require_argv(argv, "exec's command")
        await self.api().get(name)  # a sprite not found is exit 5, not the CLI's own status
        args = ["exec", "-s", name, "--", *argv]
        return await self._cli(
            lambda: run_exec(
                self._argv(args),
                label=f"sprite exec -s {name}",
                stdin=stdin,
                timeout=self.timeout if timeout is None else timeout,
                grace=self.kill_grace,
                max_output=max_output,
                extra_env={TOKEN_ENV: self.token()},
            )
        )

    async def capture(self, name: str, *, lines: int | None = None, ansi: bool = False) -> str:
        require_name(name)
        raise self._unsupported("capture", "its API has no screen to read")

    async def send(self, name: str, text: str, *, enter: bool = False) -> None:
        require_name(name)
        raise self._unsupported("send", "its API has no terminal to type into")

    def spawn_attach(
        self, name: str, size: tuple[int, int] | None = None, detach_label: str = ""
    ) -> PtyChild:
        """``sprite console -s NAME`` on a new pty, the token in its environment."""
        require_name(name)
        env = {TOKEN_ENV: self.token()} | ({DETACH_LABEL_ENV: detach_label} if detach_label else {})
        argv = self._argv(["console", "-s", name])
        try:
            return spawn_on_pty(argv, size, extra_env=env, drop_env=NESTING_VARIABLES)
        except WispNotFound as exc:
            raise SpriteCliMissing(argv[0], exc.reason) from None

    # -- helpers --------------------------------------------------------------------------------

    def _argv(self, args: list[str]) -> list[str]:
        org = ["-o", self.org] if self.org else []
        return [*self.backend.argv, *org, *args]

    async def _cli(self, run: Callable[[], Any]) -> Any:
        try:
            return await run()
        except WispNotFound as exc:
            raise SpriteCliMissing(exc.path, exc.reason) from None

    def _unsupported(self, what: str, why: str) -> NotSupported:
        return NotSupported(
            f"{what} is not supported by this backend ({self.backend.label}): {why}"
        )


def _host_of(api_url: str) -> str:
    """``host[:port]`` of an http(s) URL; anything else is :class:`ConfigError`."""
    try:
        parts = urlsplit(api_url)
        valid = parts.scheme in ("http", "https") and parts.hostname and parts.port != 0
    except ValueError:  # a bad IPv6 address, a port out of range
        valid = False
    if not valid or any(ord(char) < 33 for char in api_url):
        raise ConfigError(
            f"{API_URL_ENV} {sanitize(api_url)[:80]!r} is not an http(s) URL such as "
            f"{DEFAULT_API_URL}"
        )
    return parts.netloc


def _check_launch(fleet: Fleet, name: str, max_vms: int, booked: frozenset[str]) -> None:
    existing = fleet.get(name)
    if existing is not None and existing.state == "stopped":
        raise StoppedSprite(
            f"sprite {name!r} exists and is stopped (cold): it wakes by itself when used"
        )
    if existing is not None or name in booked:
        raise InvalidRequest(f"a sprite named {name!r} already exists; choose another name")
    problem = quota_problem(in_use(fleet, booked), max_vms)
    if problem:
        raise InvalidRequest(problem)


def fleet_of(listing: Listing, max_sprites: int, now: datetime | None = None) -> Fleet:
    """The API's sprite objects as a :class:`Fleet` (parsed as any backend's list is), with the
    org counters as its VM quota and CPU and memory in use marked as not reported."""
    now = now or datetime.now(UTC)
    wires, no_uptime = [], set()
    for item in listing.items:
        wire = _wire(item, now)
        if isinstance(wire, dict) and wire.get("status") in _RUNNING:
            name = wire.get("name")
            if isinstance(name, str) and "uptime_seconds" not in wire:
                no_uptime.add(name)
        wires.append(wire)
    fleet = parse_fleet(json.dumps({"sprites": wires}).encode(), now, max_sprites=max_sprites)
    sprites = tuple(
        s.model_copy(update={"uptime_seconds": None}) if s.name in no_uptime else s
        for s in fleet.sprites
    )
    return fleet.model_copy(
        update={"sprites": sprites, "org_vms": org_vms(listing.counters), "usage_reported": False}
    )


def _wire(item: Any, now: datetime) -> Any:
    """One sprite object in the shape of the wisp contract's list (others pass as they are, to
    be warned about): ``config.cpus`` and ``config.ram_mb`` as ``cpus`` and ``memory``, uptime
    from when it last started, where the API says."""
    if not isinstance(item, dict):
        return item
    wire = {key: item[key] for key in ("name", "id", "status", "url", "created_at") if key in item}
    config = item.get("config")
    if isinstance(config, dict):
        wire |= {"cpus": config["cpus"]} if "cpus" in config else {}
        wire |= {"memory": config["ram_mb"]} if "ram_mb" in config else {}
    started = item.get("last_started_at") or item.get("last_running_at")
    if wire.get("status") in _RUNNING and isinstance(started, str):
        try:
            moment = datetime.fromisoformat(started)
        except ValueError:
            return wire
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        wire["uptime_seconds"] = max((now - moment).total_seconds(), 0.0)
    return wire


def org_vms(counters: dict[str, int]) -> tuple[int, int] | None:
    """Sprites running or warm, and the org's limit of them, when the API gave both."""
    limits = [counters[key] for key in ("running_limit", "warm_limit") if key in counters]
    counts = [counters[key] for key in ("running", "warm") if key in counters]
    if not limits or not counts:
        return None
    return sum(counts), sum(limits)
