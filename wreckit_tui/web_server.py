"""``wreckit-tui serve``: the dashboard for web browsers, with textual-serve and aiohttp.

Each websocket at ``/ws`` (the protocol of textual-serve's ``textual.js``) gets a dashboard
process of its own (:mod:`wreckit_tui.web_app` on Textual's web driver), so each tab has its
dashboard. ``/attach/NAME`` is a sprite's web terminal (:mod:`wreckit_tui.web_attach`).

Every request needs the token: ``?token=`` (the page that has it sets a cookie, which the
websockets and later pages send) compared in constant time; without it, or from a page of
another origin, the answer is 403 and nothing else. SIGINT, SIGTERM and SIGHUP stop the server:
every dashboard is asked to quit (and killed if it has not after :data:`QUIT_GRACE` seconds)
and every attach is hung up, so that nothing it started is left running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import os
import secrets
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from wreckit_tui.backend_api import SpriteManager
from wreckit_tui.config import Config
from wreckit_tui.orphans import ORPHANS
from wreckit_tui.web_attach import WebTerminals

WEB_DATA = Path(__file__).parent / "data" / "web"
COOKIE = "wreckit_token"
QUIT_GRACE = 3.0
"""Seconds a dashboard has to quit when the server stops, before it is killed."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
FORBIDDEN = "403: Forbidden"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Dashboard(AppService):
    """One dashboard process, started from an argv (not a shell) in a session of its own.

    It may start before any browser asks for it (a spare, ``--spare``: it has loaded the
    program and waits); :meth:`claim` hands it a websocket and its size, and it starts.
    """

    def __init__(self, argv: list[str], downloads: object) -> None:
        super().__init__(
            " ".join(argv),
            write_bytes=self._to_browser,
            write_str=self._to_browser,
            close=self._close_browser,
            download_manager=downloads,  # type: ignore[arg-type]
        )
        self.argv = argv
        self.process: asyncio.subprocess.Process | None = None
        self.socket: web.WebSocketResponse | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def _open_app_process(self, width: int = 80, height: int = 24):  # type: ignore[override]
        pipe = asyncio.subprocess.PIPE
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=pipe,
            stdout=pipe,
            stderr=pipe,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,  # Ctrl+C in the server's terminal is the server's alone
        )
        ORPHANS.own(self.process)  # a child of the server's, never an orphan to sweep
        self._process = self.process
        self._stdin = self.process.stdin
        return self.process

    async def claim(self, socket: web.WebSocketResponse, width: int, height: int) -> None:
        """From now on this dashboard is the one of ``socket``, ``width`` by ``height``."""
        self.socket = socket
        await self.set_terminal_size(width, height)  # wakes a spare up

    async def _to_browser(self, data: bytes | str) -> None:
        if self.socket is not None:
            await (self.socket.send_bytes if isinstance(data, bytes) else self.socket.send_str)(
                data  # type: ignore[arg-type]
            )

    async def _close_browser(self) -> None:
        if self.socket is not None:
            await self.socket.close()

    async def end(self) -> None:
        """Ask the dashboard to quit (a spare: SIGTERM); kill its process group if it has not
        in time."""
        process = self.process
        if self.socket is None and process is not None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        else:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.stop(), QUIT_GRACE)
        if process is None:
            return
        try:
            await asyncio.wait_for(process.wait(), QUIT_GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, QUIT_GRACE)


