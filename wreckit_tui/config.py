"""Configuration: defaults, then the TOML file, then ``WRECKIT_TUI_<KEY>`` variables, then flags.

The file lives at ``<user config dir>/wreckit-tui/config.toml`` (platformdirs) unless
``WRECKIT_TUI_CONFIG`` or ``--config`` names another. It is only ever read, never written.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from wreckit_tui.backend_settings import BackendSettings, backends_from_text, check_backends
from wreckit_tui.command_line import command_problem
from wreckit_tui.contract import DEFAULT_CPUS, DEFAULT_MEMORY, MAX_CPUS, size_problem
from wreckit_tui.detach_key import DEFAULT_DETACH_KEY, detach_byte
from wreckit_tui.errors import ConfigError
from wreckit_tui.models import DEFAULT_MAX_SPRITES
from wreckit_tui.text import sanitize

APP_NAME = "wreckit-tui"
ENV_PREFIX = "WRECKIT_TUI_"
CONFIG_ENV = "WRECKIT_TUI_CONFIG"
MIN_POLL_INTERVAL = 0.5
MAX_CONFIG_BYTES = 1024 * 1024
"""A config file larger than this is refused (a real one is a few hundred bytes)."""


Seconds = Annotated[float, Field(allow_inf_nan=False)]
"""A duration: a finite number (``inf`` and ``nan`` are refused)."""
MAX_PATTERN = 1000
"""Characters of one activity pattern at most."""


def _pattern(value: str) -> str:
    if len(value) > MAX_PATTERN or "\0" in value:
        raise ValueError(f"must be a regular expression of at most {MAX_PATTERN} characters")
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"is not a regular expression: {sanitize(str(exc))[:80]}") from None
    return value


class AgentSettings(BaseModel):
    """The patterns of one kind of agent (``[activity.agents.NAME]``); each replaces the
    default one of that name."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    command: str | None = None
    busy: list[str] | None = None
    waiting: list[str] | None = None

    @field_validator("command")
    @classmethod
    def _check_command(cls, value: str | None) -> str | None:
        return _pattern(value) if value is not None else None

    @field_validator("busy", "waiting")
    @classmethod
    def _check_patterns(cls, value: list[str] | None) -> list[str] | None:
        return [_pattern(text) for text in value] if value is not None else None


