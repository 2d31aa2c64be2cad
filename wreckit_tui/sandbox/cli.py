"""Command line of ``wreckit-sandbox``: the wisp CLI contract v1 and all of v1.1 (a main
program, resume, ``exec``, ``capture``, ``send``, ``capabilities``).

Exit status: 0 ok; 1 a failure (not found, already running, not running, tmux or bubblewrap
failed); 2 a usage error or invalid request. ``exec`` exits with the command's status, else 125
when the provider itself could not run it, whatever the reason (``exec NAME --`` without a
command included; only a usage error argparse catches, such as a missing NAME, exits 2), 126 when
the command cannot be run and 127 when it does not exist. Until ``exec`` or ``attach`` hands
over to its program, SIGTERM, SIGHUP and SIGINT end the provider with 128 + the signal's number,
once what it had half done is cleaned up: a ``start`` cut short leaves no sandbox behind, and one
that was done is reported done. A signal the caller ignores (``nohup``, ``trap '' HUP``) stays
ignored, for the program run too; ``exec`` passes the others on to its command.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from types import SimpleNamespace

from wreckit_tui.sandbox import PROG, signals
from wreckit_tui.sandbox.errors import CannotRun, SandboxError

TYPE_CHECKING = False  # typing, like argparse, is imported only where needed: capture starts fast
if TYPE_CHECKING:
    import argparse

    from wreckit_tui.sandbox.store import Home
    from wreckit_tui.sandbox.tmux import Tmux

EXEC_FAILED = 125
SERVE = "serve"
"""Private: ``wreckit-sandbox serve`` answers read-only commands over its stdin and stdout for
as long as its caller keeps them open (see :mod:`wreckit_tui.sandbox.serve`)."""
CAPABILITIES = {
    "contract": "1.1",
    "commands": ["exec", "capture", "send", "resume", "start-command"],
    "fields": ["command", "exit_code", "activity_at", "title"],
}
"""What ``capabilities --json`` announces: the wisp contract v1.1 commands the provider has."""


@functools.cache  # built once per process: ``serve`` parses every request
def build_parser() -> argparse.ArgumentParser:
    import argparse

    from wreckit_tui import __version__
    from wreckit_tui.sandbox.spec import DEFAULT_CPUS, DEFAULT_MEMORY, DEFAULT_PIDS

    parser = argparse.ArgumentParser(
        prog=PROG, description="Local sandboxes (tmux + bubblewrap) behind the wisp CLI contract."
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    listing = commands.add_parser("list", help="print every sandbox")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    start = commands.add_parser(
        "start",
        help="start a sandbox, or start a stopped one again with its workspace",
        usage=f"{PROG} start NAME [--memory SIZE] [--cpus N] [--pids N] [--no-network] [-- CMD...]",
        epilog="CMD: the sandbox's main program instead of a shell; its screen and exit status "
        "stay after it ends, until kill",
    )
    start.add_argument("name", metavar="NAME")
    start.add_argument("--memory", metavar="SIZE", help=f"like 512MiB (default {DEFAULT_MEMORY})")
    start.add_argument("--cpus", metavar="N", help=f"1..64 (default {DEFAULT_CPUS})")
    start.add_argument(
        "--pids", metavar="N", help=f"most processes at once, 16.. (default {DEFAULT_PIDS})"
    )
    start.add_argument(
        "--no-network", action="store_false", dest="network", default=None, help="no network"
    )

    kill = commands.add_parser("kill", help="kill a sandbox and delete its workspace")
    kill.add_argument("name", metavar="NAME")
    attach = commands.add_parser("attach", help="attach this terminal to a sandbox's shell")
    attach.add_argument("name", metavar="NAME")
    run = commands.add_parser("exec", help="run a command in a sandbox, without a terminal")
    run.add_argument("--in-pane", action="store_true", help=argparse.SUPPRESS)
    run.add_argument("name", metavar="NAME")
    run.add_argument("argv", metavar="-- CMD", nargs=argparse.REMAINDER, help="the command")
    capture = commands.add_parser("capture", help="print the text on a sandbox's terminal")
    capture.add_argument("name", metavar="NAME")
    capture.add_argument(
        "--lines", metavar="N", type=int, help="the last N lines (default: the screen)"
    )
    capture.add_argument("--ansi", action="store_true", help="keep colours (SGR sequences)")
    send = commands.add_parser(
        "send",
        help="type TEXT into a sandbox's terminal",
        usage=f"{PROG} send NAME [--enter] -- TEXT",
    )
    send.add_argument("name", metavar="NAME")
    send.add_argument("--enter", action="store_true", help="then press Enter")
    capabilities = commands.add_parser(
        "capabilities", help="what this provider offers beyond the wisp contract v1"
    )
    capabilities.add_argument("--json", action="store_true", help="print it as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wreckit-sandbox`` script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == [SERVE]:
        from wreckit_tui.sandbox.serve import serve

        return serve()
    args = quick_args(argv) or parse(argv)
    signals.install()
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Run one parsed command; its exit status (a failure is one line on stderr)."""
    in_exec = args.command == "exec"
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
    except signals.Stopped as stop:
        signals.block_for_good()
        return 128 + stop.signum


