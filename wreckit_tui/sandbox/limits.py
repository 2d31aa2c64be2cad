"""Resource limits and process tracking through cgroups, with rlimit and affinity fallbacks.

Each sandbox gets one cgroup per hierarchy it uses, named ``wreckit-sandbox.<home key>.<name>``
at the root of that hierarchy:

- cgroup v2, whenever it is mounted and writable: it tracks every process of the sandbox (and
  ``cgroup.kill`` ends them at once); it limits memory, cpu and pids where those controllers are;
- cgroup v1 ``memory``, ``cpu`` and ``pids``, for whichever of them v2 does not provide.

Where no cgroup is writable (say, not root), memory falls back to ``RLIMIT_AS`` (a cap on each
process's address space), cpus to CPU affinity (``N`` of the machine's cores) and pids to
``RLIMIT_NPROC``, which counts the processes of one user: a sandbox's own uid when root runs the
provider, else every process of the user who runs it. ``WRECKIT_SANDBOX_CGROUPS=off`` selects
the fallbacks even where cgroups are writable.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import zlib
from collections.abc import Callable, Iterable

CGROUPS_ENV = "WRECKIT_SANDBOX_CGROUPS"
PREFIX = "wreckit-sandbox."
CPU_PERIOD_US = 100_000
KILL_TIMEOUT = 5.0
V1_CONTROLLERS = {"memory", "cpu", "pids"}
V2_CONTROLLERS = {"memory", "cpu", "pids"}


def cgroups_enabled() -> bool:
    return os.environ.get(CGROUPS_ENV, "").strip().lower() not in {"off", "0", "no", "false"}


def hierarchies() -> tuple[str | None, dict[str, str]]:
    """The cgroup2 mount point, and the v1 mount points of the ``memory``, ``cpu`` and ``pids``
    controllers."""
    v2: str | None = None
    v1: dict[str, str] = {}
    try:
        with open("/proc/self/mountinfo") as mounts:
            lines = mounts.read().splitlines()
    except OSError:
        return None, {}
    for line in lines:
        before, _, after = line.partition(" - ")
        fstype, _source, options = [*after.split(), "", "", ""][:3]
        mount_point = _unescape(before.split()[4])
        if fstype == "cgroup2" and v2 is None:
            v2 = mount_point
        elif fstype == "cgroup":
            for controller in set(options.split(",")) & V1_CONTROLLERS:
                v1.setdefault(controller, mount_point)
    return v2, v1


def _unescape(path: str) -> str:
    return path.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")


def leaf(home_key: str, name: str) -> str:
    return f"{PREFIX}{home_key}.{name}"


class Limits:
    """How one sandbox is limited: its cgroup directories and the mechanism of each limit.

    ``memory_dir`` is the cgroup whose memory counter says what the sandbox holds, if any.
    """

    def __init__(
        self, dirs: list[str], memory: str, cpus: str, pids: str = "", memory_dir: str = ""
    ) -> None:
        self.dirs = dirs
        self.memory = memory
        self.cpus = cpus
        self.pids = pids
        self.memory_dir = memory_dir

    @property
    def tracking(self) -> str | None:
        """The cgroup whose members are the sandbox's processes (v2 first), if any."""
        return self.dirs[0] if self.dirs else None

    def to_json(self) -> dict[str, object]:
        return {
            "cgroups": self.dirs,
            "memory": self.memory,
            "cpus": self.cpus,
            "pids": self.pids,
            "memory_cgroup": self.memory_dir,
        }

    @classmethod
    def from_json(cls, data: dict) -> Limits:
        return cls(
            list(data.get("cgroups") or []),
            data.get("memory", ""),
            data.get("cpus", ""),
            data.get("pids", ""),
            data.get("memory_cgroup") or "",
        )


def create(home_key: str, name: str, memory_mib: int, cpus: int, pids: int) -> Limits:
    """Create the sandbox's cgroups and write its limits; fall back where cgroups fail."""
    limits = Limits([], "rlimit", "affinity", "rlimit")
    if not cgroups_enabled():
        return limits
    v2, v1 = hierarchies()
    group = leaf(home_key, name)
    if v2:
        _limit_v2(os.path.join(v2, group), v2, (memory_mib, cpus, pids), limits)
    if limits.memory == "rlimit" and "memory" in v1:
        size = str(memory_mib << 20)
        path = os.path.join(v1["memory"], group)
        writes = [("memory.limit_in_bytes", size), ("memory.memsw.limit_in_bytes", size)]
        if _limit_v1(path, writes, limits):
            limits.memory, limits.memory_dir = "cgroup1", path
    if limits.cpus == "affinity" and "cpu" in v1:
        path = os.path.join(v1["cpu"], group)
        if _limit_v1(path, [("cpu.cfs_quota_us", str(cpus * _cpu_period(path)))], limits):
            limits.cpus = "cgroup1"
    if limits.pids == "rlimit" and "pids" in v1:
        path = os.path.join(v1["pids"], group)
        if _limit_v1(path, [("pids.max", str(pids))], limits):
            limits.pids = "cgroup1"
    return limits


