"""``cpu_percent`` and ``memory_used``: what ``list`` reports under load, and the arithmetic."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.sandbox.conftest import SANDBOX_PYTHON
from tests.support.waiting import wait_until
from wreckit_tui.sandbox import metrics

HOLD = "import time\ndata = b'x' * (200 << 20)\nprint('holding', flush=True)\ntime.sleep(60)\n"
BUSY = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass"


def test_memory_used_counts_a_process_started_by_exec(sandboxes):
    sandboxes.start("holder", "--memory", "1GiB")
    before = sandboxes.record("holder")["memory_used"]
    holder = sandboxes.popen("exec", "holder", "--", SANDBOX_PYTHON, "-c", HOLD)
    assert holder.stdout.readline() == "holding\n"
    during = sandboxes.record("holder")["memory_used"]
    sandboxes.kill("holder")
    holder.wait(timeout=10)
    assert before < 50
    assert during >= before + 200


def test_cpu_percent_is_the_current_rate_not_a_lifetime_average(sandboxes):
    sandboxes.start("burst", "--cpus", "1")
    busy = sandboxes.exec("burst", SANDBOX_PYTHON, "-c", BUSY.format(seconds=1.5))
    assert busy.returncode == 0
    after_the_burst = sandboxes.record("burst")["cpu_percent"]
    time.sleep(1.1)
    idle = sandboxes.record("burst")["cpu_percent"]
    # a loaded machine gives the burst less than a core; a lifetime average would still show
    # most of the burst a second later, the current rate next to nothing
    assert after_the_burst >= 10
    assert idle < min(10, after_the_burst / 2)


def test_cpu_percent_rises_while_an_exec_keeps_a_core_busy(sandboxes):
    sandboxes.start("spin")
    spinner = sandboxes.popen("exec", "spin", "--", SANDBOX_PYTHON, "-c", BUSY.format(seconds=3))
    wait_until(lambda: sandboxes.record("spin")["cpu_percent"] > 0, timeout=3)
    time.sleep(1.1)
    busy = sandboxes.record("spin")["cpu_percent"]
    sandboxes.kill("spin")
    spinner.wait(timeout=10)
    assert busy >= 10  # an idle sandbox shows about 0; a loaded machine gives less than a core


def test_the_first_list_after_start_reports_the_rate_since_start(sandboxes):
    sandboxes.start("fresh")
    first = sandboxes.record("fresh")
    assert isinstance(first["cpu_percent"], float)
    assert 0 <= first["cpu_percent"] <= 200


def test_samples_of_killed_sandboxes_are_forgotten(sandboxes):
    sandboxes.start("gone")
    sandboxes.start("kept")
    sandboxes.list()
    sandboxes.kill("gone")
    sandboxes.list()
    stored = json.loads((sandboxes.path / ".samples.json").read_text())
    assert list(stored) == [sandboxes.meta("kept")["id"]]


# -- the arithmetic ---------------------------------------------------------------------------


def test_memory_used_is_whole_mib_rounded_so_a_small_process_is_not_zero():
    assert metrics.mib(600 << 10) == 1
    assert metrics.mib((7 << 20) + (300 << 10)) == 7
    assert metrics.mib(300 << 10) == 0
    assert isinstance(metrics.mib(1 << 30), int)


def test_a_pid_new_since_the_reference_counts_in_full_and_one_gone_counts_nothing():
    reference = {"t": 10.0, "cpu": {"1": 5.0, "2": 3.0}}
    current = {"1": 5.5, "3": 0.5}
    assert metrics.rate_since(reference, 12.0, current) == 50.0


def test_a_pid_whose_time_went_down_counts_as_zero():
    reference = {"t": 0.0, "cpu": {"7": 9.0}}
    assert metrics.rate_since(reference, 1.0, {"7": 1.0}) == 0.0


def test_no_elapsed_time_is_zero_percent():
    assert metrics.rate_since({"t": 5.0, "cpu": {}}, 5.0, {"1": 1.0}) == 0.0


def test_the_reference_is_the_newest_sample_at_least_a_second_old():
    history = [{"t": 0.0, "cpu": {}}, {"t": 8.5, "cpu": {}}, {"t": 9.6, "cpu": {}}]
    assert metrics.reference(history, 10.0)["t"] == 8.5
    assert metrics.reference(history[2:], 10.0)["t"] == 9.6


@given(
    st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=30).map(sorted),
    st.floats(min_value=0, max_value=5),
)
def test_pruning_keeps_the_reference_of_every_later_list(times, later):
    history = [{"t": t, "cpu": {}} for t in times]
    now = times[-1]
    kept = metrics.prune(history, now)
    assert kept[-1] is history[-1]
    assert len(kept) <= metrics.MAX_SAMPLES
    if len(history) <= metrics.MAX_SAMPLES:
        assert metrics.reference(kept, now + later) == metrics.reference(history, now + later)


SHARED = (
    "import os, time\n"
    "data = bytearray(b'x' * (40 << 20))  # 40 MiB, touched, then shared by every child\n"
    "children = []\n"
    "for _ in range(12):\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        time.sleep(60); os._exit(0)\n"
    "    children.append(pid)\n"
    "print('shared', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.mark.parametrize("cgroups", ["on", "off"])
def test_memory_shared_by_many_processes_counts_once(make_home, cgroups):
    """13 processes share 40 MiB: summed RSS would say over 500 MiB, the sandbox holds ~50."""
    home = make_home(WRECKIT_SANDBOX_CGROUPS=cgroups)
    home.start("sharing", "--memory", "256MiB")
    holder = home.popen("exec", "sharing", "--", SANDBOX_PYTHON, "-c", SHARED)
    try:
        assert holder.stdout.readline() == "shared\n"
        used = home.record("sharing")["memory_used"]
    finally:
        home.kill("sharing")
        holder.wait(timeout=10)
    assert 40 <= used <= 120


def test_a_stopped_sandbox_reports_no_cpu_and_no_memory(sandboxes):
    sandboxes.start("quits")
    busy = sandboxes.popen("exec", "quits", "--", SANDBOX_PYTHON, "-c", BUSY.format(seconds=2))
    wait_until(lambda: sandboxes.record("quits")["cpu_percent"] > 0, timeout=3)
    sandboxes.in_shell_keys("quits", "exit")
    wait_until(lambda: sandboxes.record("quits")["state"] == "stopped", timeout=10)
    busy.wait(timeout=10)
    record = sandboxes.record("quits")
    assert (record["cpu_percent"], record["memory_used"]) == (0.0, 0)
