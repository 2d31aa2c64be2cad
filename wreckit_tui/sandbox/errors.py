"""The provider's errors; each carries the exit status it ends the process with."""

from __future__ import annotations


class SandboxError(Exception):
    """A failure a person can act on; its text is printed as one line on stderr."""

    exit_code = 1

    @property
    def message(self) -> str:
        return str(self)


class InvalidRequest(SandboxError):
    """A bad name, size or cpu count, refused before anything runs."""

    exit_code = 2


class NotFound(SandboxError):
    """No sandbox of that name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"sandbox {name!r} not found")


class AlreadyExists(SandboxError):
    """``start`` of a name that is taken."""

    def __init__(self, name: str) -> None:
        super().__init__(f"sandbox {name!r} already exists; kill it first or choose another name")


class CannotRun(SandboxError):
    """``exec`` of a command that does not exist (127) or cannot be run (126)."""

    def __init__(self, command: str, error: OSError) -> None:
        super().__init__(f"cannot run {command!r}: {error.strerror}")
        self.exit_code = 127 if isinstance(error, FileNotFoundError) else 126


class NotRunning(SandboxError):
    """``attach`` or ``exec`` of a sandbox that is stopped or still starting."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"sandbox {name!r} is not running; start it again with start {name}, or kill it"
        )
