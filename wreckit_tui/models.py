"""Typed models of the wisp CLI contract and the one place that parses ``wisp list --json``.

``parse_fleet`` turns wisp's stdout into a :class:`Fleet`. A field with the wrong type spoils
only that field (it becomes ``None`` with a warning); a row without a usable name is skipped
with a warning; anything that is not a list of sprites, or a list longer than ``max_sprites``,
is :class:`WispBadOutput` (the list is decoded entry by entry, and entries past the limit are
only counted). Of the warnings, the first :data:`MAX_WARNINGS` are kept and the rest
only counted, so a flood of them costs no memory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wreckit_tui.contract import SIZE_RE, cpus_problem, name_problem, size_problem, size_to_mib
from wreckit_tui.errors import InvalidRequest, WispBadOutput
from wreckit_tui.fleet_json import fleet_items
from wreckit_tui.text import quoted

PUBLIC_KEYS = (
    "name",
    "id",
    "state",
    "cpus",
    "memory_mib",
    "cpu_percent",
    "memory_used_mib",
    "uptime_seconds",
    "created_at",
    "url",
    "command",
    "exit_code",
    "activity_at",
    "title",
    "activity",
    "activity_since",
    "attention",
)
_STATUS_TO_STATE = {"running": "running", "warm": "running", "cold": "stopped"}
MAX_WARNINGS = 100
"""Warnings kept from one parse; the others are only counted."""
DEFAULT_MAX_SPRITES = 20_000
"""Entries of ``wisp list --json`` accepted by default: a longer list is refused, unparsed."""
_LIMIT = 1e15  # beyond any real count of MiB, cores or seconds; keeps arithmetic finite

Count = Annotated[int, Field(ge=0, le=_LIMIT)]
Real = Annotated[float, Field(ge=0, le=_LIMIT, allow_inf_nan=False)]
WireNumber = Count | Real
Number = int | float
SizeText = Annotated[str, Field(pattern=rf"^{SIZE_RE.pattern}$")]
ExitCode = Annotated[int, Field(ge=-(2**31), le=2**32)]
"""An exit status as backends report it: 0..255, or negative for a signal on some."""


# -- request validation -------------------------------------------------------------------


def in_use(fleet: Fleet, starting: Collection[str]) -> int:
    """Sprites counting against ``max_vms``: those not stopped, and starts in flight
    (``starting``, resumes among them) not yet listed as not stopped."""
    active = {sprite.name for sprite in fleet.sprites if sprite.active}
    return len(active) + sum(1 for name in starting if name not in active)


def quota_problem(in_use: int, max_vms: int) -> str | None:
    """Why one more sprite would pass the ``max_vms`` quota, or ``None``."""
    if in_use < max_vms:
        return None
    return (
        f"quota reached: {in_use} of max_vms {max_vms} sprites are not stopped; "
        "kill one or raise max_vms"
    )


def validate_request(name: str, memory: str, cpus: int | str) -> int:
    """Check a start request; return cpus as an int or raise :class:`InvalidRequest`."""
    for problem in (name_problem(name), size_problem(memory), cpus_problem(cpus)):
        if problem:
            raise InvalidRequest(problem)
    return int(str(cpus).strip())


# -- the wire format ------------------------------------------------------------------------


class WireSprite(BaseModel):
    """One object of ``wisp list --json`` exactly as the contract types it."""

    model_config = ConfigDict(strict=True, extra="ignore")

    name: str
    id: str | None = None
    state: str | None = None
    status: str | None = None
    pid: Count | None = None
    address: str | None = None
    created_at: str | None = None
    uptime_seconds: WireNumber | None = None
    url: str | None = None
    cpus: WireNumber | None = None
    memory: SizeText | Count | None = None
    cpu_percent: WireNumber | None = None
    memory_used: SizeText | WireNumber | None = None
    isolation: str | None = None
    command: str | None = None
    exit_code: ExitCode | None = None
    activity_at: str | None = None
    title: str | None = None


class Sprite(BaseModel):
    """A normalized sprite: sizes in MiB, state resolved, uptime derived where possible."""

    model_config = ConfigDict(frozen=True)

    name: str
    id: str | None = None
    state: str | None = None
    cpus: Number | None = None
    memory_mib: Number | None = None
    cpu_percent: Number | None = None
    memory_used_mib: Number | None = None
    uptime_seconds: Number | None = None
    created_at: str | None = None
    url: str | None = None
    pid: int | None = None
    address: str | None = None
    isolation: str | None = None
    command: str | None = None
    """The main program as started (v1.1); ``None``: a shell, or a v1 backend."""
    exit_code: int | None = None
    """The main program's exit status, once it ended (v1.1)."""
    activity_at: str | None = None
    """When the main terminal last printed anything, RFC 3339 (v1.1)."""
    title: str | None = None
    """The terminal title the program set (v1.1)."""
    activity: str | None = None
    """What its program does, told by the dashboard (``activity.STATES``), never by wisp."""
    activity_since: str | None = None
    """Since when, RFC 3339."""
    activity_seconds: float | None = None
    """For how long, in seconds, when it was told (not in ``--json``)."""
    attention: str | None = None
    """Why it needs its person (``waiting``, ``error``, ``exited N``, ``memory``), or ``None``."""
    backend: str | None = None
    """With several backends: the one it is on (its name is then ``BACKEND/NAME``)."""
    stale: bool = False
    """With several backends: listed by a backend whose last list failed (its last good data)."""

    @property
    def active(self) -> bool:
        """Whether the sprite counts against ``max_vms`` (anything not ``stopped``)."""
        return self.state != "stopped"

    def public_dict(self) -> dict[str, Any]:
        """The keys of ``--json`` output, in their documented order; with several backends
        ``name`` is the name on its backend and ``backend`` follows it."""
        data = {key: getattr(self, key) for key in PUBLIC_KEYS}
        if self.backend is None:
            return data
        data["name"] = self.name.partition("/")[2]
        return {"name": data.pop("name"), "backend": self.backend, **data}


