"""Which program speaks the wisp CLI contract for this user: a ``wisp`` or the built-in provider.

This module owns :class:`Backend` (the argv to run, how to name it to a person) and how one is
chosen from the settings, ``PATH`` and this interpreter. It reads the environment and ``PATH``
and runs nothing. What the built-in provider offers is known here without asking it, as is
the long-lived helper it offers for the read-only calls of a dashboard.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass

BUILTIN_COMMAND = "wreckit-sandbox"
"""The built-in provider's command, as messages name it."""
BUILTIN_CAPABILITIES = frozenset({"exec", "capture", "send", "resume", "start-command"})
"""What the built-in provider announces (``capabilities --json``): it is this very package, so
the adapter knows it without asking (a test holds the two together)."""
HELPER_COMMANDS = frozenset({"list", "capture", "capabilities", "--version"})
"""The calls a backend's helper answers (the provider's private ``serve``)."""


@dataclass(frozen=True)
class Backend:
    """The program that speaks the wisp CLI contract, and how to name it to a person.

    ``label`` names it in the header; ``name`` stands for it in messages (``wisp list
    --json``); ``local``: its sprites run on this machine, so the host's cores and memory bound
    them. ``shows_detach_hint``: while attached, the backend itself shows how to detach (the
    built-in provider's tmux status line does, from ``WRECKIT_DETACH_LABEL``), so the attach
    keeps no line of the terminal for a banner of its own.
    """

    argv: tuple[str, ...]
    label: str
    name: str = "wisp"
    local: bool = False
    shows_detach_hint: bool = False
    capabilities: frozenset[str] | None = None
    """What the backend announces, where that is known without asking it."""
    helper_argv: tuple[str, ...] | None = None
    """A long-lived process that answers :data:`HELPER_COMMANDS` (:mod:`wreckit_tui.helper`)."""

    @property
    def key(self) -> str:
        """What tells this backend from any other of this user: its argv, and for the built-in
        provider the home it works on."""
        home = os.environ.get("WRECKIT_SANDBOX_HOME", "") if self.local else ""
        return "\0".join([*self.argv, home])

    def shell_command(self, args: list[str]) -> str:
        """``args`` as a command a person can paste into a shell to run them as the call did."""
        program = [BUILTIN_COMMAND] if self.local else list(self.argv)
        return shlex.join([*program, *args])


def resolve_backend(wisp_path: str | None) -> Backend:
    """``wisp_path`` when set, else ``wisp`` on PATH, else the built-in provider."""
    if wisp_path:
        program = os.path.expanduser(wisp_path)
        if os.sep not in program:
            program = shutil.which(program) or program
        return Backend(argv=(program,), label=f"wisp {program}")
    found = shutil.which("wisp")
    if found:
        return Backend(argv=(found,), label=f"wisp {found}")
    return builtin_backend()


def builtin_backend() -> Backend:
    """The built-in local provider, run with this interpreter so no PATH is needed."""
    argv = (sys.executable, "-m", "wreckit_tui.sandbox")
    return Backend(
        argv=argv,
        label="built-in sandbox provider",
        name=BUILTIN_COMMAND,
        local=True,
        shows_detach_hint=True,
        capabilities=BUILTIN_CAPABILITIES,
        helper_argv=(*argv, "serve"),
    )


def argv_backend(argv: tuple[str, ...]) -> Backend:
    """A wisp run through an argv prefix, such as ``("ssh", "gpu-box", "wisp")``."""
    program = os.path.expanduser(argv[0])
    if os.sep not in program:
        program = shutil.which(program) or program
    if len(argv) == 1:
        return Backend(argv=(program,), label=f"wisp {program}")
    return Backend(argv=(program, *argv[1:]), label=f"wisp {shlex.join(argv)}")
