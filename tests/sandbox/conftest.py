"""Fixtures of the built-in provider: a home (and so a tmux socket) per test, and a full cleanup.

Every test gets its own ``WRECKIT_SANDBOX_HOME``, which names its own tmux socket and cgroups.
After the test, every sandbox left is killed through the provider, and the teardown fails the
test if that left a tmux server, a socket, a cgroup, a sandbox directory or a process carrying a
sandbox's marker behind (they are removed either way).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.waiting import wait_until
from wreckit_tui.sandbox import limits
from wreckit_tui.sandbox.store import Home
from wreckit_tui.sandbox.tmux import SOCKET_ROOT

PROVIDER = [sys.executable, "-m", "wreckit_tui.sandbox"]
SANDBOX_PYTHON = "/usr/bin/python3"
"""An interpreter the sandboxes can run: the system's. Run by root, a sandbox runs as a user of
its own, who cannot enter root's home, where this interpreter may live; and its /tmp, where a
venv may live, is private."""


USER_UID = 1_999_999_001
"""The unprivileged user the provider runs as in tests "as a user" (an account nobody has)."""


def as_user(lib: Path) -> list[str]:
    """The provider run as :data:`USER_UID` by the system's interpreter, from ``lib``."""
    switch = ["setpriv", f"--reuid={USER_UID}", f"--regid={USER_UID}", "--clear-groups"]
    return [*switch, "--", SANDBOX_PYTHON, "-m", "wreckit_tui.sandbox"]


class SandboxHome:
    """A provider home for one test, and helpers that run the provider as a real process:
    as this user (root), or with ``provider`` another way (as an unprivileged user)."""

    def __init__(self, path: Path, env: dict[str, str], provider: list[str] | None = None) -> None:
        self.path = path
        self.env = {**os.environ, **env, "WRECKIT_SANDBOX_HOME": str(path)}
        self.key = Home(str(path)).key
        self.provider = provider or PROVIDER
        self.uid = USER_UID if provider else os.getuid()
        self.socket = os.path.join(SOCKET_ROOT, f"wreckit-sandbox-{self.uid}", self.key)
        switch = provider[: provider.index("--") + 1] if provider else []
        self.tmux = [*switch, "tmux", "-S", self.socket]
        """tmux on the provider's socket, run as the provider's user."""

    def run(
        self, *args: str, timeout: float = 30, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.provider, *args],
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def popen(self, *args: str, new_session: bool = False) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*self.provider, *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=new_session,
        )

    def start(self, name: str, *flags: str) -> dict:
        done = self.run("start", name, *flags)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def list(self) -> list[dict]:
        done = self.run("list", "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def record(self, name: str) -> dict:
        return next(record for record in self.list() if record["name"] == name)

    def exec(self, name: str, *command: str, timeout: float = 30):
        return self.run("exec", name, "--", *command, timeout=timeout)

    def in_shell_keys(self, name: str, text: str) -> None:
        """Type ``text`` and Enter into the sandbox's own shell (its tmux pane)."""
        env = {k: v for k, v in os.environ.items() if k != "TMUX"}
        target = ["-t", f"={name}:"]
        subprocess.run([*self.tmux, "send-keys", *target, "-l", text], env=env, check=True)
        subprocess.run([*self.tmux, "send-keys", *target, "Enter"], env=env, check=True)

    def in_shell(self, name: str, command: str, timeout: float = 10) -> str:
        """What ``command`` prints when typed into the sandbox's own shell (its tmux pane)."""
        out = self.path / name / "workspace" / f".out-{time.monotonic_ns()}"
        self.in_shell_keys(name, f"{{ {command}; }} > {out}.part 2>&1; mv {out}.part {out}")
        wait_until(out.exists, timeout=timeout, what=f"the shell to run {command!r}")
        return out.read_text()

    def kill(self, name: str) -> None:
        done = self.run("kill", name)
        assert done.returncode == 0, done.stderr

    def meta(self, name: str) -> dict:
        return json.loads((self.path / name / "sandbox.json").read_text())

    def cgroups(self) -> list[str]:
        """Every cgroup directory of this home, on any hierarchy."""
        v2, v1 = limits.hierarchies()
        mounts = {mount for mount in (v2, *v1.values()) if mount}
        prefix = f"{limits.PREFIX}{self.key}."
        return sorted(
            os.path.join(mount, entry)
            for mount in mounts
            for entry in os.listdir(mount)
            if entry.startswith(prefix)
        )

    def server_pid(self) -> int | None:
        done = subprocess.run(
            [*self.tmux, "display-message", "-p", "#{pid}"],
            capture_output=True,
            text=True,
            check=False,
            env={k: v for k, v in os.environ.items() if k != "TMUX"},
        )
        return int(done.stdout) if done.returncode == 0 and done.stdout.strip() else None

    def sandbox_pids(self, name: str) -> set[int]:
        """Host pids of every process of a sandbox: its cgroup members, and the process trees of
        its pane and of each exec."""
        meta = self.meta(name)
        pids = {meta["pid"], meta["namespaces"].get("child-pid", meta["pid"])}
        for path in meta["limits"]["cgroups"]:
            pids |= set(limits.members(path))
        execs = self.path / name / "execs"
        roots = [meta["pid"]]
        if execs.exists():
            roots += [int(line.split()[0]) for line in execs.read_text().splitlines()]
        for root in roots:
            with contextlib.suppress(psutil.NoSuchProcess):
                pids |= {root} | {child.pid for child in psutil.Process(root).children(True)}
        return {pid for pid in pids if alive(pid)}

    def marked_processes(self) -> list[psutil.Process]:
        """Live processes whose environment says they belong to a sandbox of this home: the
        marker is ``WRECKIT_SANDBOX`` set and ``HOME`` a workspace under the home."""
        prefix = Home(str(self.path)).path + os.sep
        found = []
        for process in psutil.process_iter(["environ", "status"]):
            env = process.info["environ"] or {}
            if (
                "WRECKIT_SANDBOX" in env
                and env.get("HOME", "").startswith(prefix)
                and process.info["status"] != psutil.STATUS_ZOMBIE
            ):
                found.append(process)
        return found

    def leftovers(self) -> list[str]:
        """What a clean provider would not leave behind once every sandbox is killed."""
        found = [f"cgroup {path}" for path in self.cgroups()]
        if os.path.exists(self.socket):
            found.append(f"socket {self.socket}")
        found += [f"sandbox directory {name}" for name in Home(str(self.path)).names()]
        found += [f"hidden directory {path.name}" for path in self.path.glob(".*") if path.is_dir()]
        found += [
            f"process {process.pid} {process.info['environ']['WRECKIT_SANDBOX']!r}"
            for process in self.marked_processes()
        ]
        return found

    def force_cleanup(self) -> None:
        if self.server_pid():
            subprocess.run([*self.tmux, "kill-server"], check=False)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)
        paths = self.cgroups()
        limits.kill_members(paths)
        limits.remove(paths)
        for process in self.marked_processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def passable_dir(parent: str) -> Path:
    """A new directory under ``parent`` that others may pass through but not list (0711), as a
    home must be when root runs the provider: each sandbox's own user passes to its workspace."""
    path = tempfile.mkdtemp(prefix="wreckit-sandbox-test-", dir=parent)
    os.chmod(path, 0o711)
    return Path(path)


