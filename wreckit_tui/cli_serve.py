"""The ``serve`` command: its options and the checks made before anything is served.

The server itself (:mod:`wreckit_tui.web_server`, with aiohttp and textual-serve) is imported
only when ``serve`` runs, so the dashboard and the other commands never pay for it.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Callable
from typing import Any

from wreckit_tui.backend_api import SpriteManager
from wreckit_tui.config import Config
from wreckit_tui.errors import UsageError

SHARED_OPTIONS = ("config", "wisp", "backend")
"""The options (besides ``--set``) that choose the settings: each dashboard gets them too."""
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
REMOTE_WARNING = (
    "wreckit-tui: warning: serving on {host}, not loopback: anyone who has the URL (its token) "
    "controls the fleet: launches, kills, types into and attaches to sprites"
)


def add_command(make: Callable[[str, str, str], argparse.ArgumentParser]) -> None:
    """Add ``serve [--host H] [--port P] [--allow-remote] [--read-only]`` to the parser."""
    serving = make(
        "serve",
        "serve the dashboard to web browsers",
        "Serve the dashboard over HTTP, one dashboard per browser tab, with a web terminal for "
        "each sprite (a in the dashboard). The first line printed is the URL to open; it holds "
        "a random access token, which every page and websocket needs. Runs until Ctrl+C or "
        "SIGTERM, which end every dashboard and terminal it started.",
    )
    serving.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})"
    )
    serving.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    serving.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow an address other than loopback (anyone with the URL controls the fleet)",
    )
    serving.add_argument(
        "--read-only",
        action="store_true",
        help="serve dashboards in which launch, kill, send and attach are off",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return port


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only: ``localhost`` or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dashboard_options(args: argparse.Namespace) -> list[str]:
    """The options each served dashboard is started with: those ``serve`` was given."""
    options: list[str] = []
    for name in SHARED_OPTIONS:
        value = getattr(args, name, None)
        if value:
            options += [f"--{name}", value]
    for setting in args.settings:
        options += ["--set", setting]
    if args.read_only:
        options.append("--read-only")
    return options


def serve(wisp: SpriteManager, config: Config, args: argparse.Namespace) -> int:
    """Check the address, then serve until stopped; the exit code."""
    if not is_loopback(args.host):
        if not args.allow_remote:
            raise UsageError(
                f"--host {args.host} is not loopback: add --allow-remote to serve it to other "
                "machines (anyone with the URL then controls the fleet)"
            )
        print(REMOTE_WARNING.format(host=args.host), file=sys.stderr, flush=True)
    from wreckit_tui.web_server import run_server

    return run_server(wisp, config, args, dashboard_options(args))


COMMANDS: dict[str, Callable[[SpriteManager, Config, Any], int]] = {"serve": serve}
"""The serve command's function, by name."""
