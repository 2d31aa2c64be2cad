"""Naming a process so that a reused pid is never mistaken for it: its pid and its start time.

Standard library only: the built-in provider uses it too.
"""

from __future__ import annotations


def process_start(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot, or ``None`` if it does not exist
    (or is a zombie). A pid together with its start time names one process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    if fields[0] == b"Z":
        return None
    return fields[19].decode()
