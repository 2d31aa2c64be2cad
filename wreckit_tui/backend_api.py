"""The one interface every sprite manager offers, and which one the settings choose.

:class:`SpriteManager` is what the dashboard, the headless output, the CLI and the MCP server
call; nothing above the adapter layer knows which kind it talks to. Two kinds stand behind it:
:class:`wreckit_tui.adapter.Wisp` (a wisp-compatible program, the built-in provider among them)
and :class:`wreckit_tui.sprites_backend.SpritesBackend` (Fly.io Sprites over its REST API). The
Sprites kind is imported only when chosen, so the default start-up never pays for its HTTP
client.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from wreckit_tui.backends import Backend
    from wreckit_tui.config import Config
    from wreckit_tui.models import Fleet
    from wreckit_tui.processes import ExecResult, PtyChild

BACKEND_KINDS = ("wisp", "sprites")
"""The values of the ``backend`` setting."""


class SpriteManager(Protocol):
    """A fleet of sprites and what can be done to them.

    Every method checks its request before it does anything and raises a
    :class:`~wreckit_tui.errors.WreckitError` (its ``exit_code`` is the CLI's) on failure; what
    the backend cannot do is :class:`~wreckit_tui.errors.NotSupported`.
    """

    backend: Backend
    """How to name the backend to a person (``label``, ``name``), whether its sprites run on
    this machine (``local``) and whether it shows the detach key itself."""

    async def version(self) -> str:
        """The backend's version, for the header."""
        ...

    async def capabilities(self) -> frozenset[str]:
        """What it offers beyond list, start, kill and attach (``exec``, ``capture``, ``send``,
        ``resume``, ``start-command``), asked once."""
        ...

    def known_capabilities(self) -> frozenset[str] | None:
        """The capabilities if known already, else ``None`` (and they are being asked)."""
        ...

    async def list(self) -> Fleet:
        """The whole fleet, in the backend's order, within ``list_timeout``."""
        ...

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
        """Start a new sprite; a stopped one of that name is
        :class:`~wreckit_tui.errors.StoppedSprite`."""
        ...

    async def resume(self, name: str, *, max_vms: int, stop: asyncio.Event | None = None) -> None:
        """Start the stopped sprite ``name`` again, its disk kept."""
        ...

    async def kill(self, name: str) -> None:
        """Kill (delete) a sprite; one not in the fleet is
        :class:`~wreckit_tui.errors.SpriteNotFound`."""
        ...

    async def exec(
        self,
        name: str,
        argv: list[str],
        *,
        stdin: bytes = b"",
        timeout: float | None = None,
        max_output: int,
    ) -> ExecResult:
        """Run ``argv`` in the sprite without a terminal; its status is the result."""
        ...

    async def capture(self, name: str, *, lines: int | None = None, ansi: bool = False) -> str:
        """The text on the sprite's terminal, sanitized."""
        ...

    async def send(self, name: str, text: str, *, enter: bool = False) -> None:
        """Type ``text`` into the sprite's terminal."""
        ...

    def spawn_attach(
        self, name: str, size: tuple[int, int] | None = None, detach_label: str = ""
    ) -> PtyChild:
        """Start the backend's interactive attach to ``name`` on a pty of its own."""
        ...

    def keep_helper(self) -> None:
        """Keep what makes repeated calls cheap (the built-in provider's long-lived helper)
        for a program that lists again and again: the dashboard, the MCP server."""
        ...

    def close(self) -> None:
        """End what :meth:`keep_helper` kept."""
        ...


def open_backend(config: Config) -> SpriteManager:
    """The sprite manager the ``backend`` setting chooses: ``wisp`` (``wisp_path``, else
    ``wisp`` on PATH, else the built-in provider) or ``sprites`` (Fly.io Sprites); with
    ``[[backends]]``, all of them as one (:class:`wreckit_tui.fleets.Fleets`)."""
    if config.backends:
        from wreckit_tui.fleets import Fleets

        return Fleets.from_config(config)
    if config.backend == "sprites":
        from wreckit_tui.sprites_backend import SpritesBackend

        return SpritesBackend.from_config(config)
    from wreckit_tui.adapter import Wisp

    return Wisp.from_config(config)
