"""The agent commands of the command line: ``run``, ``exec``, ``send``, ``capture`` and ``wait``.

Each is a command of contract v1.1 where the backend announces it; elsewhere it exits 6 with one
line (a v1 backend still runs ``run NAME`` without a command: a shell). ``run`` starts a sprite
with a program and attaches this terminal to it until the program ends (the command exits with
its status) or the detach key (exit 0, the program keeps running). ``exec`` passes stdin,
stdout, stderr and the exit status of a command in a sprite through. ``wait`` polls until a
sprite's agent is ``working``, ``waiting``, ``idle`` or ``exited`` (exit 4 on timeout).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType

from wreckit_tui.activity import STATES, Watch
from wreckit_tui.backend_api import SpriteManager
from wreckit_tui.cli import DETACH_KEY, NAME_RULE, start_or_resume
from wreckit_tui.config import Config, attach_settings
from wreckit_tui.contract import require_sprite_name
from wreckit_tui.errors import InvalidRequest, SpriteNotFound, UsageError, WreckitError
from wreckit_tui.models import Fleet, Sprite
from wreckit_tui.stderr_lines import say_error, say_warning
from wreckit_tui.stop_signals import hold

Maker = Callable[[str, str, str], argparse.ArgumentParser]
"""Makes a subcommand from its name, one-line summary and paragraph (``cli._command``)."""
END_WAIT = 5.0
"""Seconds the end of an attach waits for the sprite's program to be listed as ended."""


def add_commands(make: Maker) -> None:
    """Add ``run``, ``exec``, ``send``, ``capture``, ``wait`` and ``mcp`` to the parser."""
    for add in (_add_run, _add_exec, _add_send, _add_capture, _add_wait, _add_mcp):
        add(make)


def _add_run(make: Maker) -> None:
    run = make(
        "run",
        "start a sprite running a program and attach to it",
        f"Start sprite NAME with CMD as its program (contract v1.1), or a stopped NAME again when "
        f"no CMD is given, then attach this terminal to it. Exits with CMD's status when it ends; "
        f"the detach key ({DETACH_KEY}) leaves it running and exits 0. {NAME_RULE}",
    )
    run.add_argument("name", metavar="NAME", help="the sprite's name")
    run.add_argument("argv", nargs="*", metavar="CMD", help="the program and its arguments")
    run.add_argument("--memory", metavar="SIZE", help="a whole number and MiB or GiB")
    run.add_argument("--cpus", metavar="N", help="vCPUs, 1..64")
    run.add_argument("--detach", action="store_true", help="print the sprite and return at once")
    run.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="with --detach: as JSON"
    )


def _add_exec(make: Maker) -> None:
    run = make(
        "exec",
        "run a command in a sprite, passing its input, output and status through",
        "Run CMD inside sprite NAME without a terminal (write `--` before CMD). Standard input "
        "(unless it is a terminal) goes to CMD, read whole first (up to max_output_bytes); its "
        "stdout and stderr come back, each cut at max_output_bytes with a warning, and its exit "
        f"status is this command's. {NAME_RULE}",
    )
    run.add_argument("name", metavar="NAME", help="the sprite's name")
    run.add_argument("argv", nargs="+", metavar="CMD", help="the program and its arguments")
    run.add_argument(
        "--timeout",
        metavar="S",
        type=_seconds,
        help="seconds before CMD is ended (default: the timeout setting)",
    )


def _add_send(make: Maker) -> None:
    send = make(
        "send",
        "type text into a sprite's terminal",
        "Type TEXT into the main terminal of sprite NAME as literal keys (write `--` before a "
        f"TEXT that starts with '-'). {NAME_RULE}",
    )
    send.add_argument("name", metavar="NAME", help="the sprite's name")
    send.add_argument("text", metavar="TEXT", help="the keys to type")
    send.add_argument("--enter", action="store_true", help="then press Enter")


def _add_capture(make: Maker) -> None:
    capture = make(
        "capture",
        "print the text on a sprite's terminal",
        f"Print the text on the main terminal of sprite NAME, sanitized. {NAME_RULE}",
    )
    capture.add_argument("name", metavar="NAME", help="the sprite's name")
    capture.add_argument("--lines", metavar="N", type=int, help="the last N lines")
    capture.add_argument("--ansi", action="store_true", help="keep colours (SGR), nothing else")