class Fleet(BaseModel):
    """One successful ``wisp list``: the sprites in wisp's order and the parse warnings (the
    first :data:`MAX_WARNINGS`, and how many more there were)."""

    model_config = ConfigDict(frozen=True)

    sprites: tuple[Sprite, ...] = ()
    warnings: tuple[str, ...] = ()
    more_warnings: int = 0
    org_vms: tuple[int, int] | None = None
    """VMs in use and the backend's own limit of them, where it reports both (the Sprites org
    counters): the VMs gauge shows them instead of ``max_vms``."""
    usage_reported: bool = True
    """Whether the backend reports CPU and memory in use at all (Sprites does not)."""

    @property
    def warning_count(self) -> int:
        return len(self.warnings) + self.more_warnings

    @property
    def active_count(self) -> int:
        return sum(1 for sprite in self.sprites if sprite.active)

    def names(self) -> set[str]:
        return {sprite.name for sprite in self.sprites}

    @property
    def isolations(self) -> list[str]:
        """The isolation kinds the sprites report, such as ``bwrap``, sorted."""
        return sorted({sprite.isolation for sprite in self.sprites if sprite.isolation})

    def get(self, name: str) -> Sprite | None:
        return next((sprite for sprite in self.sprites if sprite.name == name), None)


# -- parsing --------------------------------------------------------------------------------


