"""Which host processes belong to a sandbox, for its metrics and for ``kill``.

They are the members of its tracking cgroup where it has one. Elsewhere they are every process
of the sandbox's own uid (when root runs the provider), the process trees of its pane and of each
``exec``, and every process whose environment carries the sandbox's marker, which finds those
that left the trees (say through ``setsid``).
"""

from __future__ import annotations

from wreckit_tui.pids import process_start
from wreckit_tui.sandbox import limits, metrics
from wreckit_tui.sandbox.store import EXECS, Home, Meta

Anchor = tuple[int, str | None]
"""A process as (pid, start time), so that a reused pid is never mistaken for it."""


def tracking(meta: Meta) -> str | None:
    """The cgroup whose members are the sandbox's processes, if it has one."""
    return limits.Limits.from_json(meta.get("limits") or {}).tracking


def pane(meta: Meta) -> list[Anchor]:
    """The pane's first process: the launcher, bubblewrap once it runs."""
    return [(meta["pid"], meta.get("pid_start"))] if "pid" in meta else []


def namespace_init(meta: Meta) -> list[Anchor]:
    """The first process of the sandbox's pid namespace, as bubblewrap reported it."""
    namespaces = meta.get("namespaces") or {}
    if "child-pid" not in namespaces:
        return []
    return [(namespaces["child-pid"], meta.get("ns_start"))]


def untracked_pids(
    home: Home, meta: Meta, table: metrics.ProcessTable, marked: metrics.Marked
) -> set[int]:
    """The pids of a sandbox no cgroup tracks (see the module's docstring)."""
    name = meta["name"]
    marker = (name, home.workspace(name))
    roots = [*live_roots(home, meta), *marked.get(marker, [])]
    pids = metrics.descendants(roots, table)
    if "uid" in meta:
        pids |= metrics.owned_by(meta["uid"], table)
    return pids


def live_roots(home: Home, meta: Meta) -> list[int]:
    """The pane and every exec of an untracked sandbox that still run."""
    roots: list[tuple] = list(pane(meta))
    try:
        with open(home.file(meta["name"], EXECS)) as execs:
            roots += [tuple(line.split()) for line in execs if len(line.split()) == 2]
    except OSError:
        pass
    return [int(pid) for pid, start in roots if process_start(int(pid)) == start]