@pytest.fixture(scope="session")
def readable_lib() -> Iterator[Path]:
    """A copy of wreckit_tui and the libraries the provider uses, in a directory anyone may
    read: what ``/usr/bin/python3`` imports to run the provider as an unprivileged user."""
    import platformdirs

    import wreckit_tui

    base = passable_dir("/tmp")
    lib = base / "lib"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for module in (wreckit_tui, psutil, platformdirs):
        source = Path(module.__file__).parent
        shutil.copytree(source, lib / source.name, ignore=skip)
    for path in [lib, *lib.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield lib
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def make_home() -> Iterator:
    """``make_home(**env)``: a fresh home whose provider runs with ``env`` added.

    Homes are made in a directory of their own under /tmp (pytest's own is private to root),
    or under /var/tmp with ``outside_tmp=True`` (bubblewrap hides /tmp anyway), and removed
    after the test.
    """
    homes: list[SandboxHome] = []
    bases: list[Path] = []

    def make(
        directory: str = "home",
        *,
        outside_tmp: bool = False,
        user_lib: Path | None = None,
        **env: str,
    ) -> SandboxHome:
        """With ``user_lib`` (see ``readable_lib``) the provider runs as :data:`USER_UID`."""
        bases.append(passable_dir("/var/tmp" if outside_tmp else "/tmp"))
        path = bases[-1] / directory
        provider = None
        if user_lib:
            path.mkdir()
            os.chown(path, USER_UID, USER_UID)
            provider = as_user(user_lib)
            env = {**env, "PYTHONPATH": str(user_lib), "HOME": str(path)}
        home = SandboxHome(path, env, provider)
        homes.append(home)
        return home

    yield make
    problems = []
    for home in homes:
        for name in Home(str(home.path)).names():
            home.run("kill", name)
        problems += home.leftovers()
        home.force_cleanup()
    for path in bases:
        shutil.rmtree(path, ignore_errors=True)
    assert not problems, f"the provider left these behind: {problems}"


@pytest.fixture
def sandboxes(make_home) -> SandboxHome:
    return make_home()


@pytest.fixture
def path_without_bwrap(tmp_path: Path) -> str:
    """A PATH holding tmux and the shell tools the provider uses, but no bubblewrap."""
    bin_dir = tmp_path / "bin-without-bwrap"
    bin_dir.mkdir()
    for program in ("tmux", "bash", "sh", "taskset", "nsenter", "setpriv"):
        found = shutil.which(program)
        if found:
            (bin_dir / program).symlink_to(found)
    return str(bin_dir)
