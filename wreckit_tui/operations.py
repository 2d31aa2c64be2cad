"""Starts and kills in flight in this dashboard: one owner, read by the quota check and the view.

A start or kill is *in flight* from the moment it is asked for until the first poll that began
after it ended; until then the table shows its placeholder (``starting``, ``stopping``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from wreckit_tui.models import Fleet, Sprite, in_use


@dataclass(frozen=True)
class Pending:
    """What is in flight, frozen: sprites being started (as launched) and names being killed."""

    starting: Mapping[str, Sprite] = field(default_factory=lambda: MappingProxyType({}))
    stopping: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.starting or self.stopping)


class Operations:
    """The dashboard's starts and kills in flight; :attr:`pending` is a frozen copy of them."""

    def __init__(self) -> None:
        self._starting: dict[str, Sprite] = {}
        self._stopping: set[str] = set()
        self._ended: dict[str, int] = {}
        """Names whose start or kill ended, with the number of polls started by then."""
        self.pending = Pending()

    def start(self, sprite: Sprite) -> None:
        """A start (or a start again) of ``sprite`` is asked for."""
        self._starting[sprite.name] = sprite
        self._changed()

    def kill(self, names: Iterable[str]) -> None:
        self._stopping.update(names)
        self._changed()

    def failed(self, name: str) -> None:
        """The start or kill of ``name`` failed: the table shows it as listed again."""
        self._starting.pop(name, None)
        self._stopping.discard(name)
        self._ended.pop(name, None)
        self._changed()

    def ended(self, names: Iterable[str], polls_started: int) -> None:
        """Operations on ``names`` succeeded once ``polls_started`` polls had started: the next
        poll to start shows their outcome."""
        self._ended.update(dict.fromkeys(names, polls_started))

    def settle(self, poll: int) -> None:
        """Poll number ``poll`` ended: drop what ended before it began."""
        settled = [name for name, by_then in self._ended.items() if by_then < poll]
        for name in settled:
            self._starting.pop(name, None)
            self._stopping.discard(name)
            del self._ended[name]
        if settled:
            self._changed()

    def in_use(self, fleet: Fleet) -> int:
        """Sprites counting against the quota: not stopped, plus starts not yet listed."""
        return in_use(fleet, self._starting)

    def taken(self, fleet: Fleet) -> set[str]:
        """Names a new sprite may not have: listed ones and those being started."""
        return fleet.names() | self._starting.keys()

    def _changed(self) -> None:
        self.pending = Pending(MappingProxyType(dict(self._starting)), frozenset(self._stopping))
