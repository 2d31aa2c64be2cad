"""``wreckit-tui mcp``: tools that let an agent drive sprites, over the Model Context Protocol.

The server speaks MCP on stdio with the official SDK (imported here only, inside :func:`serve`:
no other command pays for it). Its tools follow every rule of the CLI (names, sizes, cpus,
``max_vms`` across processes, timeouts, process-group kills), because they call the same adapter;
a failure is a tool error whose text is the CLI's one-line message, and the server goes on to the
next call. With ``read_only`` it offers only ``list_sprites`` and ``attach_sprite``, which then
only reads the screen. Nothing but the protocol is written on stdout (the SDK points fd 1 at
stderr while it serves). It stops when the client closes stdin, and on SIGTERM, SIGINT or SIGHUP:
the calls in flight are cancelled first, which ends their process groups.

Register it with an MCP client, for example ``claude mcp add wreckit -- wreckit-tui mcp``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import math
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from wreckit_tui import __version__
from wreckit_tui.errors import InvalidRequest, StoppedSprite, WreckitError
from wreckit_tui.fleets import Fleets, public_name
from wreckit_tui.text import sanitize

if TYPE_CHECKING:
    from mcp.server.mcpserver.tools import Tool

    from wreckit_tui.activity import Watch
    from wreckit_tui.backend_api import SpriteManager
    from wreckit_tui.config import Config

OUTPUT_CAP = 64 * 1024
"""Bytes of each of stdout and stderr an ``exec_in_sprite`` returns; the rest is cut, and said."""
SETTLE_SECONDS = 0.5
"""A screen that stays the same this long has settled."""
CAPTURE_EVERY = 0.2
"""Seconds between two reads of a screen while waiting for it to settle."""
MAX_WAIT_SECONDS = 60.0
"""The longest ``wait_seconds`` of ``attach_sprite``."""
STOP_SECONDS = 5.0
"""How long a signal waits for the cancelled calls to end their processes before exiting."""
INSTRUCTIONS = (
    "Sprites are sandboxes (microVMs or local sandboxes) that run programs and AI agents. "
    "list_sprites shows them; spawn_sprite starts one, optionally running a command on its "
    "terminal; attach_sprite types into a sprite's terminal and reads its screen; exec_in_sprite "
    "runs a command in one and returns its output; kill_sprite ends one and deletes its disk."
)
READ_ONLY_INSTRUCTIONS = (
    "Sprites are sandboxes (microVMs or local sandboxes) that run programs and AI agents. This "
    "server is read-only: list_sprites shows them and attach_sprite reads a sprite's screen."
)


class Tools:
    """What each tool does, on one backend, with the CLI's rules; every method raises
    :class:`~wreckit_tui.errors.WreckitError` for what a person must hear."""

    def __init__(self, wisp: SpriteManager, config: Config, *, read_only: bool = False) -> None:
        self.wisp = wisp
        self.config = config
        self.read_only = read_only
        self._watch: Watch | None = None
        """Kept from call to call, as the dashboard keeps it: each list_sprites captures only
        the sprites that went quiet since the last one, not every quiet sprite every time."""

    async def list_sprites(self) -> dict[str, Any]:
        """Every sprite, under "sprites": the objects `wreckit-tui --headless --json` prints
        (name, state, sizes and use, command, exit code, and what its agent is doing)."""
        from wreckit_tui.watching import Watch, list_watched, rules_of

        if self._watch is None:
            self._watch = Watch(rules_of(self.config.activity.overrides()))
        fleet = await list_watched(self.wisp, watch=self._watch)
        return {"sprites": [sprite.public_dict() for sprite in fleet.sprites]}

    async def spawn_sprite(
        self,
        name: str | None = None,
        memory: str | None = None,
        cpus: int | None = None,
        command: list[str] | None = None,
    ) -> dict[str, Any]:
        """Start a sprite: `name` (1-63 of a-z, 0-9, '-', starting with a letter; a free
        sprite-N when omitted), `memory` such as 512MiB or 2GiB, `cpus` 1-64, and `command`, a
        program and its arguments to run on its terminal instead of a shell (an agent, say).
        The name of a stopped sprite, alone, starts it again with its disk. Refused when
        max_vms sprites already run. Returns the sprite, and how a person attaches to it."""
        from wreckit_tui.names import free_name

        fleets = self.wisp if isinstance(self.wisp, Fleets) else None
        if name is None:
            fleet = await self.wisp.list()
            name = fleets.free_name(fleet) if fleets else free_name(fleet.names())
        name = fleets.start_name(name) if fleets else name
        memory_size = memory or self.config.default_memory
        count = self.config.default_cpus if cpus is None else cpus
        resumed = False
        try:
            await self.wisp.start(
                name, memory_size, count, max_vms=self.config.max_vms, command=command or None
            )
        except StoppedSprite:
            if memory or cpus is not None or command:
                raise
            await self.wisp.resume(name, max_vms=self.config.max_vms)
            resumed = True
        try:  # it started: a list that fails now must not make it look as if it had not
            sprite = (await self.wisp.list()).get(name)
        except WreckitError:
            sprite = None
        shown = sprite.public_dict() if sprite else {"name": name}
        return {**shown, "resumed": resumed, "attach": f"wreckit-tui attach {name}"}

    async def attach_sprite(
        self,
        name: str,
        input: str | None = None,
        enter: bool = False,
        wait_seconds: float = 2.0,
    ) -> str:
        """Type `input` into the sprite's terminal as literal keys (then Enter when `enter`),
        wait until its screen changes and then stays the same for half a second (at most
        `wait_seconds`, 0-60), and return the screen's text. Without input it only reads the
        screen; call it again to read what came later."""
        wait = _wait_seconds(wait_seconds)
        if not input and not enter:
            return await self._settled_screen(name, wait)
        if self.read_only:
            raise InvalidRequest(
                "this server is read-only: attach_sprite reads the screen and types nothing"
            )
        before = await self.wisp.capture(name)
        await self.wisp.send(name, input or "", enter=enter)
        return await self._settled_screen(name, wait, before)

    async def read_screen(self, name: str, wait_seconds: float = 2.0) -> str:
        """Wait until the sprite's screen stays the same for half a second (at most
        `wait_seconds`, 0-60) and return its text. This server is read-only: nothing is typed."""
        return await self._settled_screen(name, _wait_seconds(wait_seconds))

    async def _settled_screen(self, name: str, wait: float, before: str | None = None) -> str:
        """The screen once it differs from ``before`` and then stayed the same for
        :data:`SETTLE_SECONDS`, or as it is after ``wait`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        screen = await self.wisp.capture(name)
        same_since = loop.time()
        while (now := loop.time()) < deadline:
            if screen != before and now - same_since >= SETTLE_SECONDS:
                break
            await asyncio.sleep(min(CAPTURE_EVERY, deadline - now))
            again = await self.wisp.capture(name)
            if again != screen:
                screen, same_since = again, loop.time()
        return screen

    async def exec_in_sprite(
        self,
        name: str,
        command: list[str],
        stdin: str | None = None,
        timeout_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Run `command` (a program and its arguments, no shell) in the sprite without a
        terminal, with `stdin` as its input; returns its exit_code, stdout and stderr, each cut
        at 64 KiB with stdout_truncated / stderr_truncated saying so. Ended after
        `timeout_seconds` (default and most: the timeout setting, 300 s unless configured)."""
        limit = self.config.timeout
        timeout = limit if timeout_seconds is None else timeout_seconds
        if not (math.isfinite(timeout) and 0 < timeout <= limit):
            raise InvalidRequest(
                f"invalid timeout_seconds {timeout:g}: use more than 0 and at most {limit:g} "
                "(the timeout setting)"
            )
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
        """Kill the sprite: every process of it ends, and its disk is deleted."""
        await self.wisp.kill(name)
        return {**public_name(name), "killed": True}


def _wait_seconds(seconds: float) -> float:
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_WAIT_SECONDS):
        raise InvalidRequest(f"invalid wait_seconds {seconds:g}: use 0 to {MAX_WAIT_SECONDS:g}")
    return seconds


class InFlight:
    """The tool calls running now, so that a signal can cancel them and wait for them."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self.idle = asyncio.Event()
        self.idle.set()

    def add(self, task: asyncio.Task[Any]) -> None:
        self.tasks.add(task)
        self.idle.clear()

    def discard(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not self.tasks:
            self.idle.set()

    async def cancel_all(self, timeout: float) -> None:
        """Cancel every call and wait up to ``timeout`` seconds for them to end."""
        for task in list(self.tasks):
            task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), timeout)


def serve(wisp: SpriteManager, config: Config, *, read_only: bool = False) -> int:
    """Serve the tools on stdio until the client closes stdin (or a signal); returns 0."""
    import anyio
    from mcp.server import MCPServer

    tools = Tools(wisp, config, read_only=read_only)
    in_flight = InFlight()
    offered: list[tuple[str, Callable[..., Awaitable[Any]]]]
    offered = [("list_sprites", tools.list_sprites)]
    if read_only:
        offered += [("attach_sprite", tools.read_screen)]
        note = " (this server is read-only: attach_sprite reads the screen and types nothing)"
    else:
        note = ""
        offered += [
            ("spawn_sprite", tools.spawn_sprite),
            ("attach_sprite", tools.attach_sprite),
            ("exec_in_sprite", tools.exec_in_sprite),
            ("kill_sprite", tools.kill_sprite),
        ]
    server = MCPServer(
        "wreckit",
        version=__version__,
        instructions=READ_ONLY_INSTRUCTIONS if read_only else INSTRUCTIONS,
        log_level="WARNING",
        tools=[_strict_tool(name, _as_tool(method, in_flight), note) for name, method in offered],
    )
    wisp.keep_helper()
    try:
        anyio.run(_serve_until_stopped, server, in_flight)
    except Exception as exc:  # the client went away mid-write, say: one line, never a traceback
        print(f"wreckit-tui: error: the MCP server stopped: {sanitize(repr(exc))}", file=sys.stderr)
        return 1
    finally:
        wisp.close()
    return 0


async def _serve_until_stopped(server: Any, in_flight: InFlight) -> None:
    """Serve until stdin closes; SIGTERM, SIGINT and SIGHUP cancel the calls in flight (their
    process groups end), then exit at once: the thread reading stdin cannot be interrupted."""
    loop = asyncio.get_running_loop()

    async def stop() -> None:
        await in_flight.cancel_all(STOP_SECONDS)
        sys.stderr.flush()
        os._exit(0)

    stopping: list[asyncio.Task[None]] = []

    def on_signal() -> None:
        if not stopping:
            stopping.append(asyncio.ensure_future(stop()))

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(signum, on_signal)
    await server.run_stdio_async()


def _as_tool(
    method: Callable[..., Awaitable[Any]], in_flight: InFlight
) -> Callable[..., Awaitable[Any]]:
    """``method`` as a tool: the same parameters; a failure becomes an error result whose text
    is exactly what the CLI would say, and the server carries on."""
    from mcp.types import CallToolResult, TextContent

    @functools.wraps(method)
    async def tool(*args: Any, **kwargs: Any) -> Any:
        task = asyncio.current_task()
        if task is not None:
            in_flight.add(task)
        try:
            return await method(*args, **kwargs)
        except WreckitError as exc:
            text = sanitize(exc.message)
        except Exception as exc:  # the server outlives any bug in a tool
            text = f"unexpected error: {sanitize(repr(exc))}"
        finally:
            if task is not None:
                in_flight.discard(task)
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)

    return tool


def _strict_tool(name: str, function: Callable[..., Awaitable[Any]], note: str = "") -> Tool:
    """The SDK's tool of ``function``, which refuses arguments it does not take (a typo, or
    ``input`` on a read-only server) instead of ignoring them, saying why and ``note``."""
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.server.mcpserver.tools import Tool

    class StrictTool(Tool):
        async def run(self, arguments: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            known = self.parameters.get("properties", {})
            unknown = sorted(key for key in arguments if key not in known)
            if unknown:
                raise ToolError(
                    f"{self.name} takes no argument {', '.join(map(repr, unknown))}: it takes "
                    f"{', '.join(known) or 'none'}{note}"
                )
            return await super().run(arguments, *args, **kwargs)

    tool = StrictTool.from_function(
        function, name=name, description=inspect.cleandoc(function.__doc__ or "")
    )
    tool.parameters["additionalProperties"] = False
    return tool