def quick_args(argv: list[str]) -> argparse.Namespace | SimpleNamespace | None:
    """``capture NAME [--lines N] [--ansi]`` and ``exec NAME -- CMD...`` read without argparse,
    which takes longer to import than a capture takes; ``None`` for anything else (:func:`parse`
    reads it then, and says what is wrong)."""
    if argv[:1] == ["exec"] and len(argv) > 3 and argv[2] == "--" and argv[1][:1] != "-":
        return SimpleNamespace(command="exec", name=argv[1], argv=argv[3:], in_pane=False)
    if argv[:1] != ["capture"]:
        return None
    args = SimpleNamespace(command="capture", name=None, lines=None, ansi=False)
    words = iter(argv[1:])
    for word in words:
        if word == "--ansi":
            args.ansi = True
        elif word == "--lines" and (count := next(words, "")).isascii() and count.isdigit():
            args.lines = int(count)
        elif word.startswith("-") or args.name is not None:
            return None
        else:
            args.name = word
    return args if args.name is not None else None


def parse(argv: list[str]) -> argparse.Namespace:
    """The arguments; what follows the first ``--`` is the program (``start``, ``exec``) or
    the text (``send``), taken as it is."""
    cut = argv.index("--") if "--" in argv else len(argv)
    args = build_parser().parse_args(argv[:cut])
    rest = argv[cut + 1 :]
    if args.command == "exec":
        args.argv = args.argv + rest
    elif args.command in {"start", "send"}:
        args.rest = rest
    elif rest:
        build_parser().error(f"{args.command} takes nothing after --")
    return args


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "capabilities":
        import json

        print(json.dumps(CAPABILITIES))
        return 0
    from wreckit_tui.sandbox.store import Home
    from wreckit_tui.sandbox.tmux import Tmux, socket_path

    home = Home.from_env()
    tmux = Tmux(socket_path(home.key))
    if args.command == "list":  # what a dashboard runs every poll: only what it needs
        from wreckit_tui.sandbox.listing import list_sandboxes

        _print_list(list_sandboxes(home, tmux), as_json=args.json)
    elif args.command in {"start", "kill"}:
        _lifecycle(args, home, tmux)
    elif args.command == "exec":
        from wreckit_tui.sandbox.execute import exec_in

        return exec_in(home, args.name, args.argv, in_pane=args.in_pane)
    else:
        _terminal(args, home, tmux)
    return 0


def _lifecycle(args: argparse.Namespace, home: Home, tmux: Tmux) -> None:
    from wreckit_tui.sandbox import lifecycle

    if args.command == "kill":
        lifecycle.kill(home, tmux, args.name)
        return
    request = lifecycle.Request(args.memory, args.cpus, args.pids, args.network, args.rest)
    meta = lifecycle.start(home, tmux, args.name, request)
    keys = ("name", "id", "pid", "isolation", "created_at", "uid")
    import json

    print(json.dumps({"state": "running", **{key: meta.get(key) for key in keys}}))


def _terminal(args: argparse.Namespace, home: Home, tmux: Tmux) -> None:
    from wreckit_tui.sandbox import terminal

    if args.command == "attach":
        terminal.attach(home, tmux, args.name)
    elif args.command == "capture":
        sys.stdout.write(terminal.capture(home, tmux, args.name, lines=args.lines, ansi=args.ansi))
    else:
        terminal.send(home, tmux, args.name, " ".join(args.rest), enter=args.enter)


def _print_list(records: list[dict], *, as_json: bool) -> None:
    if as_json:
        import json

        print(json.dumps(records))
        return
    for record in records:
        print(
            f"{record['name']}\t{record['state']}\t{record['cpu_percent']}%\t"
            f"{record['memory_used']}MiB\t{record['isolation']}"
        )


def _error(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)
