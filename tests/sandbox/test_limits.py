"""Memory and cpu limits, through cgroups and through the rlimit and affinity fallbacks."""

from __future__ import annotations

import os
import time

import pytest

from tests.sandbox.conftest import SANDBOX_PYTHON
from tests.support.waiting import wait_until

ALLOCATE = "data = b'x' * ({mib} << 20); print('allocated', len(data) >> 20)"
BUSY = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass"
FALLBACKS = {"memory": "rlimit", "cpus": "affinity", "pids": "rlimit"}


def expected_limits(record: dict, cgroups: str) -> bool:
    """Cgroups (v1 or v2) where root may use them, else the rlimit and affinity fallbacks."""
    if cgroups == "off" or os.geteuid() != 0:
        return record["limits"] == FALLBACKS
    return all(mechanism.startswith("cgroup") for mechanism in record["limits"].values())


@pytest.mark.parametrize("cgroups", ["on", "off"])
def test_allocating_700mib_in_a_256mib_sandbox_fails_but_100mib_works(make_home, cgroups):
    home = make_home(WRECKIT_SANDBOX_CGROUPS=cgroups)
    home.start("small", "--memory", "256MiB")
    assert expected_limits(home.record("small"), cgroups)
    too_much = home.exec("small", SANDBOX_PYTHON, "-c", ALLOCATE.format(mib=700))
    assert too_much.returncode != 0
    assert "allocated" not in too_much.stdout
    fits = home.exec("small", SANDBOX_PYTHON, "-c", ALLOCATE.format(mib=100))
    assert (fits.returncode, fits.stdout) == (0, "allocated 100\n")


@pytest.mark.parametrize("cgroups", ["on", "off"])
def test_two_busy_processes_in_a_one_cpu_sandbox_get_one_core_at_most(make_home, cgroups):
    home = make_home(WRECKIT_SANDBOX_CGROUPS=cgroups)
    home.start("busy", "--cpus", "1")
    loop = BUSY.format(seconds=4)
    busy = [home.popen("exec", "busy", "--", SANDBOX_PYTHON, "-c", loop) for _ in range(2)]
    wait_until(lambda: home.record("busy")["cpu_percent"] > 0, timeout=3)
    time.sleep(1.2)
    percent = home.record("busy")["cpu_percent"]
    home.kill("busy")
    for process in busy:
        process.wait(timeout=10)
    assert 20 <= percent <= 115


def test_without_cgroups_cpus_pin_the_sandbox_to_that_many_cores(make_home):
    home = make_home(WRECKIT_SANDBOX_CGROUPS="off")
    home.start("pinned", "--cpus", "1")
    allowed = home.exec("pinned", "grep", "Cpus_allowed_list", "/proc/self/status").stdout.split()
    assert len(allowed) == 2
    assert allowed[1].isdigit()
