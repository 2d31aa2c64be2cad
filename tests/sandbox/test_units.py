"""Pure parts of the provider: validation, paths, command lines."""

from __future__ import annotations

import os
import string
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wreckit_tui import models
from wreckit_tui.pids import process_start
from wreckit_tui.sandbox import isolation, limits, spec
from wreckit_tui.sandbox.errors import InvalidRequest
from wreckit_tui.sandbox.store import Home, default_home
from wreckit_tui.sandbox.tmux import socket_path

names = st.one_of(st.from_regex(r"[a-z][a-z0-9-]{0,62}", fullmatch=True), st.text(max_size=70))
sizes = st.one_of(st.from_regex(r"[0-9]{1,10}(MiB|GiB|MB)", fullmatch=True), st.text(max_size=12))


@given(names)
def test_name_rules_match_the_dashboards(name):
    valid = models.name_problem(name) is None
    assert spec.is_name(name) == valid


@given(sizes)
def test_size_rules_match_the_dashboards(size):
    try:
        mib = spec.memory_mib(size)
    except InvalidRequest:
        assert models.size_problem(size) is not None
    else:
        assert models.size_problem(size) is None
        assert mib == models.size_to_mib(size)


@given(st.one_of(st.integers(-5, 70).map(str), st.text(string.printable, max_size=4)))
def test_cpu_rules_match_the_dashboards(cpus):
    try:
        spec.check_cpus(cpus)
    except InvalidRequest:
        assert models.cpus_problem(cpus) is not None
    else:
        assert models.cpus_problem(cpus) is None


@pytest.mark.parametrize("cpus", ["¹", "٣", "", " ", "1.5", "+1"])
def test_cpu_counts_that_are_not_plain_ascii_digits_are_refused(cpus):
    with pytest.raises(InvalidRequest):
        spec.check_cpus(cpus)


def test_the_socket_path_stays_short_for_any_home():
    home = Home("/" + "x" * 200 + "/home")
    assert len(socket_path(home.key)) < 60
    assert socket_path(home.key) != socket_path(Home("/elsewhere").key)


def test_the_default_home_is_one_every_sandbox_user_can_pass_through_for_root(readable_lib):
    """Run by root: /var/lib/wreckit-tui/sandboxes; by anyone else, the platformdirs state dir
    (checked in a process of another user)."""
    assert default_home() == "/var/lib/wreckit-tui/sandboxes"
    script = "from wreckit_tui.sandbox.store import default_home; print(default_home())"
    as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    done = subprocess.run(
        [*as_user, "/usr/bin/python3", "-c", script],
        env={"PYTHONPATH": str(readable_lib), "XDG_STATE_HOME": "/nonexistent/state"},
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert done.stdout.strip() == "/nonexistent/state/wreckit-tui/sandboxes", done.stderr


def test_the_launcher_joins_the_cgroups_before_anything_else_runs():
    argv = isolation.Launcher(
        env_file="/home/x/env",
        cgroup_procs=["/cg/a/cgroup.procs", "/cg/b/cgroup.procs"],
        rlimit_kib=262144,
        ready_file="/home/x/ready",
        command=["/bin/bash", "-i"],
    ).argv()
    script = argv[2].splitlines()
    assert argv[:2] == ["/bin/sh", "-c"]
    assert script[:2] == [
        "echo $$ > /cg/a/cgroup.procs || exit 1",
        "echo $$ > /cg/b/cgroup.procs || exit 1",
    ]
    assert ". /home/x/env || exit 1" in script
    assert "ulimit -v 262144 || exit 1" in script
    assert script[-1] == 'exec "$@"'
    assert argv[-2:] == ["/bin/bash", "-i"]


def test_the_env_file_holds_every_exportable_variable_quoted(tmp_path):
    path = tmp_path / "env"
    env = {"PLAIN": "a b", "QUOTE": "it's\n$x", "not-a-name": "skip", "_OK1": ""}
    isolation.write_env_file(str(path), env)
    assert path.stat().st_mode & 0o777 == 0o600
    script = f'set -e; . {path}; printf \'%s|\' "$PLAIN" "$QUOTE" "$_OK1"'
    done = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout == "a b|it's\n$x||"
    assert "not-a-name" not in path.read_text()


def test_bubblewrap_hides_the_home_and_binds_only_the_workspace():
    argv = isolation.bwrap_argv(
        "/usr/bin/bwrap",
        name="n",
        home="/state",
        workspace="/state/n/workspace",
        network=False,
        command=["sh"],
    )
    text = " ".join(argv)
    assert "--ro-bind / /" in text
    assert "--tmpfs /tmp" in text
    assert "--tmpfs /state --bind /state/n/workspace /state/n/workspace" in text
    assert "--chdir /state/n/workspace" in text
    assert "--ro-bind /proc/sys /proc/sys" in text
    flags = ("--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-ipc")
    for flag in (*flags, "--unshare-uts", "--unshare-net"):
        assert flag in argv
    assert "--die-with-parent" in argv
    assert argv[-1] == "sh"


def test_affinity_picks_that_many_distinct_allowed_cores():
    allowed = os.sched_getaffinity(0)
    assert limits.affinity("some-name", len(allowed)) is None
    if len(allowed) > 1:
        picked = limits.affinity("some-name", len(allowed) - 1)
        assert picked and len(set(picked)) == len(allowed) - 1 and set(picked) <= allowed


def test_process_start_names_a_live_process_and_nothing_else():
    assert process_start(os.getpid()) is not None
    assert process_start(os.getpid()) == process_start(os.getpid())
    assert process_start(2**22 + 1) is None
