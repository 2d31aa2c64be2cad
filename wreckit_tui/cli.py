"""Command line: the dashboard, ``--headless`` output, the ``list``/``start``/``kill``/``attach``
commands and the ``mcp`` server; the agent commands (``run``, ``exec``, ``send``,
``capture``) are :mod:`wreckit_tui.cli_agents`.

Exit codes: 0 ok; 2 usage, config, invalid request or quota; 3 wisp not found; 4 wisp failed,
timed out or gave bad output; 5 sprite not found; 6 the backend does not support what was asked
(starting a stopped sprite again). Errors are one line on stderr. ``attach`` exits with the status
of ``wisp attach`` (0 after a detach), or 125 when the passthrough itself broke down (as ``env``
and ``timeout`` do).
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
from wreckit_tui.backend_api import SpriteManager, open_backend
from wreckit_tui.cli_fleets import list_fleets, load_settings, named, prepare
from wreckit_tui.config import KEYS, Config, attach_settings
from wreckit_tui.contract import DEFAULT_CPUS, DEFAULT_MEMORY, MAX_CPUS, require_sprite_name
from wreckit_tui.errors import (
    ConfigError,
    SpriteNotFound,
    StoppedSprite,
    UsageError,
    WispError,
    WispInterrupted,
    WreckitError,
)
from wreckit_tui.models import Sprite
from wreckit_tui.processes import adopt_orphans
from wreckit_tui.stderr_lines import PROG, say_error, say_warning, say_warnings
from wreckit_tui.stop_signals import hold, stopping_signals

COMMAND_PREFIX = "command_"


def _shared_options(prefix: str = "") -> argparse.ArgumentParser:
    """``--wisp``, ``--backend``, ``--config`` and ``--set``, accepted before and after the command.

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
        "--backend",
        metavar="KIND",
        dest=f"{prefix}backend",
        help="wisp (the default) or sprites (Fly.io); with [[backends]]: one of them by name",
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


DETACH_KEY = Config.model_fields["detach_key"].default
NAME_RULE = "NAME is 1-63 characters of a-z, 0-9 and '-', starting with a letter."
EXIT_CODES = (
    "exit codes: 0 ok; 1 attach broke down; 2 usage, configuration, invalid request or quota; "
    "3 the backend is not found (or, on Sprites, its token is missing or rejected); "
    "4 the backend failed, timed out or printed bad output; "
    "5 no such sprite; 6 the backend does not support it"
)


def _command(commands: Any, name: str, parent: argparse.ArgumentParser, summary: str, about: str):
    """A subcommand with a one-line ``summary`` (in the list) and a ``about`` paragraph."""
    return commands.add_parser(
        name, parents=[parent], help=summary, description=about, epilog=EXIT_CODES
    )


def build_parser() -> argparse.ArgumentParser:
    shared, after = _shared_options(), _shared_options(COMMAND_PREFIX)
    parser = argparse.ArgumentParser(
        prog=PROG,
        parents=[shared],
        description="Terminal dashboard for sprites (sandboxed agents) managed by wisp, or by "
        "the built-in provider wreckit-sandbox. With no command it opens the dashboard; "
        "--headless and the commands below print and exit.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--headless", action="store_true", help="print the sprite table once and exit"
    )
    parser.add_argument("--json", action="store_true", help="with --headless: print JSON")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    listing = _command(
        commands,
        "list",
        after,
        "print the sprites and exit",
        "Print the sprite table once (as --headless does), or with --json a JSON array.",
    )
    listing.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print a JSON array"
    )
    start = _command(
        commands,
        "start",
        after,
        "start a sprite (or a stopped one again)",
        f"Start a new sprite NAME. {NAME_RULE} The name, size, cpus and the max_vms quota are "
        "checked before anything runs. NAME of a stopped sprite starts it again with its disk "
        "as it was left, where the backend can (contract v1.1 resume); --memory and --cpus are "
        "refused then.",
    )
    start.add_argument("name", metavar="NAME", help="the sprite's name")
    start.add_argument(
        "--memory",
        metavar="SIZE",
        help=f"a whole number and MiB or GiB (default: default_memory, {DEFAULT_MEMORY})",
    )
    start.add_argument(
        "--cpus",
        metavar="N",
        help=f"vCPUs, 1..{MAX_CPUS} (default: default_cpus, {DEFAULT_CPUS})",
    )
    start.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print it as JSON"
    )
    kill = _command(
        commands,
        "kill",
        after,
        "kill a sprite",
        f"Kill sprite NAME; its disk goes with it. {NAME_RULE}",
    )
    kill.add_argument("name", metavar="NAME", help="the sprite's name")
    kill.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print it as JSON"
    )
    attaching = _command(
        commands,
        "attach",
        after,
        "attach this terminal to a sprite",
        f"Attach this terminal to sprite NAME until you detach with detach_key (default "
        f"{DETACH_KEY}) or the sprite ends. Every other key goes to the sprite. {NAME_RULE}",
    )
    attaching.add_argument("name", metavar="NAME", help="the sprite's name")
    _add_agent_commands(commands, after)
    return parser


