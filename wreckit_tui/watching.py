"""Activity at every poll: what each sprite's program does, and which sprites need their person.

:func:`watch_fleet` takes one poll's :class:`Fleet` into a :class:`Watch` and captures the last
lines of the sprites that just went quiet, and of those only, a few at a time (none where the
backend cannot capture). :func:`annotate` lays the result over the fleet's sprites (their
``activity``, ``activity_since`` and ``attention``), which the table, the detail pane and
``--json`` then show like any other field. Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from wreckit_tui.activity import WAITING, Activity, Observed, Rules, Watch, attention
from wreckit_tui.errors import WreckitError
from wreckit_tui.models import Fleet, Sprite

if TYPE_CHECKING:
    from wreckit_tui.backend_api import SpriteManager

CAPTURE_LINES = 40
"""Lines of a quiet sprite's terminal looked at (the patterns look at its last non-blank ones)."""
MAX_CAPTURES = 8
"""Captures run at once."""
CAPTURES_PER_POLL = 48
"""Captures one poll makes at most: the sprites that went quiet last first; the others are
looked at in the polls after (a fleet of quiet sprites never costs a capture per sprite at once)."""


class Seen(NamedTuple):
    """What a poll tells of one sprite: its activity and why it needs its person, if it does."""

    activity: Activity
    attention: str | None


