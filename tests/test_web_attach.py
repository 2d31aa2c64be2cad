"""The web terminal's websocket: ``wisp attach NAME`` on a pty on the server, bridged both ways.

Through a real server subprocess and the fake wisp: what is typed reaches the sprite and its
output comes back (rendered through pyte), a resize reaches the pty, and closing the websocket
(the tab) hangs the attach up, leaving nothing running, even a session that ignores SIGHUP.
"""

from __future__ import annotations

import asyncio
import json
import signal

import aiohttp
import pyte

from tests.support.waiting import wait_until
from tests.support.web_server import served, wait_for_no_descendants


class WebTerminal:
    """A client of ``/attach/NAME/ws``, its screen rendered by pyte."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse, cols: int, rows: int) -> None:
        self.socket = socket
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.closed = asyncio.Event()
        self.raw = bytearray()
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.raw += message.data
                self.stream.feed(message.data)
        self.closed.set()

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    async def type(self, text: str) -> None:
        await self.socket.send_bytes(text.encode())

    async def wait_for(self, words: str, timeout: float = 10) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while words not in (text := self.text()):
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {words!r}; the screen:\n{text}")
            await asyncio.sleep(0.02)
        return text


async def open_terminal(session, server, name: str, cols: int = 80, rows: int = 24):
    url = f"{server.base}/attach/{name}/ws?token={server.token}&cols={cols}&rows={rows}"
    return WebTerminal(await session.ws_connect(url), cols, rows)


async def test_typing_reaches_the_sprite_and_resizes_pass_through(fake_wisp, tmp_path):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    with served(fake_wisp.path, tmp_path) as server:
        async with aiohttp.ClientSession() as session:
            terminal = await open_terminal(session, server, "alpha", cols=100, rows=30)
            await terminal.wait_for("connected to alpha")
            await terminal.type("hello from the browser\r")
            await terminal.wait_for("alpha> hello from the browser")
            await terminal.type("stty size\r")
            await terminal.wait_for("30 100")
            await terminal.socket.send_str(json.dumps(["resize", 90, 20]))
            wait_until(lambda: fake_wisp.winches() >= 1, what="a SIGWINCH in the sprite")
            await terminal.type("stty size\r")
            await terminal.wait_for("20 90")
            await terminal.type("exit\r")
            await asyncio.wait_for(terminal.closed.wait(), 10)  # the sprite's end closes it
        wait_for_no_descendants(server)


async def test_closing_the_tab_hangs_up_even_a_stubborn_attach(fake_wisp, tmp_path):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    fake_wisp.set_scenario(attach="ignore-hup")
    with served(fake_wisp.path, tmp_path) as server:
        async with aiohttp.ClientSession() as session:
            terminal = await open_terminal(session, server, "alpha")
            await terminal.wait_for("connected to alpha")
            assert fake_wisp.alive_pids()
            await terminal.socket.close()
            wait_until(lambda: not fake_wisp.alive_pids(), what="the attach to be hung up")
            wait_for_no_descendants(server)


async def test_ctrl_c_on_the_server_hangs_up_every_attach(fake_wisp, tmp_path):
    fake_wisp.set_fleet([{"name": name, "state": "running"} for name in ("alpha", "bravo")])
    with served(fake_wisp.path, tmp_path) as server:
        async with aiohttp.ClientSession() as session:
            for name in ("alpha", "bravo"):
                terminal = await open_terminal(session, server, name)
                await terminal.wait_for(f"connected to {name}")
            assert server.stop(signal.SIGINT) == 0  # Ctrl+C
            assert server.descendants() == []
    assert fake_wisp.alive_pids() == []


async def test_a_sprite_that_is_not_there_says_so(fake_wisp, tmp_path):
    with served(fake_wisp.path, tmp_path) as server:
        async with aiohttp.ClientSession() as session:
            terminal = await open_terminal(session, server, "ghost")
            await asyncio.wait_for(terminal.closed.wait(), 10)
            assert "no sprite named ghost" in terminal.text()
            bad = await session.get(f"{server.base}/attach/Not_A_Name?token={server.token}")
            assert bad.status == 404
        wait_for_no_descendants(server)


async def test_a_paste_the_sprite_does_not_take_yet_stalls_nothing_else(fake_wisp, tmp_path):
    fake_wisp.set_fleet([{"name": name, "state": "running"} for name in ("alpha", "bravo")])
    with served(fake_wisp.path, tmp_path) as server:
        async with aiohttp.ClientSession() as session:
            slow = await open_terminal(session, server, "alpha")
            await slow.wait_for("connected to alpha")
            await slow.type("stty raw -echo\r")
            await slow.wait_for("alpha$ stty raw -echo\nalpha$")  # raw from the new prompt on
            await slow.type("nap 10\r")  # it reads nothing for 10 s: long enough on a slow machine
            await slow.type("x" * (1 << 20))  # far more than a pty holds: it must wait
            other = await open_terminal(session, server, "bravo")
            await other.wait_for("connected to bravo", timeout=8)
            await other.type("still here\r")
            await other.wait_for("bravo> still here", timeout=8)
            await other.socket.close()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while slow.raw.count(b"x") < 1 << 20 and loop.time() < deadline:  # all of it went in
                await asyncio.sleep(0.05)
            assert b"awake" in slow.raw
            assert slow.raw.count(b"x") >= 1 << 20
