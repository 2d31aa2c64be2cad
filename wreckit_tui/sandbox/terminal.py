"""A running sandbox's main terminal: ``capture`` its text, ``send`` it keys, ``attach`` to it.

The terminal is the pane of the sandbox's session on the home's private tmux server; this
module reads it and types into it through :mod:`wreckit_tui.sandbox.tmux`, and ``attach``
replaces this process with ``tmux attach``. It changes no state on disk.
"""

from __future__ import annotations

import os
import re

from wreckit_tui.sandbox.errors import InvalidRequest, NotFound, SandboxError
from wreckit_tui.sandbox.spec import check_name
from wreckit_tui.sandbox.store import Home, running_meta
from wreckit_tui.sandbox.tmux import Tmux, without_tmux

TYPE_CHECKING = False  # typing costs capture more to import than it takes
if TYPE_CHECKING:
    from typing import NoReturn

DEAD_PANE = "Pane is dead ("
SGR = re.compile(r"\x1b\[[0-9;:]*m")
ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)")


def capture(
    home: Home, tmux: Tmux, name: str, *, lines: int | None = None, ansi: bool = False
) -> str:
    """The text on the sandbox's main terminal: its screen, or its last ``lines`` lines;
    with ``ansi`` its colours (SGR sequences) and nothing else. Readable as long as the
    sandbox's session is there, after its program ended too."""
    check_name(name)
    if lines is not None and lines < 1:
        raise InvalidRequest("--lines takes a whole number from 1")
    try:  # one tmux call; only when it fails, what the sandbox's state is
        text = tmux.capture(name, ansi=ansi, history=lines is not None)
    except SandboxError:
        if not os.path.isdir(home.dir(name)):
            raise NotFound(name) from None
        if name not in tmux.panes():
            raise SandboxError(f"sandbox {name!r} has no terminal: it is not running") from None
        raise
    kept = _screen_lines(text, ansi=ansi)
    return "".join(line + "\n" for line in (kept[-lines:] if lines else kept))


def send(home: Home, tmux: Tmux, name: str, text: str, *, enter: bool = False) -> None:
    """Type ``text`` into the sandbox's main terminal as literal keys, then Enter."""
    check_name(name)
    running_meta(home, name)
    tmux.send(name, text, enter=enter)


def attach(home: Home, tmux: Tmux, name: str) -> NoReturn:
    """Become ``tmux attach`` to the sandbox's session, on the caller's terminal.

    The session's status line names the key that detaches: ``WRECKIT_DETACH_LABEL`` when
    the caller says which one it watches for, else tmux's own.
    """
    check_name(name)
    running_meta(home, name)
    hint = os.environ.get("WRECKIT_DETACH_LABEL", "").strip() or "Ctrl-b d"
    argv = tmux.attach_argv(name, f"detach: {hint}")
    os.execve(argv[0], argv, without_tmux(dict(os.environ)))


def _screen_lines(text: str, *, ansi: bool) -> list[str]:
    """The lines of a captured screen without trailing blank ones or tmux's own note that the
    program ended; with ``ansi``, every escape sequence but colours and attributes removed."""
    lines = text.split("\n")
    if ansi:
        lines = [
            ESCAPE.sub(lambda seq: seq[0] if SGR.fullmatch(seq[0]) else "", line) for line in lines
        ]
    plain = [SGR.sub("", line) for line in lines]
    if plain and plain[-1] == "":
        lines, plain = lines[:-1], plain[:-1]
    if plain and plain[-1].startswith(DEAD_PANE):
        lines, plain = lines[:-1], plain[:-1]
    while plain and not plain[-1].strip():
        lines, plain = lines[:-1], plain[:-1]
    return lines