def _add_agent_commands(commands: Any, parent: argparse.ArgumentParser) -> None:
    from wreckit_tui import cli_agents, cli_serve

    def make(name: str, summary: str, about: str) -> argparse.ArgumentParser:
        return _command(commands, name, parent, summary, about)

    cli_agents.add_commands(make)
    cli_serve.add_command(make)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wreckit-tui`` script; returns the exit code."""
    parser = build_parser()
    args = _merge_shared(_take_command(parser, *parser.parse_known_args(argv)))
    if args.json and args.command is None and not args.headless:
        parser.error("--json needs --headless (or the list command)")
    try:
        config = load_settings(args, _flag_overrides(args))
        return _dispatch(args, config)
    except WreckitError as exc:
        say_error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _take_command(
    parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]
) -> argparse.Namespace:
    """``run NAME --detach -- CMD``: argparse leaves a CMD that follows an option over."""
    if extra[:1] == ["--"] and args.command == "run" and not args.argv:
        args.argv = extra[1:]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _merge_shared(args: argparse.Namespace) -> argparse.Namespace:
    """Fold the options given after the command into those given before it."""
    for name in ("wisp", "backend", "config"):
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
    if args.backend:
        overrides["backend"] = args.backend
    return overrides


def _dispatch(args: argparse.Namespace, config: Config) -> int:
    adopt_orphans()  # every child of this process is a wisp call's: what they leave is ended
    wisp = open_backend(config)
    if config.backends:
        prepare(wisp, args)  # type: ignore[arg-type]
    if args.command == "start":
        status = asyncio.run(_start(wisp, config, args))
        hold()  # started and reported: no signal may now end this process as if it had failed
        return status
    if args.command == "kill":
        return asyncio.run(_kill(wisp, args))
    if args.command == "attach":
        return _attach(wisp, config, args.name)
    from wreckit_tui.cli_agents import COMMANDS as AGENT_COMMANDS
    from wreckit_tui.cli_serve import COMMANDS as SERVE_COMMANDS

    command = AGENT_COMMANDS.get(args.command) or SERVE_COMMANDS.get(args.command)
    if command is not None:
        return command(wisp, config, args)
    if args.command == "list" or args.headless:
        return asyncio.run(_list(wisp, config, as_json=args.json))
    _require_terminal()
    from wreckit_tui.app import run_dashboard

    return run_dashboard(config, wisp)


def _require_terminal() -> None:
    """The dashboard draws on a terminal and reads keys from one: refuse pipes and files."""
    for stream, name in ((sys.stdin, "standard input"), (sys.stdout, "standard output")):
        if not stream.isatty():
            raise UsageError(
                f"the dashboard needs a terminal, but {name} is not one: "
                "use --headless (or --headless --json) to print the sprites"
            )


async def _list(wisp: SpriteManager, config: Config, *, as_json: bool) -> int:
    if config.backends:
        return await list_fleets(wisp, config, as_json=as_json)  # type: ignore[arg-type]
    from wreckit_tui.headless import caption_for, print_table, write_fleet_json
    from wreckit_tui.watching import list_watched  # the table and activity: only where needed

    if as_json:
        fleet = await list_watched(wisp, config.activity.overrides())
        say_warnings(fleet)
        write_fleet_json(fleet, sys.stdout)
        return 0
    version_task = asyncio.ensure_future(_version_or_error(wisp))
    try:
        fleet = await list_watched(wisp, config.activity.overrides())
    except BaseException:  # the list's error is the one line to print: no version, no wait
        version_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await version_task
        raise
    version = await version_task
    if isinstance(version, WispError):
        say_warning(f"could not read the backend version: {version.message}")
        version = None
    say_warnings(fleet)
    limit = fleet.org_vms[1] if fleet.org_vms else config.max_vms  # the org's own, if told
    print_table(fleet, caption_for(wisp.backend.label, version, fleet, limit), sys.stdout)
    return 0


async def _start(wisp: SpriteManager, config: Config, args: argparse.Namespace) -> int:
    """Start a new sprite, or start a stopped one again (as it was: no --memory or --cpus).

    SIGINT, SIGTERM and SIGHUP stop the start instead of this process: it either finished by
    then (reported as done) or was undone (exit 128 + the signal).
    """
    memory = args.memory or config.default_memory
    cpus = args.cpus or config.default_cpus
    resumed = await start_or_resume(wisp, config, args)
    if args.json:
        from wreckit_tui.headless import sprite_json

        fleet = await wisp.list()
        sprite = fleet.get(args.name)
        print(sprite_json(sprite or Sprite(name=args.name)))
    elif resumed:
        print(f"started {args.name} again")
    else:
        print(f"started {args.name} ({memory}, {cpus} vCPU)")
    return 0


async def start_or_resume(
    wisp: SpriteManager,
    config: Config,
    args: argparse.Namespace,
    command: list[str] | None = None,
    *,
    keep_signals: bool = True,
) -> bool:
    """Start sprite ``args.name`` (running ``command`` where given), or a stopped one again
    when neither a command, --memory nor --cpus is given; whether it was started again.

    SIGINT, SIGTERM and SIGHUP stop the start instead of this process: it either finished by
    then or was undone (:class:`WispInterrupted`, exit 128 + the signal). After a start that
    finished they are only noted (``keep_signals``): the caller reports it, then calls
    :func:`~wreckit_tui.stop_signals.hold`.
    """
    memory = args.memory or config.default_memory
    cpus = args.cpus or config.default_cpus
    with stopping_signals(keep=keep_signals) as stop:
        try:
            await wisp.start(
                args.name,
                memory,
                cpus,
                max_vms=config.max_vms,
                command=command or None,
                stop=stop.event,
            )
        except StoppedSprite:
            if command or args.memory or args.cpus:
                raise
            await wisp.resume(args.name, max_vms=config.max_vms, stop=stop.event)
            return True
        except WispInterrupted as exc:
            exc.exit_code = 128 + stop.caught[0]
            raise
    return False


async def _kill(wisp: SpriteManager, args: argparse.Namespace) -> int:
    await wisp.kill(args.name)
    print(json.dumps({**named(args.name), "killed": True}) if args.json else f"killed {args.name}")
    return 0


def _attach(wisp: SpriteManager, config: Config, name: str) -> int:
    """Attach this terminal to sprite ``name``; the exit status is the child's."""
    from wreckit_tui.attach import attach

    require_sprite_name(name)
    if name not in asyncio.run(wisp.list()).names():
        raise SpriteNotFound(name)
    outcome = attach(wisp, name, **attach_settings(config))
    if outcome.warning:
        say_warning(outcome.warning)
    if outcome.error is not None:
        raise outcome.error
    if outcome.problem:
        for line in outcome.tail[:-1]:
            print(line, file=sys.stderr)
        say_error(outcome.problem)
    if outcome.stop_signal is not None:
        signal.raise_signal(outcome.stop_signal)
    return outcome.exit_code


async def _version_or_error(wisp: SpriteManager) -> str | WispError:
    """wisp's version, or why it could not be read (a warning, never fatal)."""
    try:
        return await wisp.version()
    except WispError as exc:
        return exc
