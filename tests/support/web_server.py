"""``wreckit-tui serve`` as a real subprocess on a free loopback port, and clients of it.

:func:`served` starts the server and reads the URL it prints first; on leaving, it stops the
server with SIGTERM and checks that it exited 0. :class:`DashboardSocket` speaks textual-serve's
websocket protocol (``["stdin", text]``, ``["resize", {...}]``) and renders what comes back
through pyte, a terminal emulator, so tests read the screen as a user would see it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import psutil
import pyte

from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    """A running server: its process, the URL it printed, and what it wrote on stderr."""

    process: subprocess.Popen
    url: str
    stderr_path: Path

    @property
    def base(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def token(self) -> str:
        return parse_qs(urlsplit(self.url).query)["token"][0]

    def descendants(self) -> list[psutil.Process]:
        """Every process below the server's, still running."""
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [child for child in children if _alive(child)]

    def working(self) -> list[psutil.Process]:
        """The server's processes but the spare dashboard, which waits for the next tab."""
        return [p for p in self.descendants() if not _waiting_spare(p)]

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(20)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _waiting_spare(process: psutil.Process) -> bool:
    """A dashboard started ``--spare`` that no tab has claimed yet (it names itself so)."""
    try:
        return process.name() == "wreckit-spare"
    except psutil.Error:
        return False


def serve_argv(wisp: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "wreckit_tui", "--wisp", str(wisp), "serve", "--port", "0",
            *options]  # fmt: skip


@contextmanager
def served(wisp: Path, tmp_path: Path, *options: str) -> Iterator[Served]:
    """The server on a free loopback port until the block ends; then SIGTERM, and exit 0."""
    stderr_path = tmp_path / "serve-stderr.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            serve_argv(wisp, *options), stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
        )
    server = Served(process, "", stderr_path)
    try:
        assert process.stdout is not None
        server.url = process.stdout.readline().strip()
        assert server.url.startswith("http://127.0.0.1:"), stderr_path.read_text()
        yield server
    finally:
        status = server.stop()
        process.stdout.close()
    assert status == 0, stderr_path.read_text()


@dataclass
class DashboardSocket:
    """One dashboard over ``/ws``, its screen rendered by pyte."""

    socket: aiohttp.ClientWebSocketResponse
    screen: pyte.Screen
    raw: bytearray = field(default_factory=bytearray)
    said: list = field(default_factory=list)
    """The text frames (JSON) the server sent, such as ``["open_url", {...}]``."""
    reader: asyncio.Task | None = None

    def __post_init__(self) -> None:
        self.stream = pyte.ByteStream(self.screen)

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.raw += message.data
                self.stream.feed(message.data)
            elif message.type == aiohttp.WSMsgType.TEXT:
                self.said.append(json.loads(message.data))

    def text(self) -> str:
        return "\n".join(self.screen.display)

    async def press(self, text: str) -> None:
        await self.socket.send_str(json.dumps(["stdin", text]))

    async def wait_for(self, *words: str, timeout: float = 15) -> str:
        """The screen's text once it shows every one of ``words``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not all(word in (text := self.text()) for word in words):
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {words}; the screen:\n{text}")
            await asyncio.sleep(0.05)
        return text


async def open_dashboard(
    session: aiohttp.ClientSession, server: Served, size: Sequence[int] = (120, 30)
) -> DashboardSocket:
    """A dashboard of ``size`` (columns, rows) over a new websocket."""
    cols, rows = size
    url = f"{server.base}/ws?token={server.token}&width={cols}&height={rows}"
    socket = await session.ws_connect(url)
    dashboard = DashboardSocket(socket, pyte.Screen(cols, rows))
    dashboard.reader = asyncio.ensure_future(dashboard._read())
    await socket.send_str(json.dumps(["resize", {"width": cols, "height": rows}]))
    return dashboard


def wait_for_no_descendants(server: Served, timeout: float = 10) -> None:
    """Until the server runs nothing but its spare dashboard (nothing at all once stopped)."""
    wait_until(lambda: not server.working(), timeout, what="the server's processes to end")
