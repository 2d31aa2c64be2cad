"""``wreckit-tui mcp``: tools that let an agent drive sprites, over the Model Context Protocol.

The server speaks MCP on stdio with the official SDK (imported here only: no other command pays
for it). Its tools follow every rule of the CLI (names, sizes, cpus, ``max_vms`` across processes,
timeouts, process-group kills), because they call the same adapter; a failure is a tool error
whose text is the CLI's one-line message, and the server goes on to the next call. With
``read_only`` it offers only ``list_sprites`` and ``attach_sprite`` without input. Nothing but the
protocol is written on stdout (the SDK sends every other write to stderr while it serves).

Register it with an MCP client, for example ``claude mcp add wreckit -- wreckit-tui mcp``.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from wreckit_tui import __version__
from wreckit_tui.errors import WreckitError
from wreckit_tui.text import sanitize

if TYPE_CHECKING:
    from wreckit_tui.adapter import Wisp
    from wreckit_tui.config import Config

OUTPUT_CAP = 64 * 1024
"""Bytes of each of stdout and stderr an ``exec_in_sprite`` returns; the rest is cut, and said."""
SETTLE_SECONDS = 0.3
"""A screen that stays the same this long has settled."""
INSTRUCTIONS = (
    "Sprites are sandboxes (microVMs or local sandboxes) that run programs and AI agents. "
    "list_sprites shows them; spawn_sprite starts one, optionally running a command; "
    "attach_sprite types into a sprite's terminal and reads its screen; exec_in_sprite runs a "
    "command in one and returns its output; kill_sprite ends one and deletes its disk."
)


class Tools:
    """What each tool does, on one backend, with the CLI's rules; every method raises
    :class:`~wreckit_tui.errors.WreckitError` for what a person must hear."""

    def __init__(self, wisp: Wisp, config: Config, *, read_only: bool = False) -> None:
        self.wisp = wisp
        self.config = config
        self.read_only = read_only

    async def list_sprites(self) -> list[dict[str, Any]]:
        """Every sprite, as ``wreckit-tui --headless --json`` prints it."""
        fleet = await self.wisp.list()
        return [sprite.public_dict() for sprite in fleet.sprites]

    async def spawn_sprite(
        self,
        name: str | None = None,
        memory: str | None = None,
        cpus: int | None = None,
        command: list[str] | None = None,
    ) -> dict[str, Any]:
        """Start a sprite (a free ``sprite-N`` name when none is given), running ``command``
        instead of a shell where given; returns it and how a person attaches to it."""
        from wreckit_tui.names import free_name

        if name is None:
            name = free_name((await self.wisp.list()).names())
        memory = memory or self.config.default_memory
        count = self.config.default_cpus if cpus is None else cpus
        await self.wisp.start(
            name, memory, count, max_vms=self.config.max_vms, command=command or None
        )
        sprite = (await self.wisp.list()).get(name)
        shown = sprite.public_dict() if sprite else {"name": name}
        attach = {"attach": f"wreckit-tui attach {name}", "url": shown.get("url")}
        return {**shown, **attach}

    async def attach_sprite(
        self,
        name: str,
        input: str | None = None,
        enter: bool = False,
        wait_seconds: float = 2.0,
    ) -> str:
        """Type ``input`` into the sprite's terminal (then Enter), wait up to ``wait_seconds``
        for the screen to settle, and return the screen's text."""
        if input or enter:
            if self.read_only:
                raise WreckitError("this server is read-only: attach_sprite only reads the screen")
            await self.wisp.send(name, input or "", enter=enter)
        return await self._settled_screen(name, max(0.0, min(wait_seconds, 60.0)))

    async def _settled_screen(self, name: str, wait_seconds: float) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        screen = await self.wisp.capture(name)
        while loop.time() < deadline:
            await asyncio.sleep(min(SETTLE_SECONDS, max(deadline - loop.time(), 0)))
            again = await self.wisp.capture(name)
            if again == screen:
                break
            screen = again
        return screen

    async def exec_in_sprite(
        self,
        name: str,
        command: list[str],
        stdin: str | None = None,
        timeout_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Run ``command`` in the sprite; its exit code, stdout and stderr (each cut at 64 KiB,
        with a flag saying so)."""
        timeout = self.config.timeout if timeout_seconds is None else timeout_seconds
        done = await self.wisp.exec(
            name, command, stdin=(stdin or "").encode(), timeout=timeout, max_output=OUTPUT_CAP
        )
        return {
            "exit_code": done.returncode,
            "stdout": done.stdout.decode("utf-8", errors="replace"),
            "stderr": done.stderr,
            "stdout_truncated": done.stdout_truncated,
            "stderr_truncated": done.stderr_truncated,
        }

    async def kill_sprite(self, name: str) -> dict[str, Any]:
        """Kill the sprite; its disk goes with it."""
        await self.wisp.kill(name)
        return {"name": name, "killed": True}


def serve(wisp: Wisp, config: Config, *, read_only: bool = False) -> int:
    """Serve the tools on stdio until the client closes stdin (or SIGTERM); returns 0."""
    from mcp.server import MCPServer

    tools = Tools(wisp, config, read_only=read_only)
    server = MCPServer(
        "wreckit", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    offered: list[Callable[..., Awaitable[Any]]] = [tools.list_sprites, tools.attach_sprite]
    if not read_only:
        offered += [tools.spawn_sprite, tools.exec_in_sprite, tools.kill_sprite]
    for method in offered:
        server.tool(name=method.__name__, description=method.__doc__)(_as_tool(method))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.run()
    return 0


def _as_tool(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``method`` as a tool: the same parameters; a failure becomes an error result whose text
    is exactly what the CLI would say, and the server carries on."""
    import functools

    from mcp.types import CallToolResult, TextContent

    @functools.wraps(method)
    async def tool(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except WreckitError as exc:
            text = sanitize(exc.message)
        except Exception as exc:  # the server outlives any bug in a tool
            text = f"unexpected error: {sanitize(repr(exc))}"
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)

    return tool
