"""The program a new sprite runs instead of a shell, as a person types it: split like a shell
line (``shlex``), never run by one."""

from __future__ import annotations

import shlex

MAX_COMMAND_CHARS = 4096
"""The longest command line accepted, in characters."""


def split_command(text: str) -> list[str] | None:
    """The argv of ``text``, or ``None`` for a blank line (a shell). Raises ``ValueError`` with
    a sentence for a person when ``text`` cannot be a command (see :func:`command_problem`)."""
    problem = command_problem(text)
    if problem:
        raise ValueError(problem)
    return shlex.split(text) or None


def command_problem(text: str) -> str | None:
    """Why ``text`` is not a command line, or ``None`` when it is one (or blank)."""
    if "\0" in text:
        return "a command cannot hold a NUL byte"
    if len(text) > MAX_COMMAND_CHARS:
        return f"a command is at most {MAX_COMMAND_CHARS} characters"
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        return f"cannot read the command: {str(exc).lower()} (quote it as in a shell)"
    if argv and not argv[0]:
        return "the command's program name is empty"
    return None
