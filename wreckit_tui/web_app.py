"""The dashboard as ``wreckit-tui serve`` runs it for each browser tab.

``python -m wreckit_tui.web_app [--config P] [--wisp P] [--set K=V]... [--read-only]`` runs
the dashboard on Textual's web driver (textual-serve starts it so, one process per websocket).
There ``a`` opens the sprite's terminal in a new browser tab (``/attach/NAME``, served by
:mod:`wreckit_tui.web_attach`) instead of lending a terminal; with ``--read-only``, launch,
kill, send and attach are off and say so. With ``--spare`` it loads the program, then waits for
the server's first packet (a browser asked for a dashboard: its size) before it starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

from textual.message import Message
from textual.screen import Screen

from wreckit_tui.app import WreckitApp
from wreckit_tui.backend_api import SpriteManager, open_backend
from wreckit_tui.config import Config, load_config
from wreckit_tui.errors import WreckitError
from wreckit_tui.processes import adopt_orphans
from wreckit_tui.screens.requests import (
    KillRequested,
    LaunchRequested,
    OpenRequested,
    SendRequested,
)
from wreckit_tui.textual_private import bindings_by_key, replace_binding

READ_ONLY_NOTE = "read-only: launch, kill, send and attach are off"
SPARE_NAME = "wreckit-spare"
"""The process name of a spare dashboard while it waits for a tab (``ps``, ``top``)."""
CLAIMED_NAME = "wreckit-web"


class WebApp(WreckitApp):
    """The dashboard in a browser tab: attach opens a tab; ``read_only`` turns changes off."""

    def __init__(
        self,
        config: Config,
        wisp: SpriteManager,
        *,
        read_only: bool = False,
        version: str | None = None,
    ) -> None:
        super().__init__(config, wisp)
        self.read_only = read_only
        self.known_version = version
        """The backend's version, asked before the tab came (by a spare)."""
        if read_only:
            self.sub_title = "read-only"

    def get_default_screen(self) -> Screen:
        screen = super().get_default_screen()
        attach = bindings_by_key(screen)["a"][0]
        what = "open the selected sprite's terminal in a new browser tab (also enter)"
        replace_binding(screen, "a", replace(attach, description="Attach (tab)", tooltip=what))
        return screen

    async def _read_version(self) -> None:
        if self.known_version is None:
            await super()._read_version()
        else:
            self.backend_version = self.known_version
            self._publish()

    def attach(self, name: str) -> None:
        """Open the sprite's web terminal in a new tab of the browser."""
        self.open_url(f"/attach/{quote(name)}", new_tab=True)
        self.say(f"opened the terminal of {name} in a new tab", timeout=4)

    def _refuse(self, request: Message) -> None:
        """In a read-only dashboard: say so, and keep the app's handler from acting."""
        if self.read_only:
            request.prevent_default()
            self.say(READ_ONLY_NOTE, severity="warning", timeout=4)

    def on_launch_requested(self, request: LaunchRequested) -> None:
        self._refuse(request)

    def on_kill_requested(self, request: KillRequested) -> None:
        self._refuse(request)

    def on_send_requested(self, request: SendRequested) -> None:
        self._refuse(request)

    def on_open_requested(self, request: OpenRequested) -> None:
        self._refuse(request)


def main(argv: list[str] | None = None) -> int:
    """Run one served dashboard; the exit code."""
    from wreckit_tui.cli import _flag_overrides, _shared_options
    from wreckit_tui.stderr_lines import say_error

    parser = argparse.ArgumentParser(prog="wreckit-tui serve", parents=[_shared_options()])
    parser.add_argument("--read-only", action="store_true")
    parser.add_argument("--spare", action="store_true")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, _flag_overrides(args))
    except WreckitError as exc:
        say_error(exc.message)
        return exc.exit_code
    adopt_orphans()
    return asyncio.run(_serve_tab(config, args))


async def _serve_tab(config: Config, args: argparse.Namespace) -> int:
    """Run the dashboard; a spare first asks the backend's version (it stays), then waits
    for a browser: the server's first packet, its size."""
    wisp = open_backend(config)
    version = None
    if args.spare:
        asking = asyncio.ensure_future(_version_or_none(wisp))
        name_process(SPARE_NAME)
        take_size(await asyncio.to_thread(_read_packet, sys.stdin.fileno()))
        name_process(CLAIMED_NAME)
        version = await asking
    app = WebApp(config, wisp, read_only=args.read_only, version=version)
    await app.run_async()
    return app.return_code or 0


async def _version_or_none(wisp: SpriteManager) -> str | None:
    """The backend's version; None if it failed (the dashboard asks again, and says why)."""
    try:
        return await wisp.version()
    except WreckitError:
        return None


def name_process(name: str) -> None:
    """Name this process as ``ps`` and ``top`` show it (Linux; elsewhere nothing)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(name)


def _read_packet(fd: int) -> bytes:
    """One packet of textual-serve's (a type byte, a 4-byte length, the payload) from ``fd``,
    read unbuffered, so that the web driver reads the next one; b"" at the end."""
    head = _read_exactly(fd, 5)
    return _read_exactly(fd, int.from_bytes(head[1:], "big")) if len(head) == 5 else b""


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size and (chunk := os.read(fd, size - len(data))):
        data += chunk
    return data


def take_size(packet: bytes) -> None:
    """A resize packet's size as the one the web driver starts with; at the end, exit."""
    if not packet:
        sys.exit(0)
    with contextlib.suppress(ValueError, KeyError, TypeError):
        meta = json.loads(packet)
        os.environ["COLUMNS"], os.environ["ROWS"] = str(meta["width"]), str(meta["height"])


if __name__ == "__main__":
    sys.exit(main())
