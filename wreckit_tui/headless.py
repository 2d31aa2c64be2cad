"""One-shot output without the dashboard: a rich table, or JSON. Never imports Textual."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from wreckit_tui.models import Fleet, Sprite
from wreckit_tui.text import (
    UNKNOWN,
    format_duration,
    format_mib,
    format_number,
    sanitize,
    state_style,
)

if TYPE_CHECKING:
    from rich.table import Table

PIPE_WIDTH = 1000
JSON_PIECES = 8192
"""Pieces of encoded JSON written at once: few writes, yet never the whole array in memory."""
TABLE_HEADERS = ("NAME", "STATE", "CPUS", "MEMORY", "CPU %", "MEM USED", "UPTIME", "URL")


def write_fleet_json(fleet: Fleet, file: IO[str]) -> None:
    """The fleet as a JSON array of normalized sprites, in wisp's order, written as it is
    encoded (a fleet at ``max_sprites`` is megabytes of text, never held whole)."""
    sprites = [sprite.public_dict() for sprite in fleet.sprites]
    pieces: list[str] = []
    for piece in json.JSONEncoder(indent=2).iterencode(sprites):
        pieces.append(piece)
        if len(pieces) == JSON_PIECES:
            file.write("".join(pieces))
            pieces.clear()
    file.write("".join(pieces) + "\n")


def sprite_json(sprite: Sprite) -> str:
    return json.dumps(sprite.public_dict(), indent=2)


def table_cells(sprite: Sprite) -> tuple[str, ...]:
    """The text of each column for one sprite, sanitized for a terminal."""
    return (
        sanitize(sprite.name),
        sanitize(sprite.state or UNKNOWN),
        format_number(sprite.cpus),
        format_mib(sprite.memory_mib),
        format_number(sprite.cpu_percent, "%"),
        format_mib(sprite.memory_used_mib),
        format_duration(sprite.uptime_seconds),
        sanitize(sprite.url or UNKNOWN),
    )


def fleet_table(fleet: Fleet) -> Table:
    """A rich table of the fleet; every cell is literal text, never markup."""
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold")
    for column in TABLE_HEADERS:
        numeric = column in {"CPUS", "CPU %", "MEM USED", "MEMORY", "UPTIME"}
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for sprite in fleet.sprites:
        cells = [Text(cell) for cell in table_cells(sprite)]
        cells[1].stylize(state_style(sprite.state))
        table.add_row(*cells)
    return table


def print_table(fleet: Fleet, caption: str, file: IO[str]) -> None:
    """Print the table and its caption; when ``file`` is not a terminal no cell is cut short."""
    from rich.console import Console
    from rich.text import Text

    width = None if file.isatty() else PIPE_WIDTH
    console = Console(file=file, width=width, highlight=False)
    console.print(fleet_table(fleet))
    console.print(Text(caption, style="dim"))


def describe_backend(label: str, version: str, isolations: Sequence[str]) -> str:
    """``wisp /usr/bin/wisp 0.3.1`` or ``built-in sandbox provider 0.1.0 (isolation: bwrap)``."""
    text = f"{label} {version}".rstrip()
    if isolations:
        text += f" (isolation: {', '.join(isolations)})"
    return sanitize(text)


def caption_for(backend_label: str, version: str | None, fleet: Fleet, max_vms: int) -> str:
    """``wisp /usr/bin/wisp 0.3.1 · 3 sprites, 2 not stopped (max_vms 5)``."""
    backend = describe_backend(backend_label, version or "version unknown", fleet.isolations)
    count = len(fleet.sprites)
    noun = "sprite" if count == 1 else "sprites"
    return f"{backend} · {count} {noun}, {fleet.active_count} not stopped (max_vms {max_vms})"
