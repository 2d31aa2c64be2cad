"""What the agent in a sprite is doing, told from what the backend reports, cheapest signal first.

A sprite is ``working``, ``waiting`` for its person, ``idle``, ``exited`` (its program ended), or
unknown (``None``) where the backend reports nothing to tell by. The signals, in order:

1. its program ended: ``exited``, with the exit code;
2. its terminal title starts with a spinner character (agents spin while they work): ``working``;
3. its terminal printed (``activity_at`` moved) at two polls in a row: ``working`` (one burst of
   output alone does not wake a quiet agent);
4. once it has been quiet for ``quiet_after`` seconds, and only then, the last lines of its
   screen, matched against the patterns of its agent: a busy pattern (``esc to interrupt``) means
   ``working``, a waiting one (a yes/no question, a shell prompt) ``waiting``, none ``idle``.

The patterns are data (``data/activity.toml``, overridable in the config file), not code: agents
change their screens with every release. Nothing here imports Textual; :class:`Watch` keeps what
it needs of earlier polls and is used by one thread at a time.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORKING, WAITING, IDLE, EXITED = "working", "waiting", "idle", "exited"
STATES = (WORKING, WAITING, IDLE, EXITED)
DEFAULTS = Path(__file__).parent / "data" / "activity.toml"
SCREEN_LINES = 15
"""How many of a screen's last non-blank lines busy patterns look at."""
PROMPT_LINES = 6
"""How many of them waiting patterns look at: a question and its choices sit at the bottom."""


@dataclass(frozen=True)
class AgentPatterns:
    """The patterns of one kind of agent, and which commands it is."""

    name: str
    command: re.Pattern[str] | None
    busy: tuple[re.Pattern[str], ...]
    waiting: tuple[re.Pattern[str], ...]

    def runs(self, command: str | None) -> bool:
        """Whether a sprite whose main program is ``command`` runs this agent (a sprite without
        one runs a shell)."""
        words = (command or "sh").split()
        program = Path(words[0]).name if words else ""
        return bool(self.command and self.command.fullmatch(program))


@dataclass(frozen=True)
class Rules:
    """How activity is told: the quiet time, the spinner characters and the agents' patterns."""

    quiet_after: float = 3.0
    spinner: str = ""
    agents: tuple[AgentPatterns, ...] = ()

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None) -> Rules:
        """The defaults of ``data/activity.toml``, with ``overrides`` (the config file's
        ``[activity]`` table) laid over them: a key given replaces the default one."""
        with open(DEFAULTS, "rb") as defaults:
            table = tomllib.load(defaults)
        overrides = dict(overrides or {})
        agents = {**table.get("agents", {})}
        for name, patterns in (overrides.pop("agents", None) or {}).items():
            agents[name] = {**agents.get(name, {}), **patterns}
        table.update(overrides)
        return cls(
            quiet_after=float(table.get("quiet_after", 3)),
            spinner=str(table.get("spinner", "")),
            agents=tuple(_agent(name, patterns) for name, patterns in agents.items()),
        )

    def judge(self, screen: str, command: str | None) -> str:
        """``working``, ``waiting`` or ``idle``, from the last lines of a quiet ``screen``."""
        lines = [line.rstrip() for line in screen.splitlines() if line.strip()][-SCREEN_LINES:]
        agents = [agent for agent in self.agents if agent.runs(command)] or list(self.agents)
        everything, bottom = "\n".join(lines), "\n".join(lines[-PROMPT_LINES:])
        if any(pattern.search(everything) for agent in agents for pattern in agent.busy):
            return WORKING
        if any(pattern.search(bottom) for agent in agents for pattern in agent.waiting):
            return WAITING
        return IDLE

    def spinning(self, title: str | None) -> bool:
        return bool(title and self.spinner and title[0] in self.spinner)


def _agent(name: str, patterns: Mapping[str, Any]) -> AgentPatterns:
    def compiled(key: str) -> tuple[re.Pattern[str], ...]:
        texts = patterns.get(key, ())
        return tuple(re.compile(text, re.IGNORECASE | re.MULTILINE) for text in texts)

    command = patterns.get("command")
    return AgentPatterns(
        name=name,
        command=re.compile(command) if command else None,
        busy=compiled("busy"),
        waiting=compiled("waiting"),
    )


