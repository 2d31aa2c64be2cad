"""Command line: the dashboard, ``--headless`` output and the ``list``/``start``/``kill``/``attach``
commands.

Exit codes: 0 ok; 2 usage, config, invalid request or quota; 3 wisp not found; 4 wisp failed,
timed out or gave bad output; 5 sprite not found. Errors are one line on stderr. ``attach``
exits with the status of ``wisp attach`` (0 after a detach), or 125 when the passthrough itself
broke down (as ``env`` and ``timeout`` do).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from wreckit_tui import __version__
from wreckit_tui.adapter import Wisp, adopt_orphans
from wreckit_tui.config import KEYS, Config, load_config
from wreckit_tui.contract import require_name
from wreckit_tui.errors import (
    ConfigError,
    SpriteNotFound,
    WispError,
    WreckitError,
)
from wreckit_tui.headless import caption_for, print_table, sprite_json, write_fleet_json
from wreckit_tui.models import Fleet, Sprite
from wreckit_tui.text import sanitize

PROG = "wreckit-tui"
COMMAND_PREFIX = "command_"


def _shared_options(prefix: str = "") -> argparse.ArgumentParser:
    """``--wisp``, ``--config`` and ``--set``, accepted before and after the command.

    The command's copies store under ``prefix`` so they cannot overwrite the ones given before
    it; :func:`_merge_shared` puts the two together (the later wins, ``--set`` lists add up).
    """
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "--wisp",
        metavar="PATH",
        dest=f"{prefix}wisp",
        help="wisp-compatible program to run (overrides wisp_path)",
    )
    shared.add_argument(
        "--config",
        metavar="PATH",
        dest=f"{prefix}config",
        help="config file to read (overrides WRECKIT_TUI_CONFIG)",
    )
    shared.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest=f"{prefix}settings",
        help="override any config key, e.g. --set max_vms=8",
    )
    return shared


def build_parser() -> argparse.ArgumentParser:
    shared, after = _shared_options(), _shared_options(COMMAND_PREFIX)
    parser = argparse.ArgumentParser(
        prog=PROG,
        parents=[shared],
        description="Terminal dashboard for sprites managed by wisp.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--headless", action="store_true", help="print the sprite table once and exit"
    )
    parser.add_argument("--json", action="store_true", help="with --headless: print JSON")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    listing = commands.add_parser("list", parents=[after], help="print the sprites and exit")
    listing.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print a JSON array"
    )
    start = commands.add_parser("start", parents=[after], help="start a sprite")
    start.add_argument("name", metavar="NAME")
    start.add_argument("--memory", metavar="SIZE", help="memory such as 512MiB or 2GiB")
    start.add_argument("--cpus", metavar="N", help="vCPUs, 1..64")
    start.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print it as JSON"
    )
    kill = commands.add_parser("kill", parents=[after], help="kill a sprite")
    kill.add_argument("name", metavar="NAME")
    kill.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print it as JSON"
    )
    attaching = commands.add_parser(
        "attach", parents=[after], help="attach this terminal to a sprite (detach_key detaches)"
    )
    attaching.add_argument("name", metavar="NAME")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wreckit-tui`` script; returns the exit code."""
    parser = build_parser()
    args = _merge_shared(parser.parse_args(argv))
    if args.json and args.command is None and not args.headless:
        parser.error("--json needs --headless (or the list command)")
    try:
        config = load_config(args.config, _flag_overrides(args))
        return _dispatch(args, config)
    except WreckitError as exc:
        _error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _merge_shared(args: argparse.Namespace) -> argparse.Namespace:
    """Fold the options given after the command into those given before it."""
    for name in ("wisp", "config"):
        later = getattr(args, COMMAND_PREFIX + name, None)
        if later is not None:
            setattr(args, name, later)
    args.settings += getattr(args, COMMAND_PREFIX + "settings", [])
    return args


def _flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for setting in args.settings:
        key, sep, value = setting.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in KEYS:
            raise ConfigError(
                f"--set {setting!r}: use KEY=VALUE with a key among {', '.join(KEYS)}"
            )
        overrides[key] = value
    if args.wisp:
        overrides["wisp_path"] = args.wisp
    return overrides


def _dispatch(args: argparse.Namespace, config: Config) -> int:
    adopt_orphans()  # every child of this process is a wisp call's: what they leave is ended
    wisp = Wisp.from_config(config)
    if args.command == "start":
        return asyncio.run(_start(wisp, config, args))
    if args.command == "kill":
        return asyncio.run(_kill(wisp, args))
    if args.command == "attach":
        return _attach(wisp, config, args.name)
    if args.command == "list" or args.headless:
        return asyncio.run(_list(wisp, config, as_json=args.json))
    from wreckit_tui.app import run_dashboard

    return run_dashboard(config, wisp)


async def _list(wisp: Wisp, config: Config, *, as_json: bool) -> int:
    if as_json:
        fleet = await wisp.list()
        _warn_all(fleet)
        write_fleet_json(fleet, sys.stdout)
        return 0
    version_task = asyncio.ensure_future(_version_or_error(wisp))
    try:
        fleet = await wisp.list()
    except BaseException:  # the list's error is the one line to print: no version, no wait
        version_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await version_task
        raise
    version = await version_task
    if isinstance(version, WispError):
        _warn(f"could not read the backend version: {version.message}")
        version = None
    _warn_all(fleet)
    print_table(fleet, caption_for(wisp.backend.label, version, fleet, config.max_vms), sys.stdout)
    return 0


async def _start(wisp: Wisp, config: Config, args: argparse.Namespace) -> int:
    memory = args.memory or config.default_memory
    cpus = args.cpus or config.default_cpus
    await wisp.start(args.name, memory, cpus, max_vms=config.max_vms)
    if args.json:
        fleet = await wisp.list()
        sprite = fleet.get(args.name)
        print(sprite_json(sprite or Sprite(name=args.name)))
    else:
        print(f"started {args.name} ({memory}, {cpus} vCPU)")
    return 0


async def _kill(wisp: Wisp, args: argparse.Namespace) -> int:
    await wisp.kill(args.name)
    print(json.dumps({"name": args.name, "killed": True}) if args.json else f"killed {args.name}")
    return 0


def _attach(wisp: Wisp, config: Config, name: str) -> int:
    """Attach this terminal to sprite ``name``; the exit status is the child's."""
    from wreckit_tui.attach import attach

    require_name(name)
    if name not in asyncio.run(wisp.list()).names():
        raise SpriteNotFound(name)
    outcome = attach(wisp, name, detach_key=config.detach_key)
    if outcome.error is not None:
        raise outcome.error
    if outcome.problem:
        for line in outcome.tail[:-1]:
            print(line, file=sys.stderr)
        _error(outcome.problem)
    if outcome.stop_signal is not None:
        signal.raise_signal(outcome.stop_signal)
    return outcome.exit_code


async def _version_or_error(wisp: Wisp) -> str | WispError:
    """wisp's version, or why it could not be read (a warning, never fatal)."""
    try:
        return await wisp.version()
    except WispError as exc:
        return exc


def _warn_all(fleet: Fleet) -> None:
    """The warnings about wisp's output: those the parse kept, and how many more there were."""
    for warning in fleet.warnings:
        _warn(warning)
    if fleet.more_warnings:
        _warn(f"{fleet.more_warnings} more warnings about wisp's output not shown")


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {sanitize(message)}", file=sys.stderr)


def _error(message: str) -> None:
    print(f"{PROG}: error: {sanitize(message)}", file=sys.stderr)