class ActivitySettings(BaseModel):
    """How activity is told (``[activity]``): over the defaults of ``data/activity.toml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quiet_after: Seconds = Field(3.0, gt=0, le=86_400)
    spinner: str | None = Field(None, max_length=200)
    agents: dict[str, AgentSettings] = Field(default_factory=dict, max_length=100)

    @field_validator("quiet_after", mode="before")
    @classmethod
    def _no_boolean(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be a number, not true or false")
        return value

    def overrides(self) -> dict[str, Any]:
        """What the config file set, as :meth:`activity.Rules.load` takes it."""
        return self.model_dump(exclude_unset=True, exclude_none=True)


class Config(BaseModel):
    """Every setting of wreckit-tui, with its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wisp_path: str | None = Field(
        None, description="wisp program; unset: `wisp` on PATH, else the built-in provider"
    )
    backend: Literal["wisp", "sprites"] = Field(
        "wisp", description="wisp: wisp_path, wisp or the built-in provider; sprites: Fly.io"
    )
    sprites_org: str | None = Field(None, description="Sprites organisation (sprite -o ORG)")
    sprites_token_file: str | None = Field(
        None, description="file holding the Sprites API token when SPRITE_TOKEN is unset"
    )
    sprite_path: str = Field("sprite", description="the sprite CLI, for attach and exec")
    max_vms: int = Field(5, ge=1, description="quota of sprites that are not stopped")
    default_memory: str = Field(DEFAULT_MEMORY, description="memory of a new sprite (SIZE)")
    default_cpus: int = Field(DEFAULT_CPUS, ge=1, le=MAX_CPUS, description="vCPUs of a new sprite")
    default_command: str = Field(
        "", description="program of a new sprite instead of a shell, split like a shell line"
    )
    timeout: Seconds = Field(300, gt=0, description="seconds allowed for start and kill")
    list_timeout: Seconds = Field(10, gt=0, description="seconds allowed for list and --version")
    kill_grace: Seconds = Field(5, ge=0, description="seconds between SIGTERM and SIGKILL")
    poll_interval: Seconds = Field(2.0, gt=0, description="seconds between polls (floor 0.5)")
    max_output_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="stdout cap of wisp")
    max_sprites: int = Field(DEFAULT_MAX_SPRITES, ge=1, description="largest fleet accepted")
    theme: str = Field("textual-dark", description="Textual theme of the dashboard")
    detach_key: str = Field(
        DEFAULT_DETACH_KEY, description="key that detaches from an attached sprite"
    )
    activity: ActivitySettings = Field(
        default_factory=ActivitySettings,
        description="[activity] table: quiet_after, spinner, agents.NAME.{command,busy,waiting}",
    )
    record_dir: str | None = Field(
        None, description="directory where every attach is recorded (asciicast v2); unset: off"
    )
    record_input: bool = Field(False, description="recordings include what you type too")
    notify: Literal["off", "bell", "desktop"] = Field(
        "bell", description="how a sprite that starts to need you is announced"
    )
    backends: Annotated[
        tuple[BackendSettings, ...],
        BeforeValidator(backends_from_text),
        AfterValidator(check_backends),
    ] = Field((), description="[[backends]]: several backends in one table, each named")

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: object, info: ValidationInfo) -> object:
        """TOML's true and false are not numbers (pydantic would read true as 1)."""
        numeric = cls.model_fields[info.field_name].annotation in (int, float)
        if numeric and isinstance(value, bool):
            raise ValueError("must be a number, not true or false")
        return value

    @field_validator("default_memory")
    @classmethod
    def _check_memory(cls, value: str) -> str:
        problem = size_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("default_command")
    @classmethod
    def _check_command(cls, value: str) -> str:
        problem = command_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("detach_key")
    @classmethod
    def _check_detach_key(cls, value: str) -> str:
        try:
            detach_byte(value)
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("activity", mode="before")
    @classmethod
    def _inline_table(cls, value: object) -> object:
        """From a variable or ``--set``: a TOML inline table, ``{quiet_after = 5}``."""
        if not isinstance(value, str):
            return value
        try:
            return tomllib.loads(f"v = {value}")["v"]
        except (tomllib.TOMLDecodeError, RecursionError):
            raise ValueError("must be a TOML table, such as {quiet_after = 5}") from None

    @field_validator("poll_interval")
    @classmethod
    def _floor_poll_interval(cls, value: float) -> float:
        return max(value, MIN_POLL_INTERVAL)

    @field_validator("wisp_path", "sprites_org", "sprites_token_file")
    @classmethod
    def _empty_path_is_unset(cls, value: str | None) -> str | None:
        if value and "\0" in value:
            raise ValueError("a path cannot hold a NUL byte")
        return value or None

    @field_validator("sprite_path")
    @classmethod
    def _check_sprite_path(cls, value: str) -> str:
        if not value or "\0" in value:
            raise ValueError("must be a program's name or path")
        return value

    @field_validator("sprites_org")
    @classmethod
    def _check_org(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", value):
            raise ValueError("must be an organisation's slug (letters, digits, '-', '_', '.')")
        return value

    @field_validator("record_dir")
    @classmethod
    def _check_record_dir(cls, value: str | None) -> str | None:
        problem = directory_problem(value) if value else None
        if problem:
            raise ValueError(problem)
        return os.path.expanduser(value) if value else None

    @field_validator("record_input", mode="before")
    @classmethod
    def _check_flag(cls, value: object) -> object:
        """true or false: TOML's own, or a word; never a number (1e308 is not true)."""
        if isinstance(value, str) and value.strip().lower() in _FLAG_WORDS:
            return _FLAG_WORDS[value.strip().lower()]
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {_shown(value)}")
        return value


_FLAG_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def directory_problem(path: str) -> str | None:
    """Why ``path`` can never be a directory to write in, or ``None``: it may not exist yet
    (it is made when first needed) and may not be writable yet (an attach then only warns)."""
    if "\0" in path:
        return "a path cannot hold a NUL byte"
    try:
        info = os.stat(os.path.expanduser(path))
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return "is not a directory: part of the path is a file"
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return "is not a usable path: it is too long"
        return None  # unreadable for now: the attach says so and goes on unrecorded
    return None if stat.S_ISDIR(info.st_mode) else "is not a directory"


KEYS = tuple(Config.model_fields)


def attach_settings(config: Config) -> dict[str, Any]:
    """The keyword arguments of :func:`wreckit_tui.attach.attach` that settings give."""
    return {
        "detach_key": config.detach_key,
        "record_dir": config.record_dir,
        "record_input": config.record_input,
    }


def default_config_path() -> Path:
    """Where the config file is looked for when nothing names one."""
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def config_path(explicit: str | None = None, environ: Mapping[str, str] = os.environ) -> Path:
    """The config file in use: ``--config``, else ``WRECKIT_TUI_CONFIG``, else the default."""
    chosen = explicit or environ.get(CONFIG_ENV)
    return Path(chosen).expanduser() if chosen else default_config_path()


def load_config(
    explicit_path: str | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Config:
    """Build the :class:`Config`; a bad file, variable or flag raises :class:`ConfigError`."""
    path = config_path(explicit_path, environ)
    must_exist = bool(explicit_path or environ.get(CONFIG_ENV))
    text, values = _read_file(path, must_exist)
    origins = dict.fromkeys(values, f"config file {path}")
    for key in KEYS:
        raw = environ.get(ENV_PREFIX + key.upper())
        if raw:
            values[key] = raw
            origins[key] = f"environment variable {ENV_PREFIX}{key.upper()}"
    for key, value in (flags or {}).items():
        values[key] = value
        origins[key] = f"command-line option for {key}"
    try:
        return Config.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, origins, text)) from None


