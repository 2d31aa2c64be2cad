"""The command line's one-line messages on stderr: warnings and errors, sanitized."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from wreckit_tui.text import sanitize

if TYPE_CHECKING:
    from wreckit_tui.models import Fleet

PROG = "wreckit-tui"


def say_warning(message: str) -> None:
    print(f"{PROG}: warning: {sanitize(message)}", file=sys.stderr)


def say_error(message: str) -> None:
    print(f"{PROG}: error: {sanitize(message)}", file=sys.stderr)


def say_warnings(fleet: Fleet) -> None:
    """The warnings about wisp's output: those the parse kept, and how many more there were."""
    for warning in fleet.warnings:
        say_warning(warning)
    if fleet.more_warnings:
        say_warning(f"{fleet.more_warnings} more warnings about wisp's output not shown")