def _limit_v2(path: str, mount: str, wanted: tuple[int, int, int], limits: Limits) -> None:
    if not _make_dir(path):
        return
    limits.dirs.append(path)
    memory_mib, cpus, pids = wanted
    available = _enable_v2_controllers(mount)
    if "memory" in available and _write_all(
        path, [("memory.max", str(memory_mib << 20)), ("memory.swap.max", "0")]
    ):
        limits.memory, limits.memory_dir = "cgroup2", path
    quota = f"{cpus * CPU_PERIOD_US} {CPU_PERIOD_US}"
    if "cpu" in available and _write_all(path, [("cpu.max", quota)]):
        limits.cpus = "cgroup2"
    if "pids" in available and _write_all(path, [("pids.max", str(pids))]):
        limits.pids = "cgroup2"


def _enable_v2_controllers(mount: str) -> set[str]:
    """The controllers the children of the v2 root may use, enabling those we want if possible."""
    wanted = _read_words(os.path.join(mount, "cgroup.controllers")) & V2_CONTROLLERS
    subtree = os.path.join(mount, "cgroup.subtree_control")
    enabled = _read_words(subtree)
    for controller in wanted - enabled:
        if _write(subtree, f"+{controller}"):
            enabled.add(controller)
    return enabled & wanted


def _limit_v1(path: str, writes: list[tuple[str, str]], limits: Limits) -> bool:
    """Create a v1 cgroup holding ``writes``; on failure leave nothing behind."""
    if not _make_dir(path):
        return False
    if not _write_all(path, writes):
        _remove_dir(path)
        return False
    limits.dirs.append(path)
    return True


def _cpu_period(path: str) -> int:
    words = _read_words(os.path.join(path, "cpu.cfs_period_us"))
    text = words.pop() if len(words) == 1 else ""
    return int(text) if text.isdigit() else CPU_PERIOD_US


def _write_all(path: str, writes: list[tuple[str, str]]) -> bool:
    """Write each value to its file in ``path``; files the kernel lacks are skipped."""
    for filename, value in writes:
        target = os.path.join(path, filename)
        if os.path.exists(target) and not _write(target, value):
            return False
    return True


def _make_dir(path: str) -> bool:
    try:
        os.mkdir(path)
    except FileExistsError:
        return True
    except OSError:
        return False
    return True


def _write(path: str, value: str) -> bool:
    try:
        with open(path, "w") as handle:
            handle.write(value)
    except OSError:
        return False
    return True


def _read_words(path: str) -> set[str]:
    try:
        with open(path) as handle:
            return set(handle.read().split())
    except OSError:
        return set()


def existing_dirs(home_key: str, name: str) -> list[str]:
    """The cgroups a sandbox of this name may have left, for cleaning up after a failed start."""
    v2, v1 = hierarchies()
    mounts = [mount for mount in (v2, *v1.values()) if mount]
    paths = [os.path.join(mount, leaf(home_key, name)) for mount in dict.fromkeys(mounts)]
    return [path for path in paths if os.path.isdir(path)]


# -- membership and the end of a sandbox ---------------------------------------------------------


def members(path: str) -> list[int]:
    """The pids in the cgroup at ``path`` (none if it is gone)."""
    try:
        with open(os.path.join(path, "cgroup.procs")) as handle:
            return [int(word) for word in handle.read().split()]
    except (OSError, ValueError):
        return []


def join(dirs: list[str], pid: int) -> None:
    """Move ``pid`` into every cgroup of the sandbox."""
    for path in dirs:
        with open(os.path.join(path, "cgroup.procs"), "w") as handle:
            handle.write(str(pid))


def kill_members(dirs: list[str]) -> None:
    """SIGKILL every process in the cgroups, until they are empty or the timeout passes."""
    for path in dirs:
        kill_file = os.path.join(path, "cgroup.kill")
        if os.path.exists(kill_file):
            _write(kill_file, "1")
    kill_until_gone(lambda: {pid for path in dirs for pid in members(path)})


def kill_until_gone(find_pids: Callable[[], Iterable[int]]) -> None:
    """SIGKILL the pids ``find_pids`` returns, again and again, until it returns none or the
    timeout passes (a process may fork while it is being killed)."""
    deadline = time.monotonic() + KILL_TIMEOUT
    while time.monotonic() < deadline:
        pids = set(find_pids())
        if not pids:
            return
        for pid in pids:
            send_kill(pid)
        time.sleep(0.005)


def remove(dirs: list[str]) -> list[str]:
    """Remove the (empty) cgroups; returns those that could not be removed."""
    return [path for path in dirs if not _remove_dir(path)]


def _remove_dir(path: str) -> bool:
    """rmdir, retried for a moment: a cgroup stays busy briefly after its last process exits."""
    deadline = time.monotonic() + KILL_TIMEOUT
    while True:
        try:
            os.rmdir(path)
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        else:
            return True


def send_kill(pid: int) -> None:
    """SIGKILL ``pid``; one that is already gone is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


# -- fallbacks --------------------------------------------------------------------------------


def rlimit_kib(memory_mib: int) -> int:
    """``RLIMIT_AS`` in KiB, as ``ulimit -v`` takes it."""
    return memory_mib * 1024


def affinity(name: str, cpus: int) -> list[int] | None:
    """``cpus`` of the cores this process may use, picked by name so sandboxes spread out.

    ``None`` when the sandbox may use them all anyway.
    """
    allowed = sorted(os.sched_getaffinity(0))
    if cpus >= len(allowed):
        return None
    first = zlib.crc32(name.encode()) % len(allowed)
    return [allowed[(first + offset) % len(allowed)] for offset in range(cpus)]
