"""A hostile program inside a sandbox tries to break out, and every attempt must fail.

Each attack runs from inside a real sandbox, once with the provider run by root and once run by
an unprivileged user: every claim of the README's Isolation section has its attack here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import signal
import socket
import subprocess
import termios
import time
import tty
from pathlib import Path

import psutil
import pytest

from tests.sandbox.conftest import SANDBOX_PYTHON, USER_UID
from tests.support.waiting import wait_until

CORE_PATTERN = Path("/proc/sys/kernel/core_pattern")
WRITE_BACK = 'v=$(cat {path}); echo "$v" > {path} && echo WRITABLE'
"""Writes a file's own value back: even if it got through, nothing would change."""
STATUS_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Uid")


@pytest.fixture(params=["root", "user"], ids=["as-root", "as-user"])
def role(request) -> str:
    return request.param


@pytest.fixture
def provider_home(role, make_home, readable_lib):
    """A home whose provider runs as root, or as an unprivileged user."""
    return make_home() if role == "root" else make_home(user_lib=readable_lib)


@pytest.fixture
def box(provider_home):
    provider_home.start("box")
    return provider_home


def status(text: str) -> dict[str, str]:
    """The fields of a /proc/PID/status text that say who a process is and what it may do."""
    fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
    return {key: fields[key].strip() for key in STATUS_FIELDS}


def test_no_process_of_a_sandbox_runs_as_host_root(box):
    uid = box.record("box")["uid"]
    assert uid != 0
    worker = box.popen("exec", "box", "--", "sleep", "30")
    try:
        wait_until(lambda: len(box.sandbox_pids("box")) >= 4)
        for pid in box.sandbox_pids("box"):
            with contextlib.suppress(psutil.NoSuchProcess):
                assert set(psutil.Process(pid).uids()) == {uid}, psutil.Process(pid).cmdline()
    finally:
        worker.kill()
        worker.wait(timeout=10)


def test_the_shell_and_exec_run_as_the_same_user_with_no_capability_at_all(box):
    shell = status(box.in_shell("box", "cat /proc/self/status"))
    run = status(box.exec("box", "cat", "/proc/self/status").stdout)
    assert shell == run
    for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert shell[field] == "0000000000000000", field
    assert shell["NoNewPrivs"] == "1"
    assert set(shell["Uid"].split()) == {str(box.record("box")["uid"])}


def test_sysctls_cannot_be_written_and_core_pattern_stays_as_it_was(box):
    before = CORE_PATTERN.read_text()
    for path in (CORE_PATTERN, Path("/proc/sys/kernel/hostname"), Path("/proc/sys/vm/swappiness")):
        attempt = box.exec("box", "sh", "-c", WRITE_BACK.format(path=path))
        assert "WRITABLE" not in attempt.stdout, path
        assert "Read-only file system" in attempt.stderr, attempt.stderr
    in_shell = box.in_shell("box", WRITE_BACK.format(path=CORE_PATTERN))
    assert "WRITABLE" not in in_shell
    assert CORE_PATTERN.read_text() == before


def test_proc_sys_and_sys_are_mounted_read_only(box):
    mounts = box.exec("box", "cat", "/proc/self/mountinfo").stdout.splitlines()
    options = {line.split()[4]: line.split()[5].split(",") for line in mounts}
    assert "ro" in options["/proc/sys"]
    assert "ro" in options["/sys"]
    helper = box.exec("box", "sh", "-c", "echo /tmp/x > /sys/kernel/uevent_helper")
    assert helper.returncode != 0


def test_nothing_can_be_mounted_and_the_root_stays_read_only(box):
    for command in ("mount -t tmpfs none /mnt", "mount -o remount,rw /", "touch /usr/probe"):
        attempt = box.exec("box", "sh", "-c", command)
        assert attempt.returncode != 0, command
    assert not Path("/usr/probe").exists()


