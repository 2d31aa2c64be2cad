"""``wreckit-sandbox serve`` (private): the read-only commands, answered by one long-lived process.

A dashboard lists its sprites every few seconds; a new interpreter for each ``list`` would cost
it far more than the list itself. Its adapter may keep this server instead, which answers
``list``, ``capture``, ``capabilities`` and ``--version`` with exactly the bytes and the exit
status that ``wreckit-sandbox`` itself would give for the same arguments.

Protocol, on stdin and stdout: each request is one line, a JSON array of the arguments (``["list",
"--json"]``); each answer is a line ``STATUS OUT_BYTES ERR_BYTES`` followed by that many bytes of
standard output, then of standard error. Requests are answered one at a time, in order. The
server ends when its stdin closes; a request it does not serve (any other command, a line that is
not such an array) gets status 2 and one line on its standard error.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from typing import BinaryIO

from wreckit_tui.sandbox import PROG

SERVED = frozenset({"list", "capture", "capabilities", "--version"})
"""The commands answered: those that change nothing and hand over no terminal."""
USAGE = 2


def serve(requests: BinaryIO | None = None, answers: BinaryIO | None = None) -> int:
    """Answer requests until ``requests`` (stdin) ends; 0 then."""
    requests = requests or sys.stdin.buffer
    answers = answers or sys.stdout.buffer
    for line in requests:
        status, out, err = answer(line)
        try:
            answers.write(b"%d %d %d\n" % (status, len(out), len(err)) + out + err)
            answers.flush()
        except BrokenPipeError:
            return 0
    return 0


def answer(line: bytes) -> tuple[int, bytes, bytes]:
    """The exit status and the two outputs of the command ``line`` asks for."""
    argv = _arguments(line)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = _run(argv)
    return status, _encode(out.getvalue()), _encode(err.getvalue())


def _run(argv: list[str] | None) -> int:
    from wreckit_tui.sandbox import cli

    if not argv or argv[0] not in SERVED:
        print(f"{PROG}: serve: not a command it answers: {argv!r}"[:300], file=sys.stderr)
        return USAGE
    try:
        return cli.run(cli.parse(argv))
    except SystemExit as done:  # argparse: --version, --help or a usage error
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else USAGE)


def _arguments(line: bytes) -> list[str] | None:
    try:
        argv = json.loads(line)
    except ValueError:
        return None
    if isinstance(argv, list) and all(isinstance(arg, str) for arg in argv):
        return argv
    return None


def _encode(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")
