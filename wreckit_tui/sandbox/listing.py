"""``list``: every sandbox of a home with its state and current metrics, in one pass.

A sandbox is ``running`` while its tmux session exists, ``stopped`` once its program ended (or
its session was killed from outside), ``starting`` while a ``start`` holds its lock, and
``error`` when a ``start`` died before it was done. Metrics come from one pass over the process
table and the cgroups' own counters (see :mod:`wreckit_tui.sandbox.metrics`).
"""

from __future__ import annotations

import os
import shlex
import socket
import time

from wreckit_tui.pids import process_start
from wreckit_tui.sandbox import limits, membership, metrics
from wreckit_tui.sandbox.store import EXIT_STATUS, Home, Meta
from wreckit_tui.sandbox.tmux import Pane, Tmux

RECORD_KEYS = (
    "name", "id", "state", "cpus", "memory", "cpu_percent", "memory_used", "pid",
    "created_at", "isolation", "network", "limits", "workspace", "uid",
    "command", "exit_code", "activity_at", "title",
)  # fmt: skip
V1_FIELDS = RECORD_KEYS[:-4]
"""The fields of contract v1: :data:`RECORD_KEYS` without the v1.1 ones."""
V1_ONLY_VARIABLE = "_WRECKIT_SANDBOX_BENCH_V1_LIST"
"""Private, for ``bench/agents_bench.py`` only: set to ``1``, ``list`` leaves the v1.1 fields out
and does not gather them, so that the benchmark can time what they cost."""
Usage = dict[str, tuple[float, int]]
"""Sandbox id -> (cpu_percent, memory_used MiB)."""


def list_sandboxes(home: Home, tmux: Tmux) -> list[Meta]:
    """Every sandbox as ``list --json`` prints it, with its current metrics."""
    names = home.names()
    if not names:
        return []
    metas = {name: home.read_meta(name) for name in names}
    v1_only = os.environ.get(V1_ONLY_VARIABLE) == "1"
    panes = tmux.panes(terminal=not v1_only)  # after the metadata: a pid there has its session
    states = {name: state_of(home, name, metas[name] or {}, panes) for name in names}
    running = [meta for state, meta in states.values() if state == "running"]
    usage = _usage(home, running)
    records = [
        _record(home, name, states[name], usage, panes.get(name), v1_only=v1_only) for name in names
    ]
    return [record for record in records if record]


def _usage(home: Home, running: list[Meta]) -> Usage:
    """CPU and memory of the running sandboxes: from their cgroups' counters where they have
    them, else from one pass over the processes, read only if some sandbox needs it."""
    samples = metrics.Samples(home.samples_path())
    usage: Usage = {}
    if running:
        untracked = [meta for meta in running if not membership.tracking(meta)]
        processes = _Processes(markers=any("uid" not in meta for meta in untracked))
        now = time.monotonic()
        for meta in running:
            usage[meta["id"]] = _sandbox_usage(home, meta, processes, samples, now)
    samples.save()
    return usage


class _Processes:
    """The process table, read once, and only when first asked for."""

    def __init__(self, *, markers: bool) -> None:
        self.markers = markers
        self._read: tuple[metrics.ProcessTable, metrics.Marked] | None = None

    def get(self) -> tuple[metrics.ProcessTable, metrics.Marked]:
        if self._read is None:
            self._read = metrics.process_table(markers=self.markers)
        return self._read


def _sandbox_usage(
    home: Home, meta: Meta, processes: _Processes, samples: metrics.Samples, now: float
) -> tuple[float, int]:
    limited = limits.Limits.from_json(meta.get("limits") or {})
    tracking = limited.tracking
    if tracking:
        pids = set(limits.members(tracking))
    else:
        pids = membership.untracked_pids(home, meta, *processes.get())
    cpu = metrics.cgroup_cpu_seconds(tracking) if tracking else None
    cpu = cpu or metrics.cpu_seconds(pids, processes.get()[0])
    rate = samples.cpu_percent(meta["id"], meta["started"], now, cpu)
    held = None
    if limited.memory_dir:
        held = metrics.cgroup_memory_bytes(limited.memory_dir, limited.memory)
    return rate, metrics.mib(metrics.pss_bytes(pids) if held is None else held)


def _record(
    home: Home,
    name: str,
    seen: tuple[str | None, Meta],
    usage: Usage,
    pane: Pane | None,
    *,
    v1_only: bool = False,
) -> Meta | None:
    """The sandbox's record, or ``None`` if it was killed since ``list`` began; with
    ``v1_only`` without the v1.1 fields."""
    state, meta = seen
    if state is None:
        return None
    cpu, memory = usage.get(meta.get("id", ""), (0.0, 0))
    limited = meta.get("limits") or {}
    common = {
        **{key: meta.get(key) for key in RECORD_KEYS},
        "name": name,
        "state": state,
        "cpu_percent": cpu,
        "memory_used": memory,
        "pid": meta.get("pid") if state == "running" else None,
        "limits": {key: limited.get(key) for key in ("memory", "cpus", "pids")},
        "workspace": home.workspace(name),
        "uid": meta.get("uid", os.getuid()),
    }
    if v1_only:
        return {key: common[key] for key in V1_FIELDS}
    record = {
        **common,
        **_terminal(meta, pane),
        "exit_code": _exit_status(home, name) if state == "stopped" else None,
    }
    return {key: record[key] for key in RECORD_KEYS}


def _exit_status(home: Home, name: str) -> int | None:
    """The exit status the sandbox's own program left, if it ended and said."""
    try:
        with open(home.file(name, EXIT_STATUS)) as status:
            text = status.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _terminal(meta: Meta, pane: Pane | None) -> Meta:
    """The v1.1 fields of the terminal: the main program, when it last printed, and the title
    it set (tmux's default, the host's name, is no title)."""
    command = meta.get("command")
    fields: Meta = {
        "command": shlex.join(command) if command else None,
        "activity_at": None,
        "title": None,
    }
    if pane is None or "pid" not in meta:
        return fields
    if pane.activity:
        fields["activity_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(pane.activity))
    if pane.title and pane.title != socket.gethostname():
        fields["title"] = pane.title
    return fields


def state_of(home: Home, name: str, meta: Meta, panes: dict[str, Pane]) -> tuple[str | None, Meta]:
    """The sandbox's state, and its metadata read again if ``meta`` may be out of date.

    Metadata without a pid is a start under way while the lock is held. Once the lock is free
    the start may have finished since ``meta`` was read, so the metadata is read again: still
    without a pid, the start died (``error``), unless the sandbox is gone (``None``).
    """
    if "pid" in meta:
        pane = panes.get(name)
        return ("running" if pane and not pane.dead else "stopped"), meta
    if home.is_locked(name):
        return "starting", meta
    meta = home.read_meta(name) or {}
    if "pid" in meta:
        pane_runs = process_start(meta["pid"]) == meta.get("pid_start")
        return ("running" if pane_runs else "stopped"), meta
    return ("error" if os.path.isdir(home.dir(name)) else None), meta
