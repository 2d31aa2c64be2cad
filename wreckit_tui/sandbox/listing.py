"""``list``: every sandbox of a home with its state and current metrics, in one pass.

A sandbox is ``running`` while its tmux session exists, ``stopped`` once its program ended (or
its session was killed from outside), ``starting`` while a ``start`` holds its lock, and
``error`` when a ``start`` died before it was done. Metrics come from one pass over the process
table and the cgroups' own counters (see :mod:`wreckit_tui.sandbox.metrics`).
"""

from __future__ import annotations

import os
import time

from wreckit_tui.sandbox import limits, membership, metrics
from wreckit_tui.sandbox.store import Home, Meta, process_start
from wreckit_tui.sandbox.tmux import Tmux

RECORD_KEYS = (
    "name", "id", "state", "cpus", "memory", "cpu_percent", "memory_used", "pid",
    "created_at", "isolation", "network", "limits", "workspace", "uid",
)  # fmt: skip
Usage = dict[str, tuple[float, int]]
"""Sandbox id -> (cpu_percent, memory_used MiB)."""


def list_sandboxes(home: Home, tmux: Tmux) -> list[Meta]:
    """Every sandbox as ``list --json`` prints it, with its current metrics."""
    names = home.names()
    if not names:
        return []
    metas = {name: home.read_meta(name) for name in names}
    sessions = tmux.sessions()  # after the metadata: a pid there has its session here
    states = {name: state_of(home, name, metas[name] or {}, sessions) for name in names}
    running = [meta for state, meta in states.values() if state == "running"]
    usage = _usage(home, running)
    records = [_record(home, name, *states[name], usage) for name in names]
    return [record for record in records if record]


def _usage(home: Home, running: list[Meta]) -> Usage:
    """CPU and memory of the running sandboxes, from one pass over the processes."""
    samples = metrics.Samples(home.samples_path())
    usage: Usage = {}
    if running:
        untracked = [meta for meta in running if not membership.tracking(meta)]
        markers = any("uid" not in meta for meta in untracked)
        processes = metrics.process_table(markers=markers)
        now = time.monotonic()
        for meta in running:
            usage[meta["id"]] = _sandbox_usage(home, meta, processes, samples, now)
    samples.save()
    return usage


def _sandbox_usage(
    home: Home,
    meta: Meta,
    processes: tuple[metrics.ProcessTable, metrics.Marked],
    samples: metrics.Samples,
    now: float,
) -> tuple[float, int]:
    table, marked = processes
    limited = limits.Limits.from_json(meta.get("limits") or {})
    tracking = limited.tracking
    if tracking:
        pids = set(limits.members(tracking))
    else:
        pids = membership.untracked_pids(home, meta, table, marked)
    cpu = metrics.cgroup_cpu_seconds(tracking) if tracking else None
    cpu = cpu or metrics.cpu_seconds(pids, table)
    rate = samples.cpu_percent(meta["id"], meta["started"], now, cpu)
    held = None
    if limited.memory_dir:
        held = metrics.cgroup_memory_bytes(limited.memory_dir, limited.memory)
    return rate, metrics.mib(metrics.pss_bytes(pids) if held is None else held)


def _record(home: Home, name: str, state: str | None, meta: Meta, usage: Usage) -> Meta | None:
    """The sandbox's record, or ``None`` if it was killed since ``list`` began."""
    if state is None:
        return None
    cpu, memory = usage.get(meta.get("id", ""), (0.0, 0))
    limited = meta.get("limits") or {}
    record = {
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
    return {key: record[key] for key in RECORD_KEYS}


def state_of(
    home: Home, name: str, meta: Meta, sessions: dict[str, int]
) -> tuple[str | None, Meta]:
    """The sandbox's state, and its metadata read again if ``meta`` may be out of date.

    Metadata without a pid is a start under way while the lock is held. Once the lock is free
    the start may have finished since ``meta`` was read, so the metadata is read again: still
    without a pid, the start died (``error``), unless the sandbox is gone (``None``).
    """
    if "pid" in meta:
        return ("running" if name in sessions else "stopped"), meta
    if home.is_locked(name):
        return "starting", meta
    meta = home.read_meta(name) or {}
    if "pid" in meta:
        pane_runs = process_start(meta["pid"]) == meta.get("pid_start")
        return ("running" if pane_runs else "stopped"), meta
    return ("error" if os.path.isdir(home.dir(name)) else None), meta
