"""The one exception hierarchy for everything that can go wrong talking to ``wisp``.

Every message is a sentence a person can act on; ``exit_code`` is what the CLI returns.
"""

from __future__ import annotations

from wreckit_tui.text import sanitize


class WreckitError(Exception):
    """Base of every error wreckit-tui reports to a person."""

    exit_code = 1

    @property
    def message(self) -> str:
        return str(self)


class UsageError(WreckitError):
    """The command cannot run as it was started (say, the dashboard without a terminal)."""

    exit_code = 2


class ConfigError(WreckitError):
    """The configuration file, an environment variable or a flag holds an invalid value."""

    exit_code = 2


class InvalidRequest(WreckitError):
    """A request refused before running anything: bad name, size, cpus, or quota reached."""

    exit_code = 2


class StoppedSprite(InvalidRequest):
    """A start named a sprite that exists and is stopped: it can only be started again."""


class NotSupported(WreckitError):
    """The backend does not offer what was asked (an optional command of contract v1.1)."""

    exit_code = 6


class WispError(WreckitError):
    """Base of the errors that come from running ``wisp``."""

    exit_code = 4


class WispNotFound(WispError):
    """The configured ``wisp`` program does not exist or cannot be executed."""

    exit_code = 3

    def __init__(self, path: str, reason: str = "not found") -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"wisp {reason}: tried {path!r}. Install wisp and put it on PATH, "
            "or set wisp_path (config file, WRECKIT_TUI_WISP_PATH or --wisp PATH)."
        )


class WispTimeout(WispError):
    """A ``wisp`` call ran past its timeout; its process group was killed."""

    def __init__(self, command: str, seconds: float) -> None:
        self.command = command
        self.seconds = seconds
        super().__init__(
            f"`{command}` timed out after {seconds:g}s; its process group was killed. "
            "Check that the wisp backend is reachable, or raise list_timeout/timeout."
        )


class WispFailed(WispError):
    """``wisp`` exited non-zero. ``summary`` is the last non-empty stderr line."""

    def __init__(self, command: str, returncode: int, stderr: str, shell: str = "") -> None:
        self.command = command
        self.returncode = returncode
        self.stderr = stderr
        self.summary = sanitize(last_line(stderr))
        detail = (
            f": {self.summary}"
            if self.summary
            else f" and printed no message: run `{sanitize(shell or command)}` in a shell to see"
            " what it does"
        )
        super().__init__(f"`{command}` failed with exit code {returncode}{detail}")


class WispInterrupted(WispError):
    """A call was stopped before it finished because the caller itself was stopped (a signal):
    its process group was told to stop (SIGTERM), then killed."""

    def __init__(self, command: str) -> None:
        self.command = command
        super().__init__(f"`{command}` was stopped before it finished; its process group was ended")


class WispBadOutput(WispError):
    """``wisp`` printed something that does not follow the CLI contract (or that wreckit-tui
    will not take, such as more sprites than ``max_sprites``)."""

    ADVICE = "Check that wisp_path points to a wisp-compatible program (wisp list --json)."

    def __init__(self, problem: str, advice: str = ADVICE) -> None:
        self.problem = problem
        super().__init__(f"wisp gave bad output: {problem}. {advice}")


class SpriteNotFound(WispError):
    """The named sprite is not in the fleet."""

    exit_code = 5

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"sprite {name!r} not found: it is not in the fleet (already gone?); "
            "`wreckit-tui list` shows the fleet"
        )


def last_line(text: str) -> str:
    """The last non-empty line of ``text``, stripped (empty when there is none)."""
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()
    return ""


def describe(error: BaseException) -> str:
    """What went wrong, in words for a person."""
    if isinstance(error, WreckitError):
        return error.message
    return f"unexpected error: {error!r}"
