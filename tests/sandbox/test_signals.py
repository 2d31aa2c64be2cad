"""Signals: how they stop the provider, and which dispositions its programs inherit."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess

import pytest

from tests.sandbox.conftest import PROVIDER, SANDBOX_PYTHON

PRINT_DISPOSITION = "import signal, sys; print(signal.getsignal(int(sys.argv[1])).name)"


@pytest.mark.parametrize("signame", ["HUP", "INT", "TERM"])
@pytest.mark.parametrize("plain", [False, True], ids=["bwrap", "plain"])
def test_a_signal_the_caller_ignores_stays_ignored_for_the_exec_program(make_home, plain, signame):
    """As under ``nohup``: exec must not hand its program a default disposition instead."""
    home = make_home(**({"WRECKIT_SANDBOX_BWRAP": "none"} if plain else {}))
    home.start("calm")
    signum = str(int(signal.Signals[f"SIG{signame}"]))
    command = [*PROVIDER, "exec", "calm", "--", SANDBOX_PYTHON, "-c", PRINT_DISPOSITION, signum]
    trap = f"trap '' {signame}; exec {shlex.join(command)}"
    done = subprocess.run(
        ["sh", "-c", trap], env=home.env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "SIG_IGN"


def test_an_exec_program_gets_sighup_at_its_default_when_the_caller_did_not_ignore_it(sandboxes):
    sandboxes.start("plain")
    done = sandboxes.exec("plain", SANDBOX_PYTHON, "-c", PRINT_DISPOSITION, str(int(signal.SIGHUP)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "SIG_DFL"


def test_sigint_then_sigterm_stop_a_start_once_with_130_and_leave_nothing(sandboxes):
    """The first stop signal, SIGINT included, silences the others until the cleanup is done."""
    landed = False
    for attempt in range(10):
        name = f"int{attempt}"
        starting = sandboxes.popen("start", name, new_session=True)
        while starting.poll() is None and not (sandboxes.path / name / "env").exists():
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(starting.pid, signal.SIGINT)
            os.killpg(starting.pid, signal.SIGTERM)
        _out, err = starting.communicate(timeout=15)
        assert starting.returncode in {0, 128 + signal.SIGINT}, err
        assert "Traceback" not in err
        if starting.returncode:
            landed = True
            break
        sandboxes.kill(name)
    assert landed
    assert sandboxes.list() == []
    assert sandboxes.leftovers() == []
