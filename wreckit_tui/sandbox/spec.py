"""Validation of names, sizes and cpu counts as the wisp CLI contract defines them.

A stdlib copy of the rules in ``wreckit_tui.models``, which imports pydantic: the provider must
start fast, so it never imports that module.
"""

from __future__ import annotations

import re

from wreckit_tui.sandbox.errors import InvalidRequest

NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,62}")
SIZE_RE = re.compile(r"([0-9]{1,9})(MiB|GiB)")
MAX_CPUS = 64
DEFAULT_MEMORY = "512MiB"
DEFAULT_CPUS = 1


def is_name(text: str) -> bool:
    return NAME_RE.fullmatch(text) is not None


def check_name(name: str) -> str:
    """``name`` itself, or :class:`InvalidRequest`."""
    if not is_name(name):
        raise InvalidRequest(
            f"invalid name {name!r}: use 1-63 characters, a-z, 0-9 and '-', starting with a letter"
        )
    return name


def memory_mib(size: str) -> int:
    """``512MiB`` -> 512, ``2GiB`` -> 2048; anything else is :class:`InvalidRequest`."""
    match = SIZE_RE.fullmatch(size)
    mib = 0
    if match:
        mib = int(match[1]) * (1024 if match[2] == "GiB" else 1)
    if mib <= 0:
        raise InvalidRequest(
            f"invalid memory size {size!r}: use a whole number and MiB or GiB, like 512MiB"
        )
    return mib


def check_cpus(text: str) -> int:
    """A cpu count of 1..64 given as text, or :class:`InvalidRequest`."""
    text = text.strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_CPUS:
        return int(text)
    raise InvalidRequest(f"invalid cpus {text!r}: use a whole number from 1 to {MAX_CPUS}")