@dataclass(frozen=True)
class Observed:
    """What one poll says of a sprite that activity is told from."""

    name: str
    state: str | None
    command: str | None = None
    exit_code: int | None = None
    activity_at: float | None = None
    """When its terminal last printed, seconds since the epoch."""
    title: str | None = None


@dataclass(frozen=True)
class Activity:
    """A sprite's activity and since when (seconds since the epoch; ``None`` if unknown)."""

    state: str | None = None
    since: float | None = None
    exit_code: int | None = None

    def words(self) -> str:
        """``exited 3``, ``waiting`` ...; ``""`` when unknown."""
        if self.state == EXITED:
            return f"exited {self.exit_code}" if self.exit_code is not None else EXITED
        return self.state or ""


@dataclass
class _Track:
    activity: Activity = field(default_factory=Activity)
    last_output: float | None = None
    moves: int = 0
    judged: bool = False


class Watch:
    """The activity of every sprite across polls."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._tracks: dict[str, _Track] = {}
        self.settled: tuple[object, Any] | None = None
        """A poll's fleet that further polls of it cannot change, and what they told of it
        (kept by :func:`wreckit_tui.watching.watch_fleet`)."""

    def update(self, observed: Iterable[Observed], now: float) -> list[str]:
        """Take in one poll; returns the sprites that went quiet and whose screen should be
        looked at (:meth:`judge_screen`), and only those."""
        seen, quiet = set(), []
        for sprite in observed:
            seen.add(sprite.name)
            track = self._tracks.setdefault(sprite.name, _Track())
            if self._step(track, sprite, now):
                quiet.append(sprite.name)
        for gone in self._tracks.keys() - seen:
            del self._tracks[gone]
        return quiet

    def judge_screen(self, name: str, screen: str, command: str | None) -> None:
        """What a quiet sprite's screen says (after :meth:`update` asked for it)."""
        track = self._tracks.get(name)
        if track is None:
            return
        state = self.rules.judge(screen, command)
        since = track.last_output if state != WORKING else track.activity.since
        track.activity = Activity(state, since if since is not None else track.last_output)
        track.judged = True

    def get(self, name: str) -> Activity:
        track = self._tracks.get(name)
        return track.activity if track else Activity()

    def _step(self, track: _Track, sprite: Observed, now: float) -> bool:
        """Move one sprite's track on by a poll; whether its screen should be looked at."""
        if sprite.state != "running":
            ended = sprite.exit_code is not None
            since = track.activity.since if track.activity.state == EXITED else now
            track.activity = Activity(EXITED, since, sprite.exit_code) if ended else Activity()
            track.moves, track.judged = 0, False
            return False
        moved = sprite.activity_at is not None and sprite.activity_at != track.last_output
        first = track.last_output is None and not track.judged and track.moves == 0
        track.last_output = sprite.activity_at
        if self.rules.spinning(sprite.title):
            self._working(track, now)
            return False
        if sprite.activity_at is None:
            return not track.judged  # no clock: the screen alone tells, once
        recent = now - sprite.activity_at < self.rules.quiet_after
        if moved and recent:
            track.moves += 1
            if first or track.moves >= 2 or track.activity.state == WORKING:
                self._working(track, sprite.activity_at if first else now)
            return False
        track.moves = 0
        if recent:
            return False
        went_quiet = track.activity.state in {WORKING, None} or not track.judged
        track.judged = track.judged and not went_quiet
        return went_quiet

    @staticmethod
    def _working(track: _Track, now: float) -> None:
        if track.activity.state != WORKING:
            track.activity = Activity(WORKING, now)
        track.judged = False


def attention(state: str | None, activity: Activity, memory_fraction: float | None) -> str | None:
    """Why a sprite needs its person, or ``None``: it waits for input, is in error, its program
    exited non-zero, or it uses 90 % or more of its memory."""
    if activity.state == WAITING:
        return "waiting"
    if state == "error":
        return "error"
    if activity.state == EXITED and activity.exit_code not in (None, 0):
        return f"exited {activity.exit_code}"
    if memory_fraction is not None and memory_fraction >= 0.9:
        return "memory"
    return None