def epoch(text: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 time (no zone: UTC), or ``None``."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def observed(sprite: Sprite) -> Observed:
    return Observed(
        name=sprite.name,
        state=sprite.state,
        command=sprite.command,
        exit_code=sprite.exit_code,
        activity_at=epoch(sprite.activity_at),
        title=sprite.title,
    )


def memory_fraction(sprite: Sprite) -> float | None:
    if sprite.memory_used_mib is None or not sprite.memory_mib:
        return None
    return sprite.memory_used_mib / sprite.memory_mib


async def watch_fleet(
    wisp: SpriteManager, watch: Watch, fleet: Fleet, now: float, *, wait: bool = True
) -> dict[str, Seen]:
    """Take one poll into ``watch``: capture the sprites that went quiet since the last poll
    (at most :data:`MAX_CAPTURES` at once and :data:`CAPTURES_PER_POLL` in all), judge their
    screens; each sprite's :class:`Seen`.
    The work over every sprite runs in a thread (only polls touch ``watch``, one at a time).

    A backend without ``capture`` judges nothing by screen: a quiet sprite whose terminal has
    a clock (``activity_at``) is ``idle``, one without stays unknown. A capture that fails
    leaves its sprite as it was (it is looked at again next poll). With ``wait`` false (the
    dashboard), a poll that comes before the backend said what it offers captures nothing.

    A poll of the very fleet object of the last one (the backend printed the same list) after
    which no sprite was to be looked at and none printed within ``quiet_after`` tells what
    that one told, at no cost: no later poll of it can change a sprite's activity.
    """
    settled = watch.settled
    if settled is not None and settled[0] is fleet:
        return settled[1]
    quiet, latest = await asyncio.to_thread(_update, watch, fleet, now)  # 10,000: ~0.1 s
    by_name = {sprite.name: sprite for sprite in fleet.sprites}
    quiet_now = latest is None or now - latest >= watch.rules.quiet_after
    settles = not quiet and quiet_now  # the next polls of this fleet change nothing
    if quiet:
        known = await wisp.capabilities() if wait else wisp.known_capabilities()
        if known is None:  # not known yet: these sprites are looked at again next poll
            known, quiet = frozenset({"capture"}), []
        can_capture = "capture" in known
        screens = await _captures(wisp, _latest(quiet, by_name)) if can_capture else {}
        for name in quiet:
            sprite = by_name[name]
            if name in screens:
                watch.judge_screen(name, screens[name], sprite.command)
            elif not can_capture and sprite.activity_at is not None:
                watch.judge_screen(name, "", sprite.command)
    seen = await asyncio.to_thread(_seen, watch, fleet)
    watch.settled = (fleet, seen) if settles else None
    return seen


def _update(watch: Watch, fleet: Fleet, now: float) -> tuple[list[str], float | None]:
    """:meth:`Watch.update` with ``fleet``: the sprites to look at, and the latest time a
    running sprite printed (``None`` if none has a clock)."""
    observe = [observed(sprite) for sprite in fleet.sprites]
    stamps = [seen.activity_at for seen in observe if seen.activity_at is not None]
    return watch.update(observe, now), max(stamps, default=None)


def _latest(names: list[str], by_name: Mapping[str, Sprite]) -> list[str]:
    """The :data:`CAPTURES_PER_POLL` of ``names`` that printed last (no clock: last of all)."""
    if len(names) <= CAPTURES_PER_POLL:
        return names
    printed = {name: epoch(by_name[name].activity_at) for name in names}
    names = sorted(names, key=lambda name: -(printed[name] or float("-inf")))
    return names[:CAPTURES_PER_POLL]


def _seen(watch: Watch, fleet: Fleet) -> dict[str, Seen]:
    """Each sprite's activity and attention as ``watch`` now tells them."""
    seen = {}
    for sprite in fleet.sprites:
        activity = watch.get(sprite.name)
        seen[sprite.name] = Seen(
            activity, attention(sprite.state, activity, memory_fraction(sprite))
        )
    return seen


async def _captures(wisp: SpriteManager, names: Iterable[str]) -> dict[str, str]:
    """The last lines of each named sprite's terminal, :data:`MAX_CAPTURES` at a time; a
    sprite whose capture failed is left out."""
    gate = asyncio.Semaphore(MAX_CAPTURES)

    async def one(name: str) -> str | None:
        async with gate:
            try:
                return await wisp.capture(name, lines=CAPTURE_LINES)
            except WreckitError:
                return None

    names = list(names)
    screens = await asyncio.gather(*(one(name) for name in names))
    return {name: screen for name, screen in zip(names, screens, strict=True) if screen is not None}


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def annotate(fleet: Fleet, seen: Mapping[str, Seen], now: float) -> Fleet:
    """``fleet`` with each sprite's activity and attention laid over it (a sprite not in
    ``seen`` keeps none)."""
    sprites = []
    for sprite in fleet.sprites:
        told = seen.get(sprite.name)
        if told is None:
            sprites.append(sprite)
            continue
        activity, since = told.activity, told.activity.since
        fields = {
            "activity": activity.state,
            "activity_since": _iso(since),
            "activity_seconds": max(now - since, 0.0) if since is not None else None,
            "attention": told.attention,
        }
        sprites.append(sprite.model_copy(update=fields))
    return fleet.model_copy(update={"sprites": tuple(sprites)})


def needing_attention(fleet: Fleet) -> tuple[str, ...]:
    """The sprites that need their person: those waiting first, longest waiting first, then
    the others (error, exited non-zero, memory) by name."""
    waiting = [s for s in fleet.sprites if s.attention == WAITING]
    waiting.sort(key=lambda s: (-(s.activity_seconds or 0.0), s.name))
    others = sorted(s.name for s in fleet.sprites if s.attention and s.attention != WAITING)
    return (*(s.name for s in waiting), *others)


def rules_of(settings: Mapping[str, object] | None) -> Rules:
    """The activity rules: the defaults with the config file's ``[activity]`` over them."""
    return Rules.load(settings)


async def list_watched(
    wisp: SpriteManager, settings: Mapping[str, object] | None = None, watch: Watch | None = None
) -> Fleet:
    """One list with activity as one poll can tell it: a program that ended, a spinner in the
    title, output within ``quiet_after``, else one capture of each quiet sprite. A ``watch``
    kept from call to call (a server's) captures only the sprites gone quiet since the last."""
    fleet = await wisp.list()
    now = datetime.now(UTC).timestamp()
    seen = await watch_fleet(wisp, watch or Watch(rules_of(settings)), fleet, now)
    return annotate(fleet, seen, now)