class Warnings:
    """The warnings of one parse: the first :data:`MAX_WARNINGS` kept, the others counted."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.dropped = 0

    def append(self, warning: str) -> None:
        if len(self.kept) < MAX_WARNINGS:
            self.kept.append(warning)
        else:
            self.dropped += 1


def parse_fleet(
    stdout: bytes | bytearray,
    now: datetime | None = None,
    *,
    max_sprites: int = DEFAULT_MAX_SPRITES,
) -> Fleet:
    """Parse ``wisp list --json`` stdout. Raises :class:`WispBadOutput` and nothing else.

    The list is decoded one entry at a time: past ``max_sprites`` entries are only counted, and
    then the list is refused before any model is built, so memory stays bounded by the limit.
    """
    items, count = fleet_items(stdout, max_sprites)
    if count > max_sprites:
        raise WispBadOutput(
            f"too many sprites ({count} > max_sprites {max_sprites})",
            advice="Raise max_sprites if the fleet is really that large.",
        )
    now = now or datetime.now(UTC)
    sprites: list[Sprite] = []
    warnings = Warnings()
    seen: set[str] = set()
    for index, item in enumerate(items):
        sprite = _parse_item(index, item, now, warnings)
        if sprite is None:
            continue
        if sprite.name in seen:
            raise WispBadOutput(f"two sprites are named {quoted(sprite.name)}")
        seen.add(sprite.name)
        sprites.append(sprite)
    return Fleet(
        sprites=tuple(sprites), warnings=tuple(warnings.kept), more_warnings=warnings.dropped
    )


def reparses_alike(fleet: Fleet) -> bool:
    """Whether the ``list`` output that :func:`parse_fleet` made ``fleet`` of would give the
    same fleet at any later time: no running sprite has a ``created_at`` its uptime may have
    been counted from (to the parse's ``now``)."""
    return not any(sprite.created_at and sprite.state == "running" for sprite in fleet.sprites)


def _parse_item(index: int, item: Any, now: datetime, warnings: Warnings) -> Sprite | None:
    if not isinstance(item, dict):
        warnings.append(f"entry {index} skipped: not an object")
        return None
    wire = _validate_leniently(index, item, warnings)
    return None if wire is None else _normalize(wire, now, warnings)


def _validate_leniently(index: int, item: dict, warnings: Warnings) -> WireSprite | None:
    """Validate ``item``; fields of the wrong type are dropped with a warning."""
    try:
        return WireSprite.model_validate(item)
    except ValidationError as exc:
        bad_fields = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
    if "name" in bad_fields:
        warnings.append(f"entry {index} skipped: no valid string 'name'")
        return None
    label = quoted(str(item["name"]))
    for field in sorted(bad_fields):
        warnings.append(f"sprite {label}: field {field!r} has an invalid value, shown as unknown")
    cleaned = {key: value for key, value in item.items() if key not in bad_fields}
    try:
        return WireSprite.model_validate(cleaned)
    except ValidationError:
        warnings.append(f"entry {index} skipped: unreadable")
        return None


def _normalize(wire: WireSprite, now: datetime, warnings: Warnings) -> Sprite:
    state = wire.state or _STATUS_TO_STATE.get(wire.status or "", wire.status)
    activity_at = wire.activity_at
    if activity_at is not None and _time_of(activity_at) is None:
        warnings.append(f"sprite {quoted(wire.name)}: activity_at is not an RFC 3339 time")
        activity_at = None
    uptime = wire.uptime_seconds
    if uptime is None and state == "running" and wire.created_at:
        uptime = _uptime_from(wire.created_at, now)
        if uptime is None:
            warnings.append(f"sprite {quoted(wire.name)}: created_at is not an RFC 3339 time")
    return Sprite(
        name=wire.name,
        id=wire.id,
        state=state,
        cpus=wire.cpus,
        memory_mib=_to_mib(wire.memory),
        cpu_percent=wire.cpu_percent,
        memory_used_mib=_to_mib(wire.memory_used),
        uptime_seconds=uptime,
        created_at=wire.created_at,
        url=wire.url,
        pid=wire.pid,
        address=wire.address,
        isolation=wire.isolation,
        command=wire.command,
        exit_code=wire.exit_code,
        activity_at=activity_at,
        title=wire.title,
    )


def _to_mib(value: str | Number | None) -> Number | None:
    if isinstance(value, str):
        return size_to_mib(value)
    return value


def _time_of(text: str) -> datetime | None:
    """The time ``text`` names (RFC 3339; no zone means UTC), or ``None``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _uptime_from(created_at: str, now: datetime) -> float | None:
    created = _time_of(created_at)
    if created is None:
        return None
    seconds = (now - created).total_seconds()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


CAPABILITY_COMMANDS = frozenset({"exec", "capture", "send", "resume", "start-command"})
"""The optional commands of contract v1.1 a backend may announce."""


def parse_capabilities(stdout: bytes) -> frozenset[str]:
    """The known commands of a ``capabilities --json`` answer; anything malformed is none."""
    try:
        answer = json.loads(stdout.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return frozenset()
    commands = answer.get("commands") if isinstance(answer, dict) else None
    if not isinstance(commands, list):
        return frozenset()
    return frozenset(c for c in commands if isinstance(c, str)) & CAPABILITY_COMMANDS