def _add_wait(make: Maker) -> None:
    wait = make(
        "wait",
        "wait until a sprite's agent is working, waiting, idle or exited",
        "Poll (every poll_interval, at most 1 s) until the program of sprite NAME is in the "
        "STATE given, as the ACTIVITY column tells it; exit 0 then, 4 after --timeout seconds, "
        f"5 if there is no such sprite. {NAME_RULE}",
    )
    wait.add_argument("name", metavar="NAME", help="the sprite's name")
    wait.add_argument(
        "--until", required=True, choices=STATES, metavar="STATE", help="|".join(STATES)
    )
    wait.add_argument("--timeout", metavar="S", type=_seconds, help="seconds to wait at most")


def _add_mcp(make: Maker) -> None:
    """``mcp [--read-only]``: the agent tools over the Model Context Protocol, on stdio."""
    serving = make(
        "mcp",
        "serve agent tools over MCP on stdio",
        "Serve tools that list, spawn, type into and read, exec in and kill sprites over the Model "
        "Context Protocol on stdio until stdin closes or SIGTERM, under every rule of the commands."
        " Register it: claude mcp add wreckit -- wreckit-tui mcp",
    )
    read_only = "offer only list_sprites and attach_sprite, which then only reads the screen"
    serving.add_argument("--read-only", action="store_true", help=read_only)


def serve_mcp(wisp: SpriteManager, config: Config, args: argparse.Namespace) -> int:
    from wreckit_tui.mcp_server import serve

    return serve(wisp, config, read_only=args.read_only)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 10**9:
        raise argparse.ArgumentTypeError(f"invalid seconds {text!r}: use a positive number")
    return value


# -- running them ---------------------------------------------------------------------------------


def run(wisp: SpriteManager, config: Config, args: argparse.Namespace) -> int:
    """``run``: start (or start again), then attach or, with --detach, print the sprite."""
    require_sprite_name(args.name)
    if not args.detach and not sys.stdin.isatty():
        raise UsageError(
            "run attaches this terminal, but standard input is not one: use --detach, then "
            f"`wreckit-tui capture {args.name}` and `wreckit-tui send {args.name}`"
        )
    asyncio.run(start_or_resume(wisp, config, args, command=args.argv, keep_signals=args.detach))
    if args.detach:
        status = asyncio.run(_show(wisp, args.name, as_json=args.json))
        hold()  # started and reported: no signal may now end this process as if it had failed
        return status
    return _attend(wisp, config, args.name)


async def _show(wisp: SpriteManager, name: str, *, as_json: bool) -> int:
    from wreckit_tui.headless import print_table, sprite_json  # only this command prints them

    sprite = (await wisp.list()).get(name) or Sprite(name=name)
    if as_json:
        print(sprite_json(sprite))
    else:
        caption = f"started {name}: wreckit-tui attach {name}"
        print_table(Fleet(sprites=(sprite,)), caption, sys.stdout)
    return 0


def _attend(wisp: SpriteManager, config: Config, name: str) -> int:
    """Attach until the detach key (0) or the end of the sprite's program (its status)."""
    from wreckit_tui.attach import attach

    with _EndWatch(wisp, name, min(config.poll_interval, 1.0)) as watch:
        outcome = attach(wisp, name, end_fd=watch.read_fd, **attach_settings(config))
    if outcome.warning:
        say_warning(outcome.warning)
    if outcome.error is not None:
        raise outcome.error
    if outcome.stop_signal is not None:
        signal.raise_signal(outcome.stop_signal)
    if outcome.detached:
        return 0
    ended = asyncio.run(_ended(wisp, name))
    if ended is None or ended.exit_code is None:
        if outcome.problem:
            say_error(outcome.problem)
        return outcome.exit_code
    asyncio.run(_print_screen(wisp, name))
    return _status(ended.exit_code)


