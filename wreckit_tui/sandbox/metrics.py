"""Metrics of every sandbox from one psutil pass over the process table.

``memory_used`` is what the sandbox really holds, in whole MiB: the memory counter of its cgroup
less the file cache it could drop at once (``inactive_file``, as ``docker stats`` counts), where
a cgroup limits its memory; elsewhere the proportional set size (PSS) of its processes, which
counts a page shared by N processes as 1/N in each, instead of once per process as RSS does.

``cpu_percent`` is a current rate, 100 = one core: the CPU seconds the sandbox used since a
reference sample, over the time since. Every ``list`` is a fresh process, so each one stores a
sample per sandbox on disk (CPU seconds, and a monotonic time). The reference is the newest stored
sample at least ``MIN_WINDOW`` seconds old, else the oldest one kept. The first ``list`` after
``start`` finds none stored and measures from the start (the sandbox then had used no CPU): it
reports the average since start, which for a dashboard polling a new sandbox is the last seconds.

CPU seconds come from the ``cpu.stat`` counter of the sandbox's cgroup v2 where there is one: it
keeps the time of processes that exited between two lists. Elsewhere they are summed per process
(user + system), compared pid by pid so that a process that exits takes its own time with it
instead of making the rate negative; the time of a process that lived between two lists is lost.

The processes of a sandbox are the members of its tracking cgroup, or, where there is no cgroup,
every process of its own uid (when root runs the provider), the process trees of its pane and of
each ``exec``, and every process whose environment carries the sandbox's marker
(``WRECKIT_SANDBOX`` = its name and ``HOME`` = its workspace), which finds the processes that
left those trees, say through ``setsid``. A sandbox that is not running reports no CPU and no
memory.
"""

from __future__ import annotations

from wreckit_tui.sandbox.isolation import MARKER_VAR
from wreckit_tui.sandbox.store import read_json, write_json_atomic

MIN_WINDOW = 1.0
MAX_SAMPLES = 16
MIB = 1 << 20

ProcessTable = dict[int, tuple[int, float, int]]
"""pid -> (parent pid, CPU seconds, real uid)."""
Marker = tuple[str, str]
"""``(WRECKIT_SANDBOX, HOME)`` of a process: the name and workspace of the sandbox it began in."""
Marked = dict[Marker, list[int]]
"""Marker -> the pids whose environment carries it."""


def process_table(*, markers: bool = False) -> tuple[ProcessTable, Marked]:
    """One pass over every process: its parent, CPU seconds (user + system) and real uid.

    With ``markers``, the same pass also reads each environment and returns the pids by marker.
    """
    import psutil

    attrs = ["ppid", "cpu_times", "uids", *(["environ"] if markers else [])]
    table: ProcessTable = {}
    marked: Marked = {}
    for process in psutil.process_iter(attrs):
        info = process.info
        times, uids = info["cpu_times"], info["uids"]
        if times is None or uids is None:
            continue
        table[process.pid] = (info["ppid"], times.user + times.system, uids.real)
        env = info.get("environ") or {}
        if MARKER_VAR in env:
            marked.setdefault((env[MARKER_VAR], env.get("HOME", "")), []).append(process.pid)
    return table, marked


def descendants(roots: list[int], table: ProcessTable) -> set[int]:
    """``roots`` that exist and all their descendants."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _cpu, _uid) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    pending = [pid for pid in roots if pid in table]
    while pending:
        pid = pending.pop()
        if pid not in found:
            found.add(pid)
            pending.extend(children.get(pid, ()))
    return found


def mib(size: int) -> int:
    """Bytes in whole MiB, rounded: more than half a MiB is not 0."""
    return round(size / MIB)


def pss_bytes(pids: set[int]) -> int:
    """The proportional set size of ``pids`` together; a process gone meanwhile counts nothing."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
                for line in rollup:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total


