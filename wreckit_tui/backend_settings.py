"""The ``[[backends]]`` settings: several sprite managers side by side, each named.

Each entry has a ``name`` (a sprite name's rules: it prefixes its sprites, ``NAME/SPRITE``), a
``kind`` (``wisp``, ``sprites``, ``builtin``) and that kind's settings; its ``max_vms`` defaults
to the global one. Without ``[[backends]]`` none of this applies.
"""

from __future__ import annotations

import re
import tomllib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wreckit_tui.contract import name_problem

MAX_BACKENDS = 32
MAX_ARGV = 64
ORG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
KIND_SETTINGS = {
    "wisp": {"wisp_path"},
    "sprites": {"sprites_org", "sprites_token_file", "sprite_path"},
    "builtin": set(),
}
"""The settings each kind takes beside ``name``, ``kind`` and ``max_vms``."""


def _path(value: str) -> str:
    if not value or "\0" in value or len(value) > 4096:
        raise ValueError("must be a program's name or path (no NUL byte, at most 4096 characters)")
    return value


class BackendSettings(BaseModel):
    """One ``[[backends]]`` entry."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str
    kind: Literal["wisp", "sprites", "builtin"]
    max_vms: int | None = Field(None, ge=1)
    wisp_path: str | tuple[str, ...] | None = None
    """A program, or an argv prefix such as ``["ssh", "gpu-box", "wisp"]``."""
    sprites_org: str | None = None
    sprites_token_file: str | None = None
    sprite_path: str | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        problem = name_problem(value)
        if problem:
            raise ValueError(problem.replace("invalid name", "invalid backend name"))
        return value

    @field_validator("wisp_path", mode="before")
    @classmethod
    def _check_wisp_path(cls, value: object) -> object:
        if isinstance(value, list):
            if not 1 <= len(value) <= MAX_ARGV:
                raise ValueError(f"must be a program, or a list of 1 to {MAX_ARGV} arguments")
            if not all(isinstance(item, str) for item in value):
                raise ValueError("must be a list of text arguments")
            return tuple(_path(item) for item in value)
        return _path(value) if isinstance(value, str) else value

    @field_validator("sprites_token_file", "sprite_path")
    @classmethod
    def _check_path(cls, value: str | None) -> str | None:
        return _path(value) if value is not None else None

    @field_validator("sprites_org")
    @classmethod
    def _check_org(cls, value: str | None) -> str | None:
        if value is not None and not ORG_RE.fullmatch(value):
            raise ValueError("must be an organisation's slug (letters, digits, '-', '_', '.')")
        return value

    @model_validator(mode="after")
    def _only_its_kind(self) -> BackendSettings:
        settings = KIND_SETTINGS["wisp"] | KIND_SETTINGS["sprites"]
        given = {key for key in settings if getattr(self, key) is not None}
        foreign = sorted(given - KIND_SETTINGS[self.kind])
        if foreign:
            raise ValueError(f"{', '.join(foreign)} is not a setting of kind {self.kind!r}")
        return self

    @property
    def argv(self) -> tuple[str, ...] | None:
        """``wisp_path`` as an argv prefix, or ``None`` when unset."""
        if self.wisp_path is None:
            return None
        return (self.wisp_path,) if isinstance(self.wisp_path, str) else self.wisp_path


def backends_from_text(value: object) -> object:
    """From a variable or ``--set``: a TOML array of inline tables."""
    if not isinstance(value, str):
        return value
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        raise ValueError(
            'must be a TOML array of tables, such as [{name = "a", kind = "builtin"}]'
        ) from None


def check_backends(backends: tuple[BackendSettings, ...]) -> tuple[BackendSettings, ...]:
    """Names unique; at most one ``builtin`` (it would list the same sandboxes twice)."""
    if len(backends) > MAX_BACKENDS:
        raise ValueError(f"at most {MAX_BACKENDS} backends")
    names = [backend.name for backend in backends]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"two backends are named {twice[0]!r}: names must be unique")
    if sum(backend.kind == "builtin" for backend in backends) > 1:
        raise ValueError("only one backend can be of kind 'builtin'")
    return backends
