"""Web terminals: ``/attach/NAME`` is a page with xterm.js, bridged by its websocket to
``wisp attach NAME`` on a pty on the server.

The page (``attach.html`` and ``attach.js``, with the xterm.js files shipped in the package)
opens ``/attach/NAME/ws?cols=C&rows=R``. Binary frames from the browser are keys, written to the
pty; a text frame ``["resize", cols, rows]`` resizes it (the child gets SIGWINCH). The child's
output goes back as binary frames. When the child ends, the websocket closes; when the websocket
closes (the tab is closed), the attach is hung up as the CLI's detach does it
(:func:`~wreckit_tui.child_ending.end_child`: close the pty, a grace period, SIGKILL of its
process group) and nothing of it is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import struct
import termios

import aiohttp_jinja2
from aiohttp import WSMsgType, web

from wreckit_tui.backend_api import SpriteManager
from wreckit_tui.child_ending import end_child, open_pidfd
from wreckit_tui.contract import require_name
from wreckit_tui.errors import WreckitError
from wreckit_tui.processes import PtyChild
from wreckit_tui.text import sanitize

READ_SIZE = 1 << 16
QUEUED_MAX = 64
"""Chunks of output waiting for the browser before the pty is no longer read for a while."""
KEYS_MAX = 1 << 16
"""Bytes of keys waiting for the pty beyond which the browser's next message waits."""
DETACH_LABEL = "close the tab"
MAX_SIDE = 1000


class WebTerminals:
    """The attach pages and websockets of one server, and the sessions running."""

    def __init__(self, wisp: SpriteManager, *, read_only: bool) -> None:
        self.wisp = wisp
        self.read_only = read_only
        self.sessions: set[_Bridge] = set()

    def _name(self, request: web.Request) -> str:
        """The sprite's name from the path: 404 where it is not a name, 403 when read-only."""
        name = request.match_info["name"]
        try:
            require_name(name)
        except WreckitError:
            raise web.HTTPNotFound(text="404: no such sprite") from None
        if self.read_only:
            raise web.HTTPForbidden(text="403: read-only")
        return name

    async def page(self, request: web.Request) -> web.Response:
        name = self._name(request)
        return aiohttp_jinja2.render_template("attach.html", request, {"name": name})

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        name = self._name(request)
        socket = web.WebSocketResponse(heartbeat=15)
        await socket.prepare(request)
        size = (_side(request, "rows", 24), _side(request, "cols", 80))
        try:
            child = self.wisp.spawn_attach(name, size, DETACH_LABEL)
        except WreckitError as exc:
            await socket.send_bytes(f"{sanitize(exc.message)}\r\n".encode())
            await socket.close()
            return socket
        bridge = _Bridge(child, socket)
        self.sessions.add(bridge)
        try:
            await bridge.run()
        finally:
            await bridge.hang_up()
            self.sessions.discard(bridge)
        return socket

    async def close_all(self) -> None:
        """Hang up every attach (the server is stopping)."""
        await asyncio.gather(*(bridge.hang_up() for bridge in list(self.sessions)))


def _side(request: web.Request, key: str, default: int) -> int:
    try:
        return min(max(int(request.query.get(key, default)), 1), MAX_SIDE)
    except ValueError:
        return default


class _Bridge:
    """One web terminal: the child on its pty and the browser's websocket."""

    def __init__(self, child: PtyChild, socket: web.WebSocketResponse) -> None:
        self.child = child
        self.socket = socket
        self.pidfd = open_pidfd(child.pid)
        self.output: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.reading = False
        self.ended = False
        self.ending: asyncio.Future[None] | None = None
        self.keys = bytearray()
        """Keys the pty has not taken yet (the program in the sprite reads slower)."""
        self.room = asyncio.Event()
        self.room.set()
        os.set_blocking(child.master_fd, False)

    async def run(self) -> None:
        """Copy both ways until the child or the browser is gone."""
        sender = asyncio.ensure_future(self._send_output())
        self._read(on=True)
        try:
            async for message in self.socket:
                await self.room.wait()  # while the pty is full, the browser waits (TCP)
                if message.type == WSMsgType.BINARY:
                    self._write(message.data)
                elif message.type == WSMsgType.TEXT:
                    self._command(message.data)
        finally:
            self._read(on=False)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    def _read(self, *, on: bool) -> None:
        if on == self.reading or self.ended:
            return
        loop = asyncio.get_running_loop()
        if on:
            loop.add_reader(self.child.master_fd, self._readable)
        else:
            loop.remove_reader(self.child.master_fd)
        self.reading = on

    def _readable(self) -> None:
        try:
            data = os.read(self.child.master_fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:  # EIO: the child and all on its pty are gone
            data = b""
        if not data:
            self._read(on=False)
            self.ended = True
            self.output.put_nowait(None)
            return
        self.output.put_nowait(data)
        if self.output.qsize() > QUEUED_MAX:
            self._read(on=False)

    async def _send_output(self) -> None:
        while (data := await self.output.get()) is not None:
            await self.socket.send_bytes(data)
            if self.output.empty():
                self._read(on=True)
        await self.socket.close(message=b"the attach ended")

    def _write(self, data: bytes) -> None:
        """Keys for the pty: written as it takes them, never blocking the server; past
        :data:`KEYS_MAX` waiting, the browser's next message waits."""
        waiting = bool(self.keys)
        self.keys += data
        if len(self.keys) > KEYS_MAX:
            self.room.clear()
        if not waiting:
            self._flush()

    def _flush(self) -> None:
        fd, loop = self.child.master_fd, asyncio.get_running_loop()
        try:
            written = os.write(fd, self.keys)
        except BlockingIOError:
            written = 0
        except OSError:  # the child is gone: its end closes the websocket
            written = len(self.keys)
        del self.keys[:written]
        if self.keys:
            loop.add_writer(fd, self._flush)
        else:
            loop.remove_writer(fd)
            self.room.set()

    def _command(self, text: str) -> None:
        """``["resize", cols, rows]``: the pty's new window size."""
        with contextlib.suppress(ValueError, TypeError, OSError):
            kind, cols, rows = json.loads(text)
            if kind == "resize":
                window = struct.pack("HHHH", _clamp(rows), _clamp(cols), 0, 0)
                fcntl.ioctl(self.child.master_fd, termios.TIOCSWINSZ, window)

    async def hang_up(self) -> None:
        """End the child as a detach does (once): nothing of the attach is left running."""
        if self.ending is None:
            self.ending = asyncio.ensure_future(self._end())
        await asyncio.shield(self.ending)

    async def _end(self) -> None:
        self._read(on=False)
        asyncio.get_running_loop().remove_writer(self.child.master_fd)
        self.room.set()
        pidfd = self.pidfd
        await asyncio.to_thread(end_child, self.child, pidfd)
        if pidfd is not None:
            os.close(pidfd)
        self.child.ended()
        with contextlib.suppress(Exception):
            await self.socket.close()


def _clamp(side: object) -> int:
    return min(max(int(side), 1), MAX_SIDE)  # type: ignore[call-overload]