class WebServer(Server):
    """textual-serve's server with the token guard, web terminals and a clean stop."""

    def __init__(self, wisp: SpriteManager, argv: list[str], *, read_only: bool) -> None:
        super().__init__(" ".join(argv), title="wreckit", templates_path=WEB_DATA / "templates")
        self.argv = argv
        self.token = secrets.token_urlsafe(32)
        self.terminals = WebTerminals(wisp, read_only=read_only)
        self.dashboards: set[Dashboard] = set()
        self.spare: Dashboard | None = None
        """A dashboard started ahead, so that the next tab shows its table sooner."""

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        aiohttp_jinja2.setup(
            app, loader=jinja2.FileSystemLoader(self.templates_path), autoescape=True
        )
        app.add_routes([
            web.get("/", self.handle_index, name="index"),
            web.get("/ws", self.handle_websocket, name="websocket"),
            web.get("/download/{key}", self.handle_download, name="download"),
            web.static("/static", self.statics_path, name="static"),
            web.static("/web", WEB_DATA / "static", name="web"),
            web.get("/attach/{name}", self.terminals.page, name="attach"),
            web.get("/attach/{name}/ws", self.terminals.websocket, name="attach-ws"),
        ])  # fmt: skip
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """403 without the token or from another origin; the token in the URL sets the cookie."""
        given = request.query.get("token") or request.cookies.get(COOKIE) or ""
        origin = request.headers.get("Origin")
        if not hmac.compare_digest(given.encode(), self.token.encode()) or (
            origin is not None and urlsplit(origin).netloc != request.host
        ):
            return web.Response(status=403, text=FORBIDDEN)
        response = await handler(request)
        if "token" in request.query and not response.prepared:
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict")
        return response

    async def handle_index(self, request: web.Request) -> web.Response:  # type: ignore[override]
        scheme = "wss" if request.secure else "ws"
        context = {
            "websocket_url": f"{scheme}://{request.host}/ws",
            "font_size": _font_size(request.query.get("fontsize", "16")),
        }
        return aiohttp_jinja2.render_template("index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """A dashboard of its own for this websocket, until either side ends."""
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        width, height = (_side(request.query.get(k, "")) or 0 for k in ("width", "height"))
        dashboard, self.spare = self.spare, None
        if dashboard is None or not dashboard.alive:
            dashboard = Dashboard(self.argv, self.download_manager)
        self.dashboards.add(dashboard)
        try:
            if dashboard.process is None:
                await dashboard.start(width or 80, height or 24)
            await dashboard.claim(websocket, width or 80, height or 24)
            await self.start_spare()
            await self._process_messages(websocket, dashboard)
        finally:
            await dashboard.end()
            self.dashboards.discard(dashboard)
            await websocket.close()
        return websocket

    async def start_spare(self) -> None:
        """Start the dashboard the next tab gets; it loads and waits, never polling until then."""
        if self.spare is None:
            spare = Dashboard([*self.argv, "--spare"], self.download_manager)
            self.dashboards.add(spare)
            await spare.start(80, 24)
            self.spare = spare

    async def stop_everything(self) -> None:
        """End every dashboard (the spare too) and hang up every attach."""
        self.spare = None
        await asyncio.gather(
            self.terminals.close_all(), *(dashboard.end() for dashboard in list(self.dashboards))
        )

    async def serve_until_stopped(self, host: str, port: int) -> None:
        runner = web.AppRunner(await self._make_app(), handle_signals=False)
        await runner.setup()
        listener = socket.create_server((host, port), family=_family(host))
        site = web.SockSite(runner, listener)
        await site.start()
        await self.start_spare()
        url_host = f"[{host}]" if ":" in host else host
        print(f"http://{url_host}:{listener.getsockname()[1]}/?token={self.token}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await site.stop()  # no new connections
            await self.stop_everything()
            await runner.cleanup()


def _font_size(text: str) -> int:
    return min(max(_side(text) or 16, 6), 64)


def _side(text: str) -> int:
    return int(text) if text.isdigit() and 0 < int(text) <= 1000 else 0


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def run_server(
    wisp: SpriteManager, config: Config, args: argparse.Namespace, options: list[str]
) -> int:
    """Serve until SIGINT, SIGTERM or SIGHUP; the exit code (0)."""
    del config  # each dashboard reads the settings again, from the same options
    argv = [sys.executable, "-m", "wreckit_tui.web_app", *options]
    server = WebServer(wisp, argv, read_only=args.read_only)
    try:
        asyncio.run(server.serve_until_stopped(args.host, args.port))
    except OSError as exc:
        from wreckit_tui.errors import UsageError

        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    return 0