def test_no_user_namespace_can_be_made_inside(box):
    for command in (["unshare", "-U", "true"], ["unshare", "-r", "true"]):
        attempt = box.exec("box", *command)
        assert attempt.returncode != 0, attempt
    script = "import os; os.unshare(os.CLONE_NEWUSER)" if hasattr(os, "unshare") else None
    if script is None:  # Python 3.11: through the C library
        script = "import ctypes; exit(ctypes.CDLL(None).unshare(0x10000000) != 0)"
    assert box.exec("box", SANDBOX_PYTHON, "-c", script).returncode != 0


def test_host_processes_cannot_be_seen_or_signalled(box, provider_home):
    provider_home.start("neighbour")
    host = subprocess.Popen(["sleep", "60"])
    try:
        named = box.exec("box", "kill", "-9", str(host.pid))
        assert named.returncode != 0
        everything = box.exec("box", "sh", "-c", "kill -9 -1; true")
        assert everything.returncode in {0, 137}
        time.sleep(0.2)
        assert host.poll() is None
        assert psutil.pid_exists(os.getpid())
        assert box.record("neighbour")["state"] == "running"
    finally:
        host.kill()
        host.wait()


def test_a_fork_bomb_hits_the_pids_limit_and_the_host_can_still_fork(provider_home):
    provider_home.start("bomb", "--pids", "64")
    assert provider_home.record("bomb")["limits"]["pids"] in {"cgroup1", "cgroup2", "rlimit"}
    bomb = (
        "import os, time\n"
        "made = 0\n"
        "for _ in range(500):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(30); os._exit(0)\n"
        "    made += 1\n"
        "print(made, flush=True)\n"
        "time.sleep(30)\n"
    )
    running = provider_home.popen("exec", "bomb", "--", SANDBOX_PYTHON, "-c", bomb)
    try:
        made = int(running.stdout.readline())
        assert 0 < made < 64
        assert subprocess.run(["true"], check=False).returncode == 0
    finally:
        provider_home.kill("bomb")
        running.wait(timeout=10)


def test_exec_from_a_terminal_cannot_push_keys_into_the_callers_shell(box):
    """TIOCSTI (CVE-2017-5226): the command gets a session of its own, so the caller's terminal
    is not its controlling terminal, and neither pushing keys nor stealing the terminal works."""
    inject = (
        "import fcntl, os, termios\n"
        "results = []\n"
        "for attempt in ('sti', 'steal'):\n"
        "    try:\n"
        "        if attempt == 'steal':\n"
        "            fcntl.ioctl(0, termios.TIOCSCTTY, 1)\n"
        "        for c in b'echo PWNED\\n':\n"
        "            fcntl.ioctl(0, termios.TIOCSTI, bytes([c]))\n"
        "        results.append(attempt + ' worked')\n"
        "    except OSError as exc:\n"
        "        results.append(attempt + ' refused ' + exc.strerror)\n"
        "try:\n"
        "    os.open('/dev/tty', os.O_RDWR)\n"
        "    results.append('dev-tty opened')\n"
        "except OSError as exc:\n"
        "    results.append('no dev-tty')\n"
        "print('; '.join(results), flush=True)\n"
    )
    master, slave = pty.openpty()
    try:
        tty.setraw(slave)
        caller = subprocess.Popen(
            [*box.provider, "exec", "box", "--", SANDBOX_PYTHON, "-c", inject],
            env=box.env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # noqa: PLW1509
        )
        assert caller.wait(timeout=30) == 0
        printed = _read_all(master)
        pushed = _read_all(slave)
    finally:
        os.close(master)
        os.close(slave)
    assert "sti refused" in printed and "steal refused" in printed, printed
    assert "no dev-tty" in printed, printed
    assert "PWNED" not in pushed


