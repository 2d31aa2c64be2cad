"""What a process inside a sandbox can and cannot see or do, checked from inside with ``exec``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.sandbox.conftest import SANDBOX_PYTHON
from tests.support.waiting import wait_until


@pytest.fixture
def alpha(sandboxes):
    sandboxes.start("alpha")
    return sandboxes


def test_exec_passes_stdout_stderr_and_exit_status_through(alpha):
    done = alpha.exec("alpha", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert (done.returncode, done.stdout, done.stderr) == (7, "out\n", "err\n")


def test_exec_passes_arguments_exactly(alpha):
    done = alpha.exec("alpha", "printf", "[%s]", "-la", "two words", "--", "$HOME")
    assert done.stdout == "[-la][two words][--][$HOME]"


def test_exec_of_a_missing_command_exits_127(alpha):
    done = alpha.exec("alpha", "no-such-command-here")
    assert done.returncode == 127


def test_exec_runs_in_the_workspace_with_it_as_home_and_the_name_as_hostname(alpha):
    workspace = str(alpha.path / "alpha" / "workspace")
    done = alpha.exec("alpha", "sh", "-c", 'pwd; echo "$HOME"; hostname; echo "${TMUX:-unset}"')
    assert done.stdout.splitlines() == [workspace, workspace, "alpha", "unset"]


def test_the_sandbox_has_its_own_pid_namespace(alpha):
    done = alpha.exec("alpha", "sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'")
    own_pid, visible = (int(word) for word in done.stdout.split())
    assert own_pid < 100
    assert visible < 10
    host_pid = os.getpid()
    assert alpha.exec("alpha", "test", "-e", f"/proc/{host_pid}/status").returncode != 0


def test_the_root_is_read_only_and_no_capability_is_left(alpha):
    done = alpha.exec("alpha", "sh", "-c", "touch /usr/wreckit-probe 2>&1; echo rc=$?")
    assert "Read-only file system" in done.stdout
    assert "rc=1" in done.stdout
    assert not Path("/usr/wreckit-probe").exists()
    caps = alpha.exec("alpha", "grep", "CapEff", "/proc/self/status").stdout.split()
    assert caps == ["CapEff:", "0000000000000000"]
    remount = alpha.exec("alpha", "mount", "-o", "remount,rw", "/")
    assert remount.returncode != 0


def test_the_workspace_is_writable_and_shows_on_the_host(alpha):
    assert alpha.exec("alpha", "sh", "-c", "echo made inside > note.txt").returncode == 0
    assert (alpha.path / "alpha" / "workspace" / "note.txt").read_text() == "made inside\n"


def test_tmp_is_private(alpha, tmp_path):
    (tmp_path / "host-secret").write_text("host")
    done = alpha.exec("alpha", "sh", "-c", f"cat {tmp_path}/host-secret; echo x > /tmp/inside")
    assert "host" not in done.stdout
    assert not Path("/tmp/inside").exists()


def test_a_sandbox_cannot_read_another_sandboxes_workspace(alpha):
    alpha.start("beta")
    alpha.exec("alpha", "sh", "-c", "echo alpha-only > secret.txt")
    secret = alpha.path / "alpha" / "workspace" / "secret.txt"
    done = alpha.exec("beta", "cat", str(secret))
    assert done.returncode != 0
    assert "alpha-only" not in done.stdout
    assert alpha.exec("beta", "ls", "-a", str(alpha.path)).stdout.split() == [".", "..", "beta"]
    assert alpha.exec("beta", "ls", "-a", str(alpha.path / "beta")).stdout.split() == [
        ".",
        "..",
        "workspace",
    ]


def test_the_shell_gets_the_callers_environment_without_it_showing_in_ps(make_home):
    home = make_home(AGENT_API_KEY="sk-not-in-ps")
    home.start("keyed")
    init = psutil.Process(home.meta("keyed")["namespaces"]["child-pid"])
    # start returns once the namespaces exist; the init then mounts, then starts the shell
    shell = wait_until(init.children, timeout=10, interval=0.01, what="the sandbox's shell")[0]
    environ = shell.environ()
    assert environ["AGENT_API_KEY"] == "sk-not-in-ps"
    assert environ["HOME"] == str(home.path / "keyed" / "workspace")
    assert environ["WRECKIT_SANDBOX"] == "keyed"
    assert "TMUX" not in environ
    assert not (home.path / "keyed" / "env").exists()
    command_lines = [" ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])]
    assert not [line for line in command_lines if "sk-not-in-ps" in line]


def test_the_providers_tmux_socket_is_out_of_reach(alpha):
    assert alpha.exec("alpha", "test", "-e", alpha.socket).returncode != 0


def test_network_is_on_by_default_and_off_with_no_network(sandboxes):
    sandboxes.start("online")
    sandboxes.start("offline", "--no-network")
    links = "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '"
    offline = sandboxes.exec("offline", "sh", "-c", links).stdout.split()
    online = sandboxes.exec("online", "sh", "-c", links).stdout.split()
    assert offline == ["lo"]
    assert set(online) > {"lo"}
    assert sandboxes.record("offline")["network"] is False


def test_a_new_tmux_window_opens_inside_the_same_sandbox(alpha):
    tmux = ["tmux", "-S", alpha.socket]
    env = {key: value for key, value in os.environ.items() if key != "TMUX"}
    marker = alpha.path / "alpha" / "workspace" / "window.txt"
    subprocess.run([*tmux, "new-window", "-t", "=alpha:"], env=env, check=True)
    keys = ["hostname > window.txt", "Enter"]
    subprocess.run([*tmux, "send-keys", "-t", "=alpha:1", *keys], env=env, check=True)
    wait_until(lambda: marker.exists() and marker.read_text().strip() == "alpha")


def test_as_root_a_missing_bubblewrap_is_refused_rather_than_running_programs_as_root(
    make_home, path_without_bwrap
):
    home = make_home(PATH=path_without_bwrap)
    refused = home.run("start", "plain")
    assert refused.returncode == 1
    assert "bubblewrap (bwrap) is not installed" in refused.stderr
    assert "WRECKIT_SANDBOX_BWRAP=none" in refused.stderr
    assert home.list() == []


def test_with_bubblewrap_turned_off_sandboxes_run_as_plain_processes(make_home, path_without_bwrap):
    home = make_home(PATH=path_without_bwrap, WRECKIT_SANDBOX_BWRAP="none")
    home.start("plain")
    record = home.record("plain")
    assert (record["state"], record["isolation"]) == ("running", "none")
    workspace = str(home.path / "plain" / "workspace")
    done = home.exec("plain", SANDBOX_PYTHON, "-c", "import os; print(os.getcwd())")
    assert (done.returncode, done.stdout.strip()) == (0, workspace)
    assert home.exec("plain", "/bin/sh", "-c", "exit 4").returncode == 4
    refused = home.run("start", "offline", "--no-network")
    assert refused.returncode == 2
    assert "needs bubblewrap" in refused.stderr


def test_bubblewrap_can_be_turned_off_explicitly(make_home):
    home = make_home(WRECKIT_SANDBOX_BWRAP="none")
    home.start("plain")
    assert home.record("plain")["isolation"] == "none"


def test_a_bubblewrap_that_fails_is_reported_and_leaves_nothing(make_home):
    home = make_home()
    broken = home.path.parent / "broken-bwrap"  # where a sandbox's own user can run it
    broken.write_text("#!/bin/sh\necho 'bwrap: cannot do that here' >&2\nexit 1\n")
    broken.chmod(0o755)
    home.env["WRECKIT_SANDBOX_BWRAP"] = str(broken)
    done = home.run("start", "doomed")
    assert done.returncode == 1
    assert "bubblewrap could not create the sandbox: bwrap: cannot do that here" in done.stderr
    assert "WRECKIT_SANDBOX_BWRAP=none" in done.stderr
    assert home.list() == []


def test_with_the_home_outside_tmp_a_sandbox_sees_neither_the_home_nor_another_sandbox(make_home):
    home = make_home(outside_tmp=True)
    assert not str(home.path).startswith("/tmp/")
    home.start("alpha")
    home.start("beta")
    secret = home.path / "beta" / "workspace" / "secret.txt"
    secret.write_text("beta-only\n")
    assert {"alpha", "beta", ".server.lock"} <= set(os.listdir(home.path))

    listing = home.exec("alpha", "ls", "-a", str(home.path))
    read = home.exec("alpha", "cat", str(secret))

    assert listing.stdout.split() == [".", "..", "alpha"]
    assert read.returncode != 0
    assert "beta-only" not in read.stdout


def test_the_shell_starts_with_no_signal_blocked_so_ctrl_c_reaches_its_programs(sandboxes):
    """The provider holds stop signals back while it starts tmux; nothing it starts may inherit
    that."""
    sandboxes.start("calm")
    blocked = sandboxes.in_shell("calm", "grep SigBlk /proc/self/status").split()
    assert blocked == ["SigBlk:", "0000000000000000"]


def test_where_no_user_namespace_may_be_made_start_says_so_and_runs_nothing(
    make_home, readable_lib
):
    """In a user namespace that allows none below it (as a machine with user namespaces off
    would), even its root gets a clear refusal, naming the way out."""
    home = make_home(user_lib=readable_lib)
    inside = (
        "echo 0 > /proc/sys/user/max_user_namespaces && "
        f"exec {SANDBOX_PYTHON} -m wreckit_tui.sandbox start locked"
    )
    switch = home.provider[: home.provider.index("--") + 1]
    done = subprocess.run(
        [*switch, "unshare", "--user", "--map-root-user", "sh", "-c", inside],
        env=home.env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "wreckit-sandbox: this machine allows no user namespaces (user.max_user_namespaces is "
        "0), which bubblewrap needs to isolate sandboxes; allow them, or set "
        "WRECKIT_SANDBOX_BWRAP=none to run sandboxes as plain processes, without isolation"
    ]
    assert home.list() == []
