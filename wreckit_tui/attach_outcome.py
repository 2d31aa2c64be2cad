"""How an attach ended: :class:`AttachOutcome`, the errors it can carry, and the tail of output.

The caller reads the outcome once the terminal is back: whether the user detached, the child's
exit status, a problem line to show (with the last lines the child printed), and a status for
a shell.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wreckit_tui.errors import WreckitError
from wreckit_tui.text import sanitize

QUICK_EXIT_SECONDS = 5.0
"""A non-zero exit sooner than this after the start is reported as an error, with the tail."""
TAIL_LINES = 5


class AttachError(WreckitError):
    """The passthrough could not run or broke down (the terminal or the pty failed).

    Exit code 125, as for ``env``, ``timeout`` or ``docker run``: the tool itself failed; any
    other status is that of ``wisp attach``.
    """

    exit_code = 125


class NotATerminal(AttachError):
    """Attach was asked for while standard input is not a terminal."""

    exit_code = 2


@dataclass(frozen=True)
class AttachOutcome:
    """How an attach ended.

    ``detached``: the user pressed the detach key (or the terminal went away). ``status``: the
    child's exit status, 128+N when signal N ended it, ``None`` when it never ran. ``elapsed``:
    seconds from start to the end of the session. ``tail``: the last lines the child printed,
    sanitized. ``stop_signal``: SIGTERM or SIGHUP ended the session; the caller should now stop
    too. ``error``: the attach could not run or broke down (already cleaned up). ``warning``:
    one line for the caller to show, the attach having gone on (a recording that failed).
    """

    name: str
    detached: bool = False
    status: int | None = None
    elapsed: float = 0.0
    tail: tuple[str, ...] = ()
    stop_signal: int | None = None
    error: WreckitError | None = None
    warning: str | None = None
    command: str = ""
    """The attach's command as a person would type it (empty: ``wisp attach NAME``)."""

    @property
    def failed_quickly(self) -> bool:
        """The child ended by itself with a non-zero status soon after the start."""
        return (
            not self.detached
            and self.stop_signal is None
            and self.status not in (None, 0)
            and self.elapsed < QUICK_EXIT_SECONDS
        )

    @property
    def problem(self) -> str | None:
        """One line to show as an error after returning, or ``None`` when there is none."""
        if self.error is not None:
            return self.error.message
        if not self.failed_quickly:
            return None
        command = self.command or f"wisp attach {self.name}"
        text = f"`{command}` exited with status {self.status}"
        text += f" after {self.elapsed:.1f}s"
        return f"{text}: {self.tail[-1]}" if self.tail else text

    @property
    def exit_code(self) -> int:
        """The status for a shell: the child's, 0 after a detach, the error's code on error."""
        if self.error is not None:
            return self.error.exit_code
        if self.stop_signal is not None:
            return 128 + self.stop_signal
        if self.detached or self.status is None:
            return 0
        return self.status


def tail_lines(output: bytes, count: int = TAIL_LINES) -> tuple[str, ...]:
    """The last ``count`` non-empty lines of terminal ``output``, as a person saw them.

    A carriage return overwrites its line; escape sequences and control characters are removed
    (:func:`wreckit_tui.text.sanitize`).
    """
    text = output.decode("utf-8", errors="replace")
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        visible = sanitize(line.rstrip("\r").rsplit("\r", 1)[-1]).strip()
        if visible:
            lines.append(visible)
    return tuple(lines[-count:])


class AttachFailed(WreckitError):
    """``wisp attach`` failed soon after it started; ``stderr`` holds the last lines it printed."""

    def __init__(self, message: str, lines: Iterable[str]) -> None:
        super().__init__(message)
        self.stderr = "\n".join(lines)


def attach_report(outcome: AttachOutcome) -> str:
    """The lines an attach printed last, then the problem, each line once: the problem often
    ends with the last of those lines."""
    problem = outcome.problem or ""
    lines = [line for line in outcome.tail if line not in problem]
    return "\n".join([*lines, problem])