def _read_all(fd: int) -> str:
    os.set_blocking(fd, False)
    chunks = []
    with contextlib.suppress(BlockingIOError, OSError):
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_another_sandboxes_workspace_and_the_providers_state_are_out_of_reach(box):
    box.start("other")
    secret = box.path / "other" / "workspace" / "secret.txt"
    box.exec("other", "sh", "-c", "echo other-only > secret.txt")
    assert secret.exists()
    for path in (
        secret,
        box.path / "other" / "sandbox.json",
        box.path / "box" / "sandbox.json",
        box.path / ".samples.json",
        Path(box.socket),
    ):
        probe = box.exec("box", "cat", str(path))
        assert probe.returncode != 0, path
        assert "other-only" not in probe.stdout
    listing = box.exec("box", "ls", "-a", str(box.path)).stdout.split()
    assert listing == [".", "..", "box"]


def test_the_sandbox_has_its_own_ipc_uts_and_pid_namespaces(box):
    made = subprocess.run(["ipcmk", "-M", "4096"], capture_output=True, text=True, check=True)
    shm_id = made.stdout.split()[-1]
    try:
        segments = box.exec("box", "ipcs", "-m").stdout
        assert shm_id not in segments.split()
    finally:
        subprocess.run(["ipcrm", "-m", shm_id], check=False)
    assert box.exec("box", "hostname").stdout.strip() == "box"
    assert box.exec("box", "hostname", "evil").returncode != 0
    visible = box.exec("box", "sh", "-c", "ls /proc | grep -c '^[0-9]'").stdout
    assert int(visible) < 10


def test_a_symlink_planted_in_the_workspace_is_not_followed_by_kill(provider_home, tmp_path):
    provider_home.start("planter")
    target = provider_home.path.parent / "host-file"
    target.write_text("precious")
    provider_home.exec("planter", "ln", "-s", str(target), "link")
    provider_home.exec("planter", "ln", "-s", "/etc", "etc-link")
    provider_home.kill("planter")
    assert target.read_text() == "precious"
    assert Path("/etc/passwd").exists()


@pytest.mark.parametrize("network", [True, False], ids=["network", "no-network"])
def test_with_no_network_not_even_the_hosts_abstract_sockets_are_reachable(provider_home, network):
    """Abstract unix sockets belong to the network namespace: with the network on (the
    default, documented) the host's are reachable; --no-network closes that too."""
    provider_home.start("net", *([] if network else ["--no-network"]))
    name = f"wreckit-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind("\0" + name)
        listener.listen()
        probe = (
            "import socket\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            f"s.connect('\\0{name}')\n"
        )
        reached = provider_home.exec("net", SANDBOX_PYTHON, "-c", probe).returncode == 0
    assert reached is network


def test_the_provider_as_a_user_runs_sandboxes_as_that_user(role, provider_home):
    provider_home.start("mine")
    record = provider_home.record("mine")
    if role == "user":
        assert record["uid"] == USER_UID
        assert record["limits"] == {"memory": "rlimit", "cpus": "affinity", "pids": "rlimit"}
    else:
        assert record["uid"] >= 2_000_000_000
        assert (provider_home.path / "mine" / "workspace").stat().st_uid == record["uid"]
    ids = provider_home.exec("mine", "id", "-u").stdout.strip()
    assert ids == str(record["uid"])


def test_a_command_cannot_kill_the_provider_that_waits_for_it(box):
    """The provider waits for an exec's command outside the sandbox, where the command cannot
    see it: whatever the command kills, its status is reported."""
    done = box.exec("box", "sh", "-c", "kill -9 $PPID; kill -9 -1; exit 3")
    assert done.returncode in {3, 128 + signal.SIGKILL}


def test_a_late_sigterm_never_reports_a_start_that_is_done_as_failed(provider_home):
    for attempt in range(8):
        name = f"late{attempt}"
        starting = provider_home.popen("start", name, new_session=True)
        time.sleep(0.03 * attempt)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(starting.pid, signal.SIGTERM)
        out, _err = starting.communicate(timeout=20)
        names = {record["name"] for record in provider_home.list()}
        if starting.returncode == 0:
            assert json.loads(out)["name"] == name
            assert name in names
        else:  # stopped midway (143), or before Python could even handle the signal
            assert starting.returncode in {128 + signal.SIGTERM, -signal.SIGTERM}
            assert name not in names
