"""The rules of the wisp CLI contract that both sides share: names, sizes, cpus and defaults.

Standard library only, so that the built-in provider can use them without slowing its start.
"""

from __future__ import annotations

import re

from wreckit_tui.errors import InvalidRequest
from wreckit_tui.text import quoted

NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,62}")
SIZE_RE = re.compile(r"([0-9]{1,9})(MiB|GiB)")
MAX_CPUS = 64
CPUS_RE = re.compile(r"[0-9]{1,2}")
DEFAULT_MEMORY = "512MiB"
DEFAULT_CPUS = 1
NESTING_VARIABLES = ("TMUX", "TMUX_PANE")
"""Set inside tmux, where tmux refuses to attach or start again: never passed on to an attach."""


def size_to_mib(size: str) -> int:
    """``512MiB`` -> 512, ``2GiB`` -> 2048. Raises ``ValueError`` for anything else."""
    match = SIZE_RE.fullmatch(size)
    if not match:
        raise ValueError(f"not a size: {size!r}")
    amount, unit = int(match[1]), match[2]
    return amount * 1024 if unit == "GiB" else amount


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid sprite name, or ``None`` when it is."""
    if NAME_RE.fullmatch(name):
        return None
    return (
        f"invalid name {quoted(name)}: use 1-63 characters, a-z, 0-9 and '-', "
        "starting with a letter"
    )


def require_name(name: str) -> None:
    """Raise :class:`InvalidRequest` unless ``name`` is a valid sprite name."""
    problem = name_problem(name)
    if problem:
        raise InvalidRequest(problem)


def require_sprite_name(name: str) -> None:
    """Like :func:`require_name`, but ``BACKEND/NAME`` (several backends) passes too."""
    backend, sep, bare = name.partition("/")
    require_name(backend)
    if sep:
        require_name(bare)


def size_problem(size: str) -> str | None:
    """Why ``size`` is not a valid memory size, or ``None`` when it is."""
    if SIZE_RE.fullmatch(size) and size_to_mib(size) > 0:
        return None
    return f"invalid memory size {quoted(size)}: use a whole number and MiB or GiB, like 512MiB"


def cpus_problem(cpus: int | str) -> str | None:
    """Why ``cpus`` is not a valid vCPU count, or ``None`` when it is."""
    text = str(cpus).strip()
    if CPUS_RE.fullmatch(text) and 1 <= int(text) <= MAX_CPUS:
        return None
    return f"invalid cpus {quoted(text)}: use a whole number from 1 to {MAX_CPUS}"


def require_argv(argv: list[str], what: str) -> None:
    """Raise :class:`InvalidRequest` unless ``argv`` is a program and its arguments."""
    if not argv or not all(isinstance(arg, str) and "\0" not in arg for arg in argv):
        raise InvalidRequest(f"{what} must be a program and its arguments, without NUL characters")