async def _ended(wisp: SpriteManager, name: str) -> Sprite | None:
    """The sprite once its program is listed as ended; ``None`` for a shell (no program) or
    one still running after :data:`END_WAIT`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + END_WAIT
    while True:
        sprite = (await wisp.list()).get(name)
        if sprite is None or sprite.command is None:
            return None
        if sprite.state == "stopped" or loop.time() > deadline:
            return sprite if sprite.state == "stopped" else None
        await asyncio.sleep(0.1)


async def _print_screen(wisp: SpriteManager, name: str) -> None:
    """What the program left on its terminal (the attach cleared the screen), where it can."""
    if "capture" in await wisp.capabilities():
        sys.stdout.write(await wisp.capture(name, ansi=sys.stdout.isatty()))
        sys.stdout.flush()


def _status(code: int) -> int:
    """An exit status a shell can take: 128 + N for signal N, else the low byte."""
    return 128 - code if code < 0 else code & 0xFF


class _EndWatch:
    """While attached: lists the fleet every ``interval`` seconds in a thread and makes
    ``read_fd`` readable once the sprite is stopped (its program ended), to end the attach."""

    def __init__(self, wisp: SpriteManager, name: str, interval: float) -> None:
        self.wisp, self.name, self.interval = wisp, name, interval
        self.read_fd, self.write_fd = os.pipe()
        self.leaving = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="end-watch", daemon=True)

    def __enter__(self) -> _EndWatch:
        self.thread.start()
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.leaving.set()
        self.thread.join()
        os.close(self.read_fd)
        os.close(self.write_fd)

    def _watch(self) -> None:
        while not self.leaving.wait(self.interval):
            try:
                sprite = asyncio.run(self.wisp.list()).get(self.name)
            except WreckitError:
                continue  # the attach goes on; the end is checked again after it
            if sprite is not None and sprite.state == "stopped":
                os.write(self.write_fd, b"x")
                return


def exec_command(wisp: SpriteManager, config: Config, args: argparse.Namespace) -> int:
    """``exec``: CMD's stdin, stdout, stderr and exit status, passed through."""
    require_sprite_name(args.name)
    stdin = b"" if sys.stdin.isatty() else _read_input(config.max_output_bytes)
    done = asyncio.run(
        wisp.exec(
            args.name,
            args.argv,
            stdin=stdin,
            timeout=args.timeout,
            max_output=config.max_output_bytes,
        )
    )
    sys.stdout.buffer.write(done.stdout)
    sys.stdout.flush()
    sys.stderr.write(done.stderr)
    for cut, stream in ((done.stdout_truncated, "stdout"), (done.stderr_truncated, "stderr")):
        if cut:
            _warn_cut(stream, config.max_output_bytes)
    return done.returncode


def _read_input(limit: int) -> bytes:
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise InvalidRequest(f"standard input is over max_output_bytes ({limit} bytes)")
    return data


def _warn_cut(stream: str, limit: int) -> None:
    print(f"wreckit-tui: warning: {stream} was cut at {limit} bytes", file=sys.stderr)


def send(wisp: SpriteManager, _config: Config, args: argparse.Namespace) -> int:
    asyncio.run(wisp.send(args.name, args.text, enter=args.enter))
    return 0


def capture(wisp: SpriteManager, _config: Config, args: argparse.Namespace) -> int:
    sys.stdout.write(asyncio.run(wisp.capture(args.name, lines=args.lines, ansi=args.ansi)))
    return 0


class WaitTimedOut(WreckitError):
    """``wait`` ran out of time before the sprite got there."""

    exit_code = 4


def wait(wisp: SpriteManager, config: Config, args: argparse.Namespace) -> int:
    """``wait``: 0 once the sprite is in the state asked for; :class:`WaitTimedOut` (4) after
    the timeout, :class:`SpriteNotFound` (5) once it is not listed."""
    require_sprite_name(args.name)
    return asyncio.run(_wait(wisp, config, args.name, args.until, args.timeout))


async def _wait(
    wisp: SpriteManager, config: Config, name: str, until: str, timeout: float | None
) -> int:
    from wreckit_tui.watching import rules_of, watch_fleet  # only this command watches

    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    interval = min(config.poll_interval, 1.0)
    watch = Watch(rules_of(config.activity.overrides()))
    while True:
        fleet = await wisp.list()
        if fleet.get(name) is None:
            raise SpriteNotFound(name)
        seen = await watch_fleet(wisp, watch, fleet, time.time())
        state = seen[name].activity.state
        if state == until:
            return 0
        remaining = interval if deadline is None else deadline - loop.time()
        if remaining <= 0:
            said = state or "unknown"
            raise WaitTimedOut(f"{name} is not {until} after {timeout:g}s (it is {said})")
        await asyncio.sleep(min(interval, remaining))


COMMANDS: dict[str, Callable[[SpriteManager, Config, argparse.Namespace], int]] = {
    "run": run,
    "exec": exec_command,
    "send": send,
    "capture": capture,
    "wait": wait,
    "mcp": serve_mcp,
}
"""Each agent command's function, by name."""
