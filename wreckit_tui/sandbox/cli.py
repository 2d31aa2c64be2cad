"""Command line of ``wreckit-sandbox``: the wisp CLI contract, plus ``exec``.

Exit status: 0 ok; 1 a failure (not found, already exists, not running, tmux or bubblewrap
failed); 2 a usage error or invalid request. ``exec`` exits with the command's status, else 125
when the provider itself could not run it, whatever the reason (``exec NAME --`` without a
command included; only a usage error argparse catches, such as a missing NAME, exits 2), 126 when
the command cannot be run and 127 when it does not exist. Until ``exec`` or ``attach`` hands
over to its program, SIGTERM, SIGHUP and SIGINT end the provider with 128 + the signal's number,
once what it had half done is cleaned up (a ``start`` cut short leaves no sandbox behind). A signal
the caller ignores (``nohup``, ``trap '' HUP``) stays ignored, for the program run too.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence

from wreckit_tui import __version__
from wreckit_tui.sandbox import PROG, STOP_SIGNALS
from wreckit_tui.sandbox.errors import CannotRun, SandboxError
from wreckit_tui.sandbox.spec import DEFAULT_CPUS, DEFAULT_MEMORY

EXEC_FAILED = 125


class Stopped(BaseException):
    """A stop signal arrived: it unwinds the stack like Ctrl-C, so cleanup code runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Local sandboxes (tmux + bubblewrap) behind the wisp CLI contract."
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    listing = commands.add_parser("list", help="print every sandbox")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    start = commands.add_parser("start", help="start a sandbox")
    start.add_argument("name", metavar="NAME")
    start.add_argument("--memory", metavar="SIZE", default=DEFAULT_MEMORY, help="like 512MiB")
    start.add_argument("--cpus", metavar="N", default=str(DEFAULT_CPUS), help="1..64")
    start.add_argument(
        "--no-network", action="store_false", dest="network", help="no network at all"
    )
    kill = commands.add_parser("kill", help="kill a sandbox and delete its workspace")
    kill.add_argument("name", metavar="NAME")
    attach = commands.add_parser("attach", help="attach this terminal to a sandbox's shell")
    attach.add_argument("name", metavar="NAME")
    run = commands.add_parser("exec", help="run a command in a sandbox, without a terminal")
    run.add_argument("name", metavar="NAME")
    run.add_argument("argv", metavar="-- CMD", nargs=argparse.REMAINDER, help="the command")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wreckit-sandbox`` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    in_exec = args.command == "exec"
    for signum in STOP_SIGNALS:  # Python's own SIGINT handler counts as the default
        if signal.getsignal(signum) in {signal.SIG_DFL, signal.default_int_handler}:
            signal.signal(signum, _stop)
    try:
        return _dispatch(args)
    except CannotRun as exc:
        _error(exc.message)
        return exc.exit_code
    except SandboxError as exc:
        _error(exc.message)
        return EXEC_FAILED if in_exec else exc.exit_code
    except OSError as exc:
        _error(str(exc))
        return EXEC_FAILED if in_exec else 1
    except Stopped as stop:
        return 128 + stop.signum


def _stop(signum: int, _frame: object) -> None:
    """Raise :class:`Stopped` for the first stop signal; later ones leave its cleanup alone."""
    for other in STOP_SIGNALS:
        if signal.getsignal(other) is _stop:
            signal.signal(other, _ignore)
    raise Stopped(signum)


def _ignore(_signum: int, _frame: object) -> None:
    """A handler that does nothing; unlike ``SIG_IGN`` it is not inherited by programs run."""


def _dispatch(args: argparse.Namespace) -> int:
    from wreckit_tui.sandbox.provider import Provider
    from wreckit_tui.sandbox.store import Home

    provider = Provider(Home.from_env())
    if args.command == "list":
        _print_list(provider.list(), as_json=args.json)
    elif args.command == "start":
        meta = provider.start(args.name, args.memory, args.cpus, network=args.network)
        keys = ("name", "id", "pid", "isolation", "created_at")
        print(json.dumps({"state": "running", **{key: meta.get(key) for key in keys}}))
    elif args.command == "kill":
        provider.kill(args.name)
    elif args.command == "attach":
        provider.attach(args.name)
    else:
        provider.exec(args.name, args.argv)
    return 0


def _print_list(records: list[dict], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(records))
        return
    for record in records:
        print(
            f"{record['name']}\t{record['state']}\t{record['cpu_percent']}%\t"
            f"{record['memory_used']}MiB\t{record['isolation']}"
        )


def _error(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)