def cgroup_memory_bytes(path: str, version: str) -> int | None:
    """What the memory cgroup at ``path`` holds, less its inactive file cache; ``None`` when its
    counters cannot be read."""
    usage_file, inactive_key = (
        ("memory.current", "inactive_file")
        if version == "cgroup2"
        else ("memory.usage_in_bytes", "total_inactive_file")
    )
    try:
        with open(f"{path}/{usage_file}") as usage_text, open(f"{path}/memory.stat") as stat:
            usage = int(usage_text.read())
            inactive = _stat_value("\n" + stat.read(), inactive_key)
    except (OSError, ValueError):
        return None
    return max(usage - inactive, 0)


def _stat_value(text: str, key: str) -> int:
    """The value of ``key`` in the text of a cgroup's ``memory.stat`` (a newline before it),
    0 if absent: found without splitting every line, as each ``list`` reads one per sandbox."""
    start = text.find(f"\n{key} ")
    if start < 0:
        return 0
    start += len(key) + 2
    end = text.find("\n", start)
    return int(text[start : end if end >= 0 else None])


def owned_by(uid: int, table: ProcessTable) -> set[int]:
    """The pids whose real uid is ``uid``: every process of a sandbox with a uid of its own."""
    return {pid for pid, (_ppid, _cpu, owner) in table.items() if owner == uid}


def cpu_seconds(pids: set[int], table: ProcessTable) -> dict[str, float]:
    """CPU seconds of each live process, by pid."""
    return {str(pid): table[pid][1] for pid in pids if pid in table}


def cgroup_cpu_seconds(cgroup: str) -> dict[str, float] | None:
    """The CPU seconds a cgroup v2 has used, exited processes included (under the key
    ``cgroup``), or ``None`` where the cgroup has no such counter."""
    try:
        with open(f"{cgroup}/cpu.stat") as stat:
            for line in stat:
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return {"cgroup": int(value) / 1e6}
    except (OSError, ValueError):
        return None
    return None


class Samples:
    """The stored CPU samples of every sandbox, read once and written once per ``list``."""

    def __init__(self, path: str) -> None:
        self.path = path
        stored = read_json(path, {})
        self.stored: dict = stored if isinstance(stored, dict) else {}
        self.updated: dict[str, list[dict]] = {}

    def cpu_percent(
        self, sandbox_id: str, started: float, now: float, current: dict[str, float]
    ) -> float:
        """The rate since the reference sample; records ``current`` as the newest sample."""
        history = _valid_history(self.stored.get(sandbox_id)) or [{"t": started, "cpu": {}}]
        rate = rate_since(reference(history, now), now, current)
        self.updated[sandbox_id] = prune([*history, {"t": now, "cpu": current}], now)
        return rate

    def save(self) -> None:
        """Keep the samples of the sandboxes seen by this ``list``, dropping all others."""
        write_json_atomic(self.path, self.updated)


def reference(history: list[dict], now: float) -> dict:
    """The newest sample at least ``MIN_WINDOW`` old, else the oldest one."""
    old_enough = [sample for sample in history if now - sample["t"] >= MIN_WINDOW]
    return old_enough[-1] if old_enough else history[0]


def rate_since(reference: dict, now: float, current: dict[str, float]) -> float:
    """CPU percent between ``reference`` and ``current``; a pid new since then counts in full."""
    elapsed = now - reference["t"]
    if elapsed <= 0:
        return 0.0
    before = reference["cpu"]
    used = sum(max(0.0, seconds - before.get(pid, 0.0)) for pid, seconds in current.items())
    return round(100 * used / elapsed, 1)


def prune(history: list[dict], now: float) -> list[dict]:
    """Drop samples older than the one the next ``list`` would use as its reference."""
    old_enough = [index for index, sample in enumerate(history) if now - sample["t"] >= MIN_WINDOW]
    first = old_enough[-1] if old_enough else 0
    return history[first:][-MAX_SAMPLES:]


def _valid_history(history: object) -> list[dict] | None:
    if not isinstance(history, list) or not history:
        return None
    for sample in history:
        if not (
            isinstance(sample, dict)
            and isinstance(sample.get("t"), int | float)
            and isinstance(sample.get("cpu"), dict)
        ):
            return None
    return history
