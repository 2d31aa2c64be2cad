"""The command line with several backends (``[[backends]]``): names, ``--backend``, the list.

``--backend NAME`` names one of the configured backends (without ``[[backends]]`` it is the
kind, ``wisp`` or ``sprites``). Every command that names a sprite takes ``BACKEND/NAME`` or a
bare ``NAME`` that only one backend has; ``start`` and ``run`` put a new sprite on the named
backend, else the first. ``list`` and ``--headless`` show every backend that answered and name
each one that did not on stderr (exit 4).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from typing import Any

from wreckit_tui.config import Config, load_config
from wreckit_tui.errors import WispError
from wreckit_tui.fleets import Fleets
from wreckit_tui.fleets import public_name as named

__all__ = ["list_fleets", "load_settings", "named", "prepare"]
NEW_SPRITE_COMMANDS = ("start", "run")
FAILED = WispError.exit_code


def load_settings(args: argparse.Namespace, flags: Mapping[str, Any]) -> Config:
    """The settings; with ``[[backends]]``, ``--backend`` names one of them
    (``args.member``) rather than a kind."""
    flags = dict(flags)
    chosen = flags.pop("backend", None) if args.backend else None
    config = load_config(args.config, flags)
    args.member = None
    if chosen is None:
        return config
    if config.backends:
        args.member = chosen
        return config
    return load_config(args.config, {**flags, "backend": chosen})


def prepare(wisp: Fleets, args: argparse.Namespace) -> None:
    """Turn the sprite the command names into ``BACKEND/NAME`` (refusing an unknown backend,
    a name no backend has, or one that several have)."""
    name = getattr(args, "name", None)
    if args.member is not None:
        wisp.member(args.member)
    if name is None:
        return
    if args.command in NEW_SPRITE_COMMANDS:
        qualified = wisp.start_name(name, args.member)
        if args.command == "run":  # run NAME of a stopped sprite starts it again
            qualified = _existing(wisp, name) or qualified
        args.name = qualified
    else:
        args.name = asyncio.run(wisp.qualified(name))


def _existing(wisp: Fleets, name: str) -> str | None:
    try:
        return asyncio.run(wisp.qualified(name)) if "/" not in name else None
    except WispError:
        return None


async def list_fleets(wisp: Fleets, config: Config, *, as_json: bool) -> int:
    """The table (or ``--json``) of every backend that answered; each failure on stderr."""
    from wreckit_tui.headless import caption_for, print_table, write_fleet_json
    from wreckit_tui.stderr_lines import say_error, say_warnings
    from wreckit_tui.watching import list_watched  # the table and activity: only where needed

    fleet = await list_watched(wisp, config.activity.overrides())
    failures = wisp.failures
    say_warnings(fleet)
    if as_json:
        write_fleet_json(fleet, sys.stdout)
    else:
        answered = [m for m in wisp.members if m.name not in failures]
        limit = sum(m.max_vms for m in answered)
        names = ", ".join(m.name for m in answered)
        label = f"backend{'s' if len(answered) > 1 else ''} {names}"
        caption = caption_for(label, None, fleet, limit).replace(" version unknown", "", 1)
        print_table(fleet, caption, sys.stdout, backends=len(wisp.members) > 1)
    for error in failures.values():
        say_error(error.message)
    return FAILED if failures else 0