def _read_file(path: Path, must_exist: bool) -> tuple[str, dict[str, Any]]:
    try:
        raw = _read_regular_file(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        if must_exist:
            raise ConfigError(f"config file {path} does not exist") from None
        return "", {}
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    except ValueError:  # a NUL byte in the path
        raise ConfigError(f"config file {path!r} is not a valid path") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} cannot be read: it is not UTF-8") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config file {path} is not valid TOML: nested too deeply") from None


def _read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes.

    Anything else is :class:`ConfigError`: a FIFO would block for ever and ``/dev/zero`` never
    ends. The type is checked before opening, and again on the open file (it may have been
    replaced in between); ``O_NONBLOCK`` keeps even that open from waiting for a FIFO's writer.
    """
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise ConfigError(f"config file {path} is not a regular file")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"config file {path} is not a regular file")
        if info.st_size > limit:
            raise ConfigError(f"config file {path} is larger than {limit // 1024} KiB")
        chunks, size = [], 0
        while chunk := os.read(fd, limit + 1 - size):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # it grew since fstat
                raise ConfigError(f"config file {path} is larger than {limit // 1024} KiB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _explain(exc: ValidationError, origins: Mapping[str, str], text: str) -> str:
    problems = []
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else "?"
        path = ".".join(sanitize(str(part))[:40] for part in error["loc"]) or "?"
        origin = origins.get(key, "configuration")
        where = _line_of(error["loc"][-1] if error["loc"] else key, text)
        where = where if origin.startswith("config file") else ""
        problems.append(f"{origin}{where}: {path}: {_in_our_words(error)}")
    return "; ".join(problems)


_WORDS = {
    "extra_forbidden": "unknown key",
    "int_parsing": "must be a whole number{given}",
    "int_type": "must be a whole number{given}",
    "int_from_float": "must be a whole number{given}",
    "float_parsing": "must be a number{given}",
    "float_type": "must be a number{given}",
    "finite_number": "must be a finite number{given}",
    "string_type": "must be text in quotes{given}",
    "greater_than": "must be more than {gt}{given}",
    "greater_than_equal": "must be at least {ge}{given}",
    "less_than": "must be less than {lt}{given}",
    "less_than_equal": "must be at most {le}{given}",
    "literal_error": "must be {expected}{given}",
    "model_type": "must be a table{given}",
    "tuple_type": "must be an array of tables{given}",
}


def _in_our_words(error: Mapping[str, Any]) -> str:
    """What is wrong with one value, in this program's words rather than pydantic's."""
    if error["type"] == "value_error":  # our own validators' words
        return str(error["msg"]).removeprefix("Value error, ")
    template = _WORDS.get(error["type"], "is not a valid value{given}")
    value = error.get("input")
    given = f", not {_shown(value)}" if error["type"] != "extra_forbidden" else ""
    limits = {k: f"{v:g}" if isinstance(v, float) else v for k, v in error.get("ctx", {}).items()}
    return template.format(given=given, **limits)


def _shown(value: object) -> str:
    """A value as the user wrote it, short and without control characters."""
    text = repr(value) if isinstance(value, str) else str(value).lower()
    return sanitize(text if len(text) <= 40 else text[:39] + "…")


def _line_of(key: object, text: str) -> str:
    pattern = re.compile(rf"^\s*{re.escape(str(key))}\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return f" (line {number})"
    return ""
