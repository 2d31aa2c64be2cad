"""``python -m wreckit_tui mcp`` as a real subprocess, driven by the MCP SDK's own stdio client.

The client lives on an event loop in a thread of its own, so that plain (synchronous) tests and
module-scoped fixtures can share one server: :meth:`McpServer.call` sends a ``tools/call`` and
waits for its result. Anything on the server's stdout that is not protocol reaches the client
as an exception, which is kept in :attr:`McpServer.stream_errors`; the server's stderr goes to
a file (:meth:`McpServer.stderr`). The server runs under ``sh``, which writes its exit status to
a file once it ends (:meth:`McpServer.exit_status`).
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import psutil
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import CallToolResult, Tool

from tests.support.processes import command_line

REPO = Path(__file__).resolve().parents[2]


class McpServer:
    """One ``wreckit-tui mcp`` server with ``args``, its environment only ``env`` (plus what the
    SDK passes on: PATH, HOME, ...), its files in ``directory``."""

    def __init__(self, directory: Path, env: dict[str, str], *args: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.stderr_path = directory / "server-stderr.txt"
        self.status_path = directory / "server-status.txt"
        self.stream_errors: list[Exception] = []
        server = shlex.join([sys.executable, "-m", "wreckit_tui", "mcp", *args])
        self.params = StdioServerParameters(
            command="/bin/sh",
            args=["-c", f"{server}; echo $? > {shlex.quote(str(self.status_path))}"],
            env={"PYTHONPATH": str(REPO), **env},
            cwd=REPO,
        )
        self.session: ClientSession | None = None
        self._children_before = {child.pid for child in psutil.Process().children()}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._stop: asyncio.Event | None = None
        self._held: asyncio.Future[None] | None = None
        self._run(self._open(), timeout=60)

    async def _open(self) -> None:
        self._stop = asyncio.Event()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._held = asyncio.ensure_future(self._hold(ready))
        await ready

    async def _hold(self, ready: asyncio.Future[None]) -> None:
        """Keep the client open, in this one task, until :meth:`close`."""
        assert self._stop is not None

        async def on_message(message: Any) -> None:
            if isinstance(message, Exception):
                self.stream_errors.append(message)

        try:
            with open(self.stderr_path, "w") as errlog:
                async with (
                    stdio_client(self.params, errlog=errlog) as (read, write),
                    ClientSession(read, write, message_handler=on_message) as session,
                ):
                    await session.initialize()
                    self.session = session
                    ready.set_result(None)
                    await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    def _run(self, coroutine: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def call(self, tool: str, arguments: dict[str, Any] | None = None, timeout: float = 60):
        """The result of ``tools/call`` of ``tool``."""
        assert self.session is not None
        result: CallToolResult = self._run(self.session.call_tool(tool, arguments or {}), timeout)
        return result

    def call_soon(self, tool: str, arguments: dict[str, Any] | None = None) -> Future[Any]:
        """Send ``tools/call`` of ``tool`` without waiting: the future of its result."""
        assert self.session is not None
        return asyncio.run_coroutine_threadsafe(
            self.session.call_tool(tool, arguments or {}), self._loop
        )

    def ok(self, tool: str, arguments: dict[str, Any] | None = None, timeout: float = 60) -> Any:
        """The structured result of a call that must succeed."""
        result = self.call(tool, arguments, timeout)
        assert not result.is_error, result.content
        return result.structured_content

    def error(self, tool: str, arguments: dict[str, Any] | None = None, timeout: float = 60):
        """The text of a call that must be a tool error."""
        result = self.call(tool, arguments, timeout)
        assert result.is_error, result.structured_content
        assert len(result.content) == 1
        text: str = result.content[0].text
        return text

    def tools(self) -> list[Tool]:
        assert self.session is not None
        return self._run(self.session.list_tools(), 30).tools

    def server_process(self) -> psutil.Process:
        """The ``wreckit_tui mcp`` process (the child of the ``sh`` the client started)."""
        for child in psutil.Process().children():
            if child.pid in self._children_before:
                continue
            for grandchild in child.children():
                if "wreckit_tui" in command_line(grandchild):
                    return grandchild
        raise AssertionError("the server process is not running")

    def close(self, timeout: float = 30) -> float:
        """Close the client (stdin EOF; the SDK escalates to signals after 2 s); return the
        seconds it took."""
        started = time.monotonic()
        if self._loop.is_closed():
            return 0.0
        if self._stop is not None and self._held is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            asyncio.run_coroutine_threadsafe(_wait(self._held), self._loop).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop.close()
        return time.monotonic() - started

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def exit_status(self) -> int | None:
        """The server's exit status, once it ended."""
        text = self.status_path.read_text().strip() if self.status_path.exists() else ""
        return int(text) if text else None

    def assert_clean(self) -> None:
        """Nothing but protocol came on stdout, and stderr holds no traceback."""
        assert self.stream_errors == []
        assert "Traceback" not in self.stderr(), self.stderr()


async def _wait(task: asyncio.Future[None]) -> None:
    with contextlib.suppress(Exception):
        await task
